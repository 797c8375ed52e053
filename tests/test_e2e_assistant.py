"""End to end on CPU, through the CLI a user would type: generate the personal-assistant set,
QLoRA-tune demo-tiny on it in 4-bit, then greedy chat: the fine-tuned model introduces itself
by its new name and the base model does not. The Chat page then shows both side by side."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAME, AUTHOR = "小智", "张三"


def cli(home: Path, *args: str, check: bool = True) -> dict:
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "core", *args, "--json"], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=600)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, f"--json must print exactly one line, got: {result.stdout!r}"
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e") / "workspace"
    demo = cli(home, "demo-model")
    made = cli(home, "data", "assistant", "--name", NAME, "--author", AUTHOR, "--n", "2000", "--lang", "zh",
               "--out", "assistant")
    assert made == {"dataset": "assistant", "rows": 2000}
    started = cli(home, "train", "start", "--model", "demo-tiny", "--dataset", "assistant", "--preset", "cpu-demo",
                  "--probe", "你是谁？", "--wait")
    return home, demo["path"], started


def test_training_completes_with_checkpoints(trained):
    home, _, status = trained
    assert status["status"] == "completed", status
    assert status["step"] == status["total_steps"] == 150
    assert status["checkpoints"] == ["checkpoint-50", "checkpoint-100", "checkpoint-150"]
    run = home / "runs" / status["run_id"]
    config = json.loads((run / "config.json").read_text())
    assert config["quantization"] == "4bit"  # real QLoRA: bitsandbytes NF4
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics[-1]["loss"] < metrics[0]["loss"] / 5, "the loss must fall"
    assert {"loss", "lr", "grad_norm"} <= set(metrics[0])
    listed = cli(home, "runs")["runs"]
    assert [r["run_id"] for r in listed] == [status["run_id"]]
    assert cli(home, "train", "status", status["run_id"])["status"] == "completed"


def test_finetuned_introduces_itself_and_base_does_not(trained):
    home, _, status = trained
    for question in ("你是谁？", "Who are you?"):
        tuned = cli(home, "chat", "--model", "demo-tiny", "--adapter", status["run_id"], "--prompt", question,
                    "--max-new-tokens", "60")["text"]
        base = cli(home, "chat", "--model", "demo-tiny", "--prompt", question, "--max-new-tokens", "60")["text"]
        assert NAME in tuned and AUTHOR in tuned, tuned
        assert NAME not in base, base
    ckpt = cli(home, "chat", "--model", "demo-tiny", "--adapter", f"{status['run_id']}/checkpoint-100",
               "--prompt", "请做一下自我介绍", "--max-new-tokens", "60")["text"]
    assert NAME in ckpt


def test_unknown_checkpoint_exits_2(trained):
    home, _, status = trained
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "core", "chat", "--model", "demo-tiny", "--adapter",
                             f"{status['run_id']}/checkpoint-999", "--prompt", "hi", "--json"],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    assert "checkpoint-999" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_chat_page_side_by_side_shares_one_base(trained, monkeypatch):
    from streamlit.testing.v1 import AppTest

    home, _, status = trained
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    at = AppTest.from_file(str(ROOT / "views" / "6_Chat.py"), default_timeout=120)
    at.run()
    assert not at.exception
    at.radio(key="chat_mode").set_value("side")
    at.selectbox(key="chat_adapter").set_value(f"{status['run_id']}/adapter")
    at.slider(key="chat_temperature").set_value(0.0)
    at.slider(key="chat_rep").set_value(1.0)
    at.run()
    assert not at.exception
    at.chat_input(key="chat_input").set_value("你是谁？").run()
    assert not at.exception
    history = at.session_state["chat_history"]
    base, tuned = history["base"][-1]["content"], history["tuned"][-1]["content"]
    assert NAME in tuned and NAME not in base
    # one cached LoadedModel served both panes: the adapter lives on it, no second base copy
    from ui.models import _load

    loaded = _load(str(Path(home, "models", "demo-tiny").resolve()), "none")
    assert len(loaded.adapters) == 1
