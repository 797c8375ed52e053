"""Every message the workbench can show exists in English and Chinese, with the parameters it needs.

Scans the source with ``ast`` (nothing is imported or run): each ``UserError(...)`` raised in
core/ names a catalogue key (or passes a ``Msg``), its ``hint=`` too, and passes every parameter
the English and Chinese texts refer to; every literal key used in core/, ui/, views/ and Home.py
through ``tr``/``t``/``Msg``/``UserError``/``hint=`` is in the catalogue in both languages.
"""
from __future__ import annotations

import ast
import string
from functools import lru_cache
from pathlib import Path

import pytest

from core.i18n import LANGUAGES, Msg, catalog

ROOT = Path(__file__).resolve().parents[1]
KEY_FUNCTIONS = {"tr", "t", "Msg"}


def _sources(*folders: str) -> list[Path]:
    files = []
    for folder in folders:
        target = ROOT / folder
        files += [target] if target.is_file() else sorted(target.rglob("*.py"))
    return files


def _name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


@lru_cache(maxsize=1)
def _error_classes() -> frozenset[str]:
    """UserError and the subclasses of it defined in core/ (ImportAborted …)."""
    names = {"UserError"}
    for path in _sources("core"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(_name(b) in names for b in node.bases):
                names.add(node.name)
    return frozenset(names)


def _placeholders(text: str) -> set[str]:
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(text) if field}


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def test_catalogue_entries_have_both_languages_and_the_same_parameters():
    problems = []
    for key, texts in catalog().items():
        missing = [lang for lang in LANGUAGES if not (texts.get(lang) or "").strip()]
        if missing:
            problems.append(f"{key}: no {', '.join(missing)} text")
        elif _placeholders(texts["en"]) != _placeholders(texts["zh"]):
            problems.append(f"{key}: en uses {_placeholders(texts['en'])}, zh uses {_placeholders(texts['zh'])}")
    assert not problems, "\n".join(problems)


def test_every_user_error_in_core_is_a_catalogued_key_with_its_parameters():
    classes, texts, problems, checked = _error_classes(), catalog(), [], 0
    for path in _sources("core"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and _name(node.func) in classes | {"Msg"}):
                continue
            if path.name == "errors.py" or not node.args:
                continue  # the class itself, and Msg.__init__ calls without a key
            checked += 1
            first = node.args[0]
            key = _literal(first)
            if key is None:
                if _name(node.func) != "Msg" and isinstance(first, (ast.JoinedStr, ast.BinOp)):
                    problems.append(f"{_where(path, node)}: a sentence built in code, not a catalogue key")
                continue  # a Msg (or a name holding one) built above, or a Msg of a computed key
            keywords = {k.arg for k in node.keywords if k.arg}
            # **params, or no parameters at all: a text without parameters is shown as written,
            # braces included (e.g. "use {name} and {author}" in the assistant generator's help)
            takes_any = any(k.arg is None for k in node.keywords) or not keywords - {"field", "hint"}
            needed = [key]
            hint = next((k.value for k in node.keywords if k.arg == "hint"), None)
            if _literal(hint) is not None:
                needed.append(_literal(hint))
            for needed_key in needed:
                if needed_key not in texts:
                    problems.append(f"{_where(path, node)}: {needed_key!r} is not in core/i18n")
                    continue
                for lang in LANGUAGES:
                    missing = _placeholders(texts[needed_key].get(lang, "")) - keywords
                    if missing and not takes_any:
                        problems.append(f"{_where(path, node)}: {needed_key!r} ({lang}) needs {sorted(missing)}")
    assert checked > 100, checked  # the scan really saw core's raises
    assert not problems, "\n".join(problems)


def test_every_literal_key_used_in_core_ui_and_views_exists_in_both_languages():
    texts, problems, seen = catalog(), [], 0
    for path in _sources("core", "ui", "views", "Home.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            keys = []
            if _name(node.func) in KEY_FUNCTIONS | _error_classes() and node.args and _literal(node.args[0]):
                keys.append(_literal(node.args[0]))
            keys += [_literal(k.value) for k in node.keywords if k.arg == "hint" and _literal(k.value)]
            for key in keys:
                if path.parts[-2:] == ("core", "errors.py") or " " in key:
                    continue
                seen += 1
                entry = texts.get(key)
                if entry is None or not all(entry.get(lang) for lang in LANGUAGES):
                    problems.append(f"{_where(path, node)}: {key!r} missing in " +
                                    ", ".join(lang for lang in LANGUAGES if not (entry or {}).get(lang)))
    assert seen > 300, seen
    assert not problems, "\n".join(problems)


def test_error_and_failure_texts_are_written_in_chinese():
    not_chinese = [key for key, texts in catalog().items() if key.startswith(("err.", "fail."))
                   and not any("\u4e00" <= ch <= "\u9fff" for ch in texts["zh"])]
    # the two pure "name：problem" joiners are the only texts with no word of their own
    assert sorted(not_chinese) == ["err.chat.other_base.problem", "err.train.field"]


def test_msg_parameters_render_in_the_same_language():
    from core.errors import UserError

    err = UserError("err.train.field", name="lora_r", problem=Msg("train.err.lora_r"), field="lora_r")
    assert str(err) == "lora_r: LoRA r must be between 1 and 1024."
    assert err.text("zh") == "lora_r：LoRA r 必须在 1 到 1024 之间。"
    assert err.field == "lora_r"


def test_cli_prints_the_english_line_and_the_page_gets_chinese(workbench_home, tmp_path):
    import os
    import subprocess
    import sys

    from core.data.importer import check_dataset_name
    from core.errors import UserError

    data = tmp_path / "rows.jsonl"
    data.write_text('{"instruction": "hi", "output": "hello"}\n', encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_HOME=str(workbench_home))
    done = subprocess.run([sys.executable, "-m", "core", "data", "import", str(data), "--name", "bad/name"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    with pytest.raises(UserError) as caught:
        check_dataset_name("bad/name")
    english = str(caught.value)
    assert english.startswith("Invalid dataset name 'bad/name': use letters") and caught.value.field == "name"
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == f"error: {english}"
    assert "Traceback" not in done.stderr
    assert caught.value.text("zh").startswith("数据集名称“bad/name”无效：只能用字母（含中文）")


def test_row_validation_detail_is_said_in_the_page_language():
    import json

    from core.data.validate import bad_row, check_row

    code, detail = check_row({"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]})
    bad = bad_row(7, code, detail)
    assert bad.reason == "roles out of order (user and assistant must take turns): two user messages in a row at message 2"
    assert bad.detail_text("en") == "two user messages in a row at message 2"
    assert bad.detail_text("zh") == "第 2 条消息处连续出现两条用户消息"
    assert json.loads(json.dumps(bad.to_dict()))["detail"] == "two user messages in a row at message 2"


def test_a_stored_failure_reason_and_hint_are_said_in_chinese():
    from core.train.failures import explain, localize

    reason, hint = explain("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")
    error = f"{reason} (rank 1): torch.OutOfMemoryError: CUDA out of memory."
    assert localize(error, "zh") == "内存不足 (rank 1): torch.OutOfMemoryError: CUDA out of memory."
    assert localize(hint, "zh").startswith("请调小批大小或 max_length")
    assert localize("killed: the training process ended without reporting.", "zh") == "进程已消失：训练进程结束时没有留下报告。"
    assert localize("something no rule knows", "zh") == "something no rule knows"
    assert localize(hint, "en") == hint


def test_datasets_page_says_a_core_error_in_chinese(workbench_home, tmp_path):
    from streamlit.testing.v1 import AppTest

    binary = tmp_path / "weights.jsonl"
    binary.write_bytes(bytes(range(256)) * 64)
    at = AppTest.from_file(str(ROOT / "views" / "1_Datasets.py"), default_timeout=60)
    from core.settings import save_setting

    # the workspace default, so that AppTest (which formats the radios outside the page) reads zh too
    save_setting("lang", "zh")
    at.run()
    at.radio(key="ds_source").set_value("path").run()
    at.text_input(key="ds_path").set_value(str(binary))
    at.button(key="ds_check").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == ["这看起来是二进制文件，不是文本数据集。请使用 JSON、JSONL、CSV、Parquet 或 TXT 文件。"], errors


def test_a_job_that_vanished_is_explained_in_chinese_too():
    from core.jobs import explain_exit
    from core.train.failures import localize

    reason, hint = explain_exit("", 3)
    assert (reason, hint) == ("exited with code 3", "Read the log tail below, fix the cause and start the job again.")
    assert localize(f"{reason}: the training process ended without reporting.", "zh") == \
        "进程以退出码 3 结束：训练进程结束时没有留下报告。"
    assert localize(hint, "zh") == "请查看下方的日志末尾，排除原因后重新启动这个任务。"
    assert localize(explain_exit("", None)[1], "zh").startswith("进程没有留下任何报告就消失了")
