"""Reading bytes into records (core.data.readers): encodings, file types, line numbers, bad files."""
from __future__ import annotations

import io
import json

import pytest

from core.data import readers
from core.data.importer import ImportOptions, analyze_bytes
from core.errors import UserError

ROWS = [{"instruction": "你好", "input": "", "output": "您好，我是助手。"},
        {"instruction": "天气", "input": "北京", "output": "晴天。"}]


def _jsonl(rows) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("gbk"),
    lambda t: t.encode("utf-8-sig"),
    lambda t: t.replace("\n", "\r\n").encode("utf-8"),
    lambda t: t.replace("\n", "\r\n").encode("gb18030"),
    lambda t: t.encode("utf-16"),
], ids=["gbk", "utf8-bom", "crlf", "gbk-crlf", "utf16"])
def test_encodings_jsonl(encode):
    report = analyze_bytes(encode(_jsonl(ROWS)), "zh.jsonl")
    assert report.good == 2 and not report.bad_rows
    assert report.rows[0]["messages"][1]["content"] == "您好，我是助手。"


def test_gbk_csv_with_bom_and_crlf():
    text = "问题,回答\r\n你好,您好\r\n\"多行\r\n问题\",\"回答，带逗号\"\r\n"
    for data in (text.encode("gbk"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        report = analyze_bytes(data, "qa.csv")
        assert report.good == 2, report.summary()
        assert report.rows[1]["messages"][0]["content"] == "多行\n问题"
        assert report.rows[1]["messages"][1]["content"] == "回答，带逗号"


def test_empty_and_binary_files_give_clear_messages():
    for data in (b"", b"   \n\n"):
        with pytest.raises(UserError, match="empty"):
            analyze_bytes(data, "x.jsonl")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    with pytest.raises(UserError, match="binary"):
        analyze_bytes(png, "x.json")
    with pytest.raises(UserError, match="Parquet"):
        analyze_bytes(b"PAR1garbage", "x.parquet")


def test_jsonl_line_numbers_skip_blank_lines():
    data = b'{"input": "a", "output": "b"}\n\n{broken\n{"input": "c", "output": ""}\n'
    report = analyze_bytes(data, "x.jsonl")
    assert report.good == 1
    assert [(b.line, b.code) for b in report.bad_rows] == [(3, "malformed_json"), (4, "empty_assistant")]


def test_json_array_line_numbers_and_resync_after_broken_element():
    text = '[\n  {"input": "a", "output": "b"},\n  {"input": "c", "output": },\n  {"input": "d", "output": "e"}\n]\n'
    result = readers.read_bytes(text.encode(), "x.json")
    assert [line for line, _ in result.records] == [2, 4]
    assert [(b.line, b.code) for b in result.errors] == [(3, "malformed_json")]
    valid = json.dumps(ROWS, ensure_ascii=False, indent=2)
    result = readers.read_bytes(valid.encode(), "x.json")
    assert [line for line, _ in result.records] == [2, 7]


def test_json_extension_holding_jsonl_and_wrapped_lists():
    assert len(readers.read_bytes(_jsonl(ROWS).encode(), "x.json").records) == 2
    wrapped = json.dumps({"version": 1, "data": ROWS}).encode()
    assert len(readers.read_bytes(wrapped, "x.json").records) == 2


def test_parquet(tmp_path):
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame(ROWS).to_parquet(buf)
    report = analyze_bytes(buf.getvalue(), "x.parquet")
    assert report.good == 2 and report.file_type == "parquet"


def test_txt_splits():
    data = "first doc\nline two\n\nsecond doc\n".encode()
    assert len(readers.read_bytes(data, "x.txt").records) == 3
    para = readers.read_bytes(data, "x.txt", text_split="paragraph").records
    assert para == [(1, {"text": "first doc\nline two"}), (4, {"text": "second doc"})]
    assert len(readers.read_bytes(data, "x.txt", text_split="file").records) == 1


def test_moss_txt_is_read_by_paragraph():
    data = ("<|Human|>: hi<eoh>\n<|MOSS|>: hello\nthere<eom>\n\n"
            "<|Human|>: bye<eoh>\n<|MOSS|>: bye!<eom>\n").encode()
    report = analyze_bytes(data, "moss.txt")
    assert report.mapping.format == "moss" and report.good == 2
    assert report.rows[0]["messages"][1]["content"] == "hello\nthere"


def test_dataset_info_entry(tmp_path):
    (tmp_path / "qa.json").write_text(json.dumps([{"q": "1+1", "a": "2"}]))
    (tmp_path / "dataset_info.json").write_text(json.dumps({
        "qa": {"file_name": "qa.json", "columns": {"prompt": "q", "response": "a"}},
        "hub": {"hf_hub_url": "someone/data"}}))
    from core.data.importer import analyze_path

    report = analyze_path(tmp_path / "dataset_info.json", ImportOptions(entry="qa"))
    assert report.good == 1 and report.rows[0]["messages"][0]["content"] == "1+1"
    with pytest.raises(UserError, match="hub"):
        analyze_path(tmp_path / "dataset_info.json", ImportOptions(entry="hub"))
    with pytest.raises(UserError, match="entries"):
        analyze_path(tmp_path / "dataset_info.json")
