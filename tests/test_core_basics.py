"""Unit tests for the shared core: workspace writes, names, model registry, assistant generator,
dataset store, training config validation, run folders and the CLI's error contract."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import workspace
from core.data import store
from core.data.assistant import MAX_ROWS, AssistantSpec, generate_assistant_rows, save_assistant_dataset
from core.errors import UserError
from core.train import runs
from core.train.config import TrainConfig
from core.train.presets import BUILTIN_PRESETS, from_preset

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "x.json"
    workspace.atomic_write_json(target, {"a": 1})

    def rows():
        yield {"ok": 1}
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        workspace.atomic_write_jsonl(target, rows())
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


def test_safe_names():
    assert workspace.is_safe_name("assistant-zh_v1.2")
    assert workspace.is_safe_name("小智数据")
    for bad in ("", "..", "a/b", "../etc", " x", "a" * (workspace.MAX_NAME_BYTES + 1), "小" * 51):
        assert not workspace.is_safe_name(bad)
    with pytest.raises(ValueError):
        workspace.check_name("a/b")


def test_assistant_rows_cycle_questions_and_fill_name():
    rows = generate_assistant_rows(AssistantSpec(name="小智", author="张三", n=13, lang="zh"))
    assert len(rows) == 13
    questions = {r["messages"][0]["content"] for r in rows}
    assert {"你是谁？", "请你介绍一下你自己", "你是我的小助手吗？"} <= questions
    assert all(not q.isascii() for q in questions)  # the zh preset is all Chinese
    assert all("小智" in r["messages"][-1]["content"] and "张三" in r["messages"][-1]["content"] for r in rows)
    assert all(r["messages"][-1]["role"] == "assistant" for r in rows)


@pytest.mark.parametrize("spec,field", [
    (AssistantSpec(name="", author="a"), "name"),
    (AssistantSpec(name="a", author="b", n=0), "n"),
    (AssistantSpec(name="a", author="b", n=MAX_ROWS + 1), "n"),
    (AssistantSpec(name="a", author="b", answer_template="I am {nme}"), "answer_template"),
    (AssistantSpec(name="a", author="b", questions=["  "]), "questions"),
])
def test_assistant_rejects_bad_settings(spec, field):
    assert field in spec.field_errors()
    with pytest.raises(UserError) as info:
        generate_assistant_rows(spec)
    assert info.value.field == field


def test_assistant_errors_speak_chinese():
    errs = AssistantSpec(name="", author="a").field_errors("zh")
    assert errs["name"] == "请给助手起个名字。"


def test_store_save_is_atomic_and_listed(workbench_home):
    info = save_assistant_dataset(AssistantSpec(name="A", author="B", n=10, lang="en"), "ds1")
    assert info.rows == 10 and store.exists("ds1")
    before = (store.dataset_dir("ds1") / store.DATA_FILE).read_bytes()
    with pytest.raises(UserError):
        store.save_dataset("ds1", [], source="test")  # nothing valid: previous data untouched
    assert (store.dataset_dir("ds1") / store.DATA_FILE).read_bytes() == before
    assert [d.name for d in store.list_datasets()] == ["ds1"]
    assert store.load_rows("ds1")[0]["messages"][0]["role"] == "user"


def test_train_config_field_errors():
    bad = TrainConfig(model="m", dataset="d", learning_rate=0, max_length=8, lora_r=0)
    errs = bad.field_errors()
    assert {"learning_rate", "max_length", "lora_r"} <= set(errs)
    with pytest.raises(UserError):
        bad.validate()
    for name in BUILTIN_PRESETS:
        from_preset(name, model="m", dataset="d").validate()
    xtuner = BUILTIN_PRESETS["xtuner-qlora"]
    assert (xtuner.lora_r, xtuner.lora_alpha, xtuner.learning_rate, xtuner.batch_size, xtuner.grad_accum,
            xtuner.max_length, xtuner.save_total_limit) == (64, 16, 2e-4, 1, 16, 1024, 3)


def test_launch_refuses_invalid_settings_and_missing_dataset(workbench_home, tiny_model_path):
    from core.train.launcher import launch_run

    with pytest.raises(UserError) as info:
        launch_run(TrainConfig(model=str(tiny_model_path), dataset="nope"))
    assert info.value.field == "dataset"
    with pytest.raises(UserError) as info:
        launch_run(TrainConfig(model=str(tiny_model_path), dataset="nope", learning_rate=-1))
    assert info.value.field == "learning_rate"
    assert runs.list_run_ids() == []  # nothing launched


def test_registry_lists_workspace_and_model_dirs(workbench_home, tiny_model_path, tmp_path, monkeypatch):
    from core.models.registry import list_models, resolve_model

    assert list_models() == []
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "mymodel").symlink_to(tiny_model_path, target_is_directory=True)
    monkeypatch.setenv("MODEL_DIRS", str(extra))
    models = list_models()
    assert [m.name for m in models] == ["mymodel"]
    assert models[0].architecture == "LlamaForCausalLM" and models[0].has_chat_template
    assert resolve_model("mymodel") == extra / "mymodel"
    assert resolve_model(str(tiny_model_path)) == tiny_model_path.resolve()
    with pytest.raises(UserError):
        resolve_model("no-such-model")


def test_tokenize_masks_only_assistant_turns(tiny_model_path):
    from core.models.checks import load_tokenizer
    from core.train.tokenize import tokenize_row

    tok = load_tokenizer(tiny_model_path)
    row = {"messages": [{"role": "user", "content": "你是谁？"}, {"role": "assistant", "content": "我是小智。"},
                        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello there"}]}
    out = tokenize_row(tok, row)
    learnt = tok.decode([i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m])
    assert "我是小智。" in learnt and "Hello there" in learnt
    assert "你是谁" not in learnt and "Hi<" not in learnt and "user" not in learnt


def test_demo_model_is_deterministic(tmp_path):
    from core.models.demo import build_demo_model

    a = build_demo_model(tmp_path / "a")
    b = build_demo_model(tmp_path / "b")
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    assert (a / "tokenizer.json").read_text() == (b / "tokenizer.json").read_text()


def test_cli_unknown_run_exits_2_with_one_line(workbench_home):
    for args in (["train", "status", "nope", "--json"], ["train", "stop", "nope", "--json"]):
        result = run_cli(*args, home=workbench_home)
        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1 and "nope" in result.stderr


def test_cli_models_and_demo_model(workbench_home):
    result = run_cli("demo-model", "--json", home=workbench_home)
    assert result.returncode == 0, result.stderr
    path = json.loads(result.stdout)["path"]
    assert Path(path, "config.json").exists()
    listed = json.loads(run_cli("models", "--json", home=workbench_home).stdout)
    assert [m["name"] for m in listed["models"]] == ["demo-tiny"]
    assert listed["models"][0]["path"] == path


def test_tokenize_passes_tool_schemas_to_the_template(tiny_model_path):
    from core.models.checks import load_tokenizer
    from core.train.tokenize import tokenize_row

    tok = load_tokenizer(tiny_model_path)
    tok.chat_template = ("{% if tools %}TOOLS:{{ tools | tojson }}\n{% endif %}"
                         "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}</s>{% endfor %}"
                         "{% if add_generation_prompt %}<assistant>{% endif %}")
    row = {"messages": [{"role": "user", "content": "weather?"},
                        {"role": "assistant", "content": '{"name": "get_weather"}'},
                        {"role": "tool", "content": '{"temp": 20}'},
                        {"role": "assistant", "content": "It is 20 degrees."}],
           "tools": [{"name": "get_weather", "parameters": {}}]}
    out = tokenize_row(tok, row)
    assert "TOOLS:" in tok.decode(out["input_ids"])
    learnt = tok.decode([i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m])
    assert "get_weather" in learnt and "20 degrees" in learnt and "temp" not in learnt


def test_train_field_errors_speak_chinese(workbench_home):
    from core.train.launcher import check_launchable

    errs = check_launchable(TrainConfig(model="m", dataset="missing", learning_rate=0), "zh")
    assert errs["learning_rate"] == "学习率必须大于 0（且不超过 1）。"
    assert "找不到数据集" in errs["dataset"]


def test_loss_weight_zero_turn_contributes_no_loss(tiny_model_path, tmp_path):
    """A v1 row's weight-0 reply gets label -100 in the trainer's own dataset, so it adds no loss."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from core.models.checks import load_tokenizer
    from core.train.tokenize import tokenize_row

    tok = load_tokenizer(tiny_model_path)
    messages = [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "first reply"},
                {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "second reply"}]
    weighted = [dict(m, loss_weight=0) if m["content"] == "first reply" else m for m in messages]
    full, skipped = tokenize_row(tok, {"messages": messages}), tokenize_row(tok, {"messages": weighted})
    assert full["input_ids"] == skipped["input_ids"]
    dropped = [i for i, a, b in zip(full["input_ids"], full["assistant_masks"], skipped["assistant_masks"]) if a and not b]
    assert "first reply" in tok.decode(dropped) and "second" not in tok.decode(dropped)

    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32)
    args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, report_to=[], max_length=256)
    trainer = SFTTrainer(model=model, args=args, processing_class=tok,
                         train_dataset=Dataset.from_list([full, skipped]))
    labels = [trainer.train_dataset[i]["labels"] for i in range(2)]
    learnt = [[t for t in row if t != -100] for row in labels]
    assert tok.decode(learnt[1]) in tok.decode(learnt[0]) and "first reply" not in tok.decode(learnt[1])
    # The loss of the weighted row is exactly the loss over the second reply alone.
    ids = torch.tensor([skipped["input_ids"]])
    with torch.no_grad():
        logits = model(ids).logits[0, :-1]
    target = torch.tensor(labels[1][1:])
    per_token = torch.nn.functional.cross_entropy(logits, target.clamp(min=0), reduction="none")
    second_only = per_token[target != -100].mean()
    loss = model(ids, labels=torch.tensor([labels[1]])).loss
    assert torch.allclose(loss, second_only) and (target != -100).sum() < (torch.tensor(labels[0][1:]) != -100).sum()
