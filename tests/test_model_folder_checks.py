"""A broken model folder ends in a UserError naming the file and what to do, in every loader and the CLI.

Each case copies the tiny model built offline and breaks one thing: a truncated or corrupt
weight file, a missing shard, missing tokenizer files, a chat template that raises, one that
loops past the time limit, one that renders a huge prompt.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import UserError
from core.models import checks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def model_copy(tiny_model_path, tmp_path) -> Path:
    target = tmp_path / "broken-model"
    shutil.copytree(tiny_model_path, target)
    return target


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _set_template(folder: Path, template: str) -> None:
    (folder / "chat_template.jinja").write_text(template, encoding="utf-8")


def _assert_chinese(err: UserError) -> None:
    zh = err.text("zh")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and zh != str(err)


def test_a_good_folder_passes_and_returns_its_tokenizer(model_copy):
    tokenizer = checks.check_model_folder(model_copy)
    prompt = checks.render_chat_template(tokenizer, [{"role": "user", "content": "你好"}])
    assert "你好" in prompt and prompt.endswith("<|im_start|>assistant\n")


def test_truncated_weights_name_the_file(model_copy):
    _truncate(model_copy / "model.safetensors")
    with pytest.raises(UserError) as caught:
        checks.check_model_folder(model_copy)
    err = caught.value
    assert err.key == "err.models.weights_damaged"
    assert str(model_copy / "model.safetensors") in str(err) and "download the model folder again" in str(err)
    _assert_chinese(err)


def test_corrupt_weights_header_names_the_file(model_copy):
    weights = model_copy / "model.safetensors"
    weights.write_bytes(b"\xff" * 8 + weights.read_bytes()[8:])
    with pytest.raises(UserError, match="model.safetensors is damaged"):
        checks.check_weights(model_copy)


def test_a_shard_missing_from_its_index_is_named(model_copy):
    (model_copy / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"a": "model.safetensors", "b": "model-00002-of-00002.safetensors"}}), encoding="utf-8")
    with pytest.raises(UserError, match="model-00002-of-00002.safetensors .listed in model.safetensors.index.json"):
        checks.check_weights(model_copy)


def test_missing_tokenizer_files_are_named(model_copy):
    (model_copy / "tokenizer.json").unlink()
    with pytest.raises(UserError) as caught:
        checks.check_model_folder(model_copy)
    assert caught.value.key == "err.models.tokenizer_missing"
    assert "tokenizer.json" in str(caught.value) and "Copy the tokenizer files" in str(caught.value)
    _assert_chinese(caught.value)


def test_a_damaged_tokenizer_file_is_named(model_copy):
    (model_copy / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        checks.load_tokenizer(model_copy)
    assert caught.value.key == "err.models.tokenizer_failed" and str(model_copy) in str(caught.value)


def test_a_raising_template_names_its_file(model_copy):
    _set_template(model_copy, "{{ raise_exception('this template is broken') }}")
    with pytest.raises(UserError) as caught:
        checks.check_model_folder(model_copy)
    message = str(caught.value)
    assert caught.value.key == "err.models.template_failed"
    assert "chat_template.jinja" in message and "this template is broken" in message
    _assert_chinese(caught.value)


def test_a_looping_template_is_stopped_by_the_time_limit(model_copy, monkeypatch):
    import time

    monkeypatch.setattr(checks, "TEMPLATE_SECONDS", 0.5)
    _set_template(model_copy, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    started = time.monotonic()
    with pytest.raises(UserError) as caught:
        checks.check_model_folder(model_copy)
    assert time.monotonic() - started < 10
    assert caught.value.key == "err.models.template_slow" and "chat_template.jinja" in str(caught.value)
    assert "0.5 s" in str(caught.value)


def test_a_template_rendering_a_huge_prompt_is_refused(model_copy):
    _set_template(model_copy, "{% for i in range(50000) %}0123456789{% endfor %}")
    with pytest.raises(UserError) as caught:
        checks.check_model_folder(model_copy)
    assert caught.value.key == "err.models.template_long" and "500,000 characters" in str(caught.value)


def test_load_base_and_token_counts_go_through_the_checks(model_copy):
    from core.data import stats
    from core.models.loading import load_base

    _truncate(model_copy / "model.safetensors")
    with pytest.raises(UserError, match="model.safetensors is damaged"):
        load_base(str(model_copy))
    _set_template(model_copy, "{{ raise_exception('no') }}")
    with pytest.raises(UserError, match="chat_template.jinja"):
        stats.load_tokenizer(str(model_copy))


def test_chat_prompt_building_names_a_template_that_breaks_on_the_conversation(model_copy):
    from core.chat.templates import build_prompt

    tokenizer = checks.load_tokenizer(model_copy)
    tokenizer.chat_template = "{% if messages|length > 1 %}{{ raise_exception('only one message') }}{% endif %}x"
    assert build_prompt(tokenizer, [{"role": "user", "content": "hi"}]) == "x"
    with pytest.raises(UserError, match="chat_template.jinja fails: .*only one message"):
        build_prompt(tokenizer, [{"role": "user", "content": "hi"}], system="be brief")


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_cli_chat_compare_and_train_on_a_broken_folder_print_one_line_and_exit_2(model_copy, workbench_home,
                                                                                   tmp_path):
    _truncate(model_copy / "model.safetensors")
    chat = _cli(workbench_home, "chat", "--model", str(model_copy), "--prompt", "hi")
    assert chat.returncode == 2, chat.stderr
    assert "Traceback" not in chat.stderr and "model.safetensors is damaged" in chat.stderr
    assert chat.stderr.strip().count("\n") == 0  # one line

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Who are you?\n", encoding="utf-8")
    compare = _cli(workbench_home, "compare", "--model", str(model_copy), "--prompts", str(prompts), "--quiet")
    assert compare.returncode == 2, compare.stderr
    assert "Traceback" not in compare.stderr and "model.safetensors is damaged" in compare.stderr

    from core.data.store import save_dataset

    save_dataset("tiny", [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}],
                 source="test")
    train = _cli(workbench_home, "train", "start", "--model", str(model_copy), "--dataset", "tiny",
                 "--preset", "cpu-demo")
    assert train.returncode == 2, train.stderr
    assert "Traceback" not in train.stderr and "model.safetensors is damaged" in train.stderr
    runs = workbench_home / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # refused before a run folder was made
