"""The import pipeline (core.data.importer): validation report, save/abort, atomicity, notes."""
from __future__ import annotations

import json

import pytest

from core.data import importer, store
from core.data.importer import ImportAborted, ImportOptions, analyze_bytes, save_import
from core.errors import UserError


def _msgs(*pairs):
    return {"messages": [{"role": r, "content": c} for r, c in pairs]}


BAD_CASES = [
    ("not json", "malformed_json"),
    (json.dumps({"messages": [{"content": "x"}, {"role": "assistant", "content": "y"}]}), "missing_role"),
    (json.dumps({"messages": [{"role": "user"}, {"role": "assistant", "content": "y"}]}), "missing_content"),
    (json.dumps(_msgs(("user", "q"), ("assistant", "  "))), "empty_assistant"),
    (json.dumps(_msgs(("user", "q"), ("robot", "a"))), "unknown_role"),
    (json.dumps(_msgs(("user", "q"), ("assistant", "a"), ("user", "q2"))), "not_ending_with_assistant"),
    (json.dumps(_msgs(("user", "q"), ("assistant", "x" * 300))), "over_long"),
    (json.dumps(_msgs(("user", "q"), ("system", "s"), ("assistant", "a"))), "system_not_first"),
    (json.dumps(_msgs(("user", "q"), ("user", "q"), ("assistant", "a"))), "bad_order"),
    (json.dumps(_msgs(("assistant", "a"),)), "bad_order"),
    ("[1, 2]", "not_an_object"),
]


def test_every_reason_is_reported_with_its_line():
    good = json.dumps(_msgs(("system", "s"), ("user", "q"), ("assistant", "a")))
    lines = [good] + [line for line, _ in BAD_CASES] + [good]
    report = analyze_bytes("\n".join(lines).encode(), "x.jsonl", ImportOptions(format="openai", max_chars=200))
    assert report.good == 2 and report.total == len(lines)
    assert [(b.line, b.code) for b in report.bad_rows] == [(i + 2, code) for i, (_, code) in enumerate(BAD_CASES)]
    assert all(b.reason for b in report.bad_rows)


def test_save_good_rows_then_abort_leaves_previous_dataset_byte_identical(workbench_home):
    data = b'{"input": "a", "output": "b"}\n{"input": "c", "output": ""}\n'
    report = analyze_bytes(data, "x.jsonl")
    info = save_import(report, "pairs", on_error="skip")
    assert info.rows == 1 and store.load_rows("pairs")[0]["messages"][1]["content"] == "b"
    folder = store.dataset_dir("pairs")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    report2 = analyze_bytes(b'{"input": "x", "output": "y"}\n{oops\n', "y.jsonl")
    with pytest.raises(ImportAborted):
        save_import(report2, "pairs", on_error="abort", overwrite=True)
    with pytest.raises(UserError, match="already exists"):
        save_import(report2, "pairs", on_error="skip", overwrite=False)
    with pytest.raises(ImportAborted):  # nothing good at all
        save_import(analyze_bytes(b"{bad\n", "z.jsonl"), "pairs", overwrite=True)
    with pytest.raises(UserError):
        save_import(report2, "../escape", overwrite=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in workbench_home.joinpath("datasets").iterdir()] == ["pairs"]  # no leftovers


def test_meta_records_kind_format_and_bad_rows(workbench_home):
    report = analyze_bytes(b"one\ntwo\n", "t.txt")
    info = save_import(report, "txt")
    meta = store.read_meta("txt")
    assert meta.extra["kind"] == "pt" and meta.extra["format"] == "text" and info.rows == 2


def test_multimodal_rows_keep_text_with_a_note():
    rec = {"messages": [{"role": "user", "content": "<image>What is in the picture?"},
                        {"role": "assistant", "content": "A cat."}], "images": ["cat.png"]}
    report = analyze_bytes((json.dumps(rec) + "\n").encode(), "mm.jsonl")
    assert report.good == 1
    assert report.rows[0]["messages"][0]["content"] == "What is in the picture?"
    assert any(n["code"] == "media_ignored" for n in report.notes)


def test_preference_file_is_imported_with_its_kind(workbench_home):
    rec = {"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "gpt", "value": "a"},
           "rejected": {"from": "gpt", "value": "b"}}
    report = analyze_bytes((json.dumps(rec) + "\n").encode(), "dpo.jsonl")
    info = save_import(report, "pairs")
    assert store.dataset_kind(info) == "preference" and report.summary()["kind"] == "preference"
    legacy = store.save_dataset("old", [{"text": "t"}], source="t", extra={"kind": "text"})
    assert store.dataset_kind(legacy) == "pt"


def test_forced_format_and_custom_mapping():
    data = json.dumps([{"dialog": [{"speaker": "user", "text": "hi"}, {"speaker": "bot", "text": "yo"}]}]).encode()
    report = analyze_bytes(data, "d.json")  # auto: learns the keys and the role names
    assert report.good == 1, report.summary()
    mapping = {"format": "sharegpt", "columns": {"messages": "dialog"},
               "tags": {"role_tag": "speaker", "content_tag": "text", "user_tag": "user", "assistant_tag": "bot"}}
    report = analyze_bytes(data, "d.json", ImportOptions(mapping=mapping))
    assert report.good == 1 and report.rows[0]["messages"][1] == {"role": "assistant", "content": "yo"}
    with pytest.raises(UserError):
        analyze_bytes(data, "d.json", ImportOptions(format="nonsense"))


def test_csv_format_needs_question_and_answer_columns():
    report = analyze_bytes("prompt,completion\nhi,there\n".encode(), "x.dat", ImportOptions(format="csv"))
    assert report.good == 1
    with pytest.raises(UserError):
        analyze_bytes("foo,bar\n1,2\n".encode(), "x.csv", ImportOptions(format="csv"))


def test_summary_matches_cli_shape():
    report = analyze_bytes(b'{"input": "a", "output": "b"}\n{bad\n', "x.jsonl")
    s = report.summary()
    assert s["rows"] == 1 and s["bad_rows"] == [{"line": 2, "reason": s["bad_rows"][0]["reason"], "code": "malformed_json"}]
    assert importer.note_text({"code": "encoding", "encoding": "gb18030"}) == "Decoded as gb18030."
