"""The small things of a working day: the language a session starts in, readable run names,
live runs first, the log tail with the worker's lines first, the probe questions of an
assistant set, duplicates that are the recipe, the Home checklist, and ./run.sh's printed port."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import settings
from core.train import runs

ROOT = Path(__file__).resolve().parents[1]


def _home(**context) -> AppTest:
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60)
    at.context.update(context)
    return at


@pytest.fixture()
def open_home(workbench_home, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PASSWORD", raising=False)
    return workbench_home


def test_first_visit_follows_the_browser_then_the_url_then_the_workspace(open_home):
    at = _home(locale="zh-CN").run()
    assert at.title[0].value == "大模型微调工作台"
    at = _home(locale="en-US").run()
    assert at.title[0].value == "Fine-tuning workbench"
    at = _home(locale="en-US")
    at.query_params["lang"] = "zh"  # a link that carries the language wins over the browser
    assert at.run().title[0].value == "大模型微调工作台"
    at = _home(locale="en-US").run()
    at.selectbox(key="ui_lang_select").set_value("zh").run()  # the switch becomes the workspace default
    assert settings.load_settings()["lang"] == "zh"
    assert _home(locale="en-US").run().title[0].value == "大模型微调工作台"  # a new tab, no ?lang


def test_field_errors_follow_a_language_switch(open_home):
    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=20), "assistant")
    at = AppTest.from_file(str(ROOT / "views" / "2_Train.py"), default_timeout=60).run()
    at.number_input(key="train_learning_rate").set_value(0.0)
    at.button(key="train_launch").click().run()
    assert any("learning rate must be > 0" in e.value for e in at.error)
    at.selectbox(key="ui_lang_select").set_value("zh").run()
    errors = " ".join(e.value for e in at.error)
    assert "学习率" in errors and "learning rate must be" not in errors


def test_run_names_are_model_dataset_n(open_home):
    from core.train.presets import from_preset
    from core.train.launcher import prepare_run

    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=20), "assistant")
    cfg = from_preset("cpu-demo", model="demo-tiny", dataset="assistant")
    first, _ = prepare_run(cfg)
    time.sleep(1.1)  # folder ids carry the second
    second, _ = prepare_run(cfg)
    mine, _ = prepare_run(from_preset("cpu-demo", model="demo-tiny", dataset="assistant",
                                                  run_name="my run"))
    assert [runs.run_name(r) for r in (first, second, mine)] == [
        "demo-tiny-assistant-1", "demo-tiny-assistant-2", "my run"]


def test_live_runs_come_first(open_home):
    statuses = {r: runs.RunStatus(run_id=r, status=s) for r, s in
                [("20260101-a", "completed"), ("20260102-b", "queued"), ("20260103-c", "failed"),
                 ("20260100-d", "running")]}
    assert runs.live_first(statuses) == ["20260100-d", "20260102-b", "20260103-c", "20260101-a"]


def test_log_tail_puts_the_workers_lines_first(open_home):
    folder = runs.run_dir("r1")
    folder.mkdir(parents=True)
    (folder / runs.LOG_FILE).write_text(
        "Failed to load CPU gemm_4bit_forward from kernels-community: No module named 'kernels'.\n"
        "/x/modeling_utils.py:3312: FutureWarning: `is_gradient_checkpointing` is deprecated\n"
        "  warnings.warn(\n"
        "Loading weights:  50%|█████     | 1/2 [00:00<00:00]\r"
        '{"log": {"step": 5, "loss": 6.5}}\n'
        "{'loss': '6.585', 'grad_norm': '0.6289'}\n"
        "Traceback (most recent call last):\n"
        '  File "worker.py", line 3, in <module>\n'
        "RuntimeError: boom\n"
        "worker finished: failed\n", encoding="utf-8")
    own, library = runs.split_log_tail("r1")
    assert own.splitlines() == ['{"log": {"step": 5, "loss": 6.5}}', "Traceback (most recent call last):",
                                '  File "worker.py", line 3, in <module>', "RuntimeError: boom",
                                "worker finished: failed"]
    assert len(library.splitlines()) == 5 and "FutureWarning" in library


def test_assistant_set_gets_classic_probes_and_no_dedupe_invite(open_home):
    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=200), "assistant")
    at = AppTest.from_file(str(ROOT / "views" / "2_Train.py"), default_timeout=60).run()
    assert at.text_area(key="train_probe_prompts").value.splitlines() == [
        "请你介绍一下你自己", "你是谁？", "你是我的小助手吗？"]
    at = AppTest.from_file(str(ROOT / "views" / "1_Datasets.py"), default_timeout=60).run()
    assert "ds_dup_remove" not in [b.key for b in at.button]  # repeats are the recipe: nothing invites deleting them
    assert any("repeat-N" in i.value for i in at.info)


def test_home_checklist_offers_the_next_step(open_home):
    at = _home().run()
    assert not at.exception
    assert at.button(key="home_build_demo")  # step 1: the demo model, built right here
    at.button(key="home_build_demo").click().run()
    assert not at.exception and "home_build_demo" not in [b.key for b in at.button]
    assert any("personal-assistant" in c.value for c in at.caption)  # step 2 next
    from ui.quick_start import loop_state

    assert loop_state() == {"model": True, "dataset": False, "run": False, "chat": False}


def test_run_sh_prints_the_port_it_serves(tmp_path):
    env = dict(os.environ, WORKBENCH_HOME=str(tmp_path / "ws"))
    proc = subprocess.Popen(["./run.sh", "--port", "6106"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not any("URL:" in line for line in seen):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(20)
    text = "".join(seen)
    assert "URL: http://localhost:6106" in text and "ssh -L 6106:127.0.0.1:6106" in text
    assert "6006" not in text
