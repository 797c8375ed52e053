"""Format detection and conversion to/from canonical rows (core.data.formats), incl. the peer demo files."""
from __future__ import annotations

import json

import pytest

from core.data import formats
from core.data.formats import Mapping, RowError
from core.data.importer import ImportOptions, analyze_path
from core.errors import UserError


def test_alpaca_with_system_and_history():
    rec = {"instruction": "Q2", "input": "ctx", "output": "A2", "system": "be brief",
           "history": [["Q1", "A1"]]}
    row = formats.to_canonical(rec, Mapping.default("alpaca"))
    assert row["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "Q2\nctx"}, {"role": "assistant", "content": "A2"},
    ]
    back = formats.to_alpaca(row)  # instruction and input were joined: the round trip keeps the conversation
    assert back["instruction"] == "Q2\nctx" and back["history"] == [["Q1", "A1"]]
    assert formats.to_canonical(back, Mapping.default("alpaca")) == row


def test_plain_pairs_and_csv_style_columns_are_detected():
    assert formats.detect_format([{"input": "hi", "output": "yo"}]).columns["prompt"] == "input"
    m = formats.detect_format([{"问题": "你好", "回答": "您好"}])
    assert formats.to_canonical({"问题": "你好", "回答": "您好"}, m)["messages"][1]["content"] == "您好"


def test_sharegpt_tool_turns_and_roundtrip():
    rec = {"conversations": [{"from": "human", "value": "weather?"},
                             {"from": "function_call", "value": '{"name": "w", "arguments": {}}'},
                             {"from": "observation", "value": '{"t": 3}'},
                             {"from": "gpt", "value": "3 degrees"}],
           "system": "sys", "tools": '[{"name": "w", "parameters": {}}]'}
    m = formats.detect_format([rec])
    row = formats.to_canonical(rec, m)
    assert [x["role"] for x in row["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert row["messages"][2]["content"] == '{"name": "w", "arguments": {}}'
    assert row["tools"] == [{"name": "w", "parameters": {}}]
    back = formats.to_sharegpt(row)
    assert back["conversations"] == rec["conversations"] and back["system"] == "sys"
    assert json.loads(back["tools"]) == row["tools"]
    assert formats.to_alpaca(row) is None  # Alpaca cannot hold tool turns


def test_openai_messages_tool_calls_and_content_parts():
    rec = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": "x"}}]},
        {"role": "assistant", "content": None,
         "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}]},
        {"role": "tool", "content": "ok"},
        {"role": "assistant", "content": "a cat"}]}
    m = formats.detect_format([rec])
    assert m.format == "openai"
    row, media = formats.convert(rec, m)
    assert media is True
    assert row["messages"][0]["content"] == "what is this?"
    assert json.loads(row["messages"][1]["content"]) == {"name": "f", "arguments": {"a": 1}}


def test_unknown_role_is_a_row_error():
    m = Mapping.default("sharegpt")
    with pytest.raises(RowError) as err:
        formats.to_canonical({"conversations": [{"from": "alien", "value": "x"}]}, m)
    assert err.value.code == "unknown_role"


def test_moss_text_and_moss003_chat():
    text = "You are MOSS.\n<|Human|>: 你好<eoh>\n<|MOSS|>: 你好！<eom>\n<|Human|>: 再见<eoh>\n<|MOSS|>: 再见<eom>\n"
    msgs = formats.parse_moss_text(text)
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant"]
    rec = {"meta_instruction": "sys", "chat": {
        "turn_2": {"Human": "<|Human|>: b<eoh>\n", "MOSS": "<|MOSS|>: B<eom>\n"},
        "turn_1": {"Human": "<|Human|>: a<eoh>\n", "Inner Thoughts": "<|Inner Thoughts|>: None<eot>\n",
                   "Commands": "<|Commands|>: None<eoc>\n", "MOSS": "<|MOSS|>: A<eom>\n"}}}
    row = formats.to_canonical(rec, formats.detect_format([rec]))
    assert [m["content"] for m in row["messages"]] == ["sys", "a", "A", "b", "B"]


def test_preference_data_is_refused():
    with pytest.raises(UserError, match="preference"):
        formats.detect_format([{"instruction": "q", "chosen": "a", "rejected": "b"}])
    with pytest.raises(UserError):
        Mapping.from_dataset_info({"file_name": "x.json", "ranking": True})


def test_dataset_info_entry_mapping():
    m = Mapping.from_dataset_info({"file_name": "x.json", "formatting": "sharegpt",
                                   "columns": {"messages": "messages"},
                                   "tags": {"role_tag": "role", "content_tag": "content",
                                            "user_tag": "user", "assistant_tag": "assistant"}})
    assert m.format == "openai" and m.columns["messages"] == "messages"
    m = Mapping.from_dataset_info({"file_name": "x.csv", "columns": {"prompt": "q", "response": "a"}})
    assert m.format == "alpaca" and m.columns["prompt"] == "q" and "query" not in m.columns


def test_placeholders():
    row = {"messages": [{"role": "user", "content": "who?"},
                        {"role": "assistant", "content": "I am {{name}} by {{ author }}, {{other}}"}]}
    assert formats.find_placeholders([row]) == {"name", "author", "other"}
    out = formats.fill_placeholders(row, {"name": "Aria", "author": "Lab"})
    assert out["messages"][1]["content"] == "I am Aria by Lab, {{other}}"
    assert row["messages"][1]["content"].startswith("I am {{name}}")  # input untouched


def test_export_records_counts_skipped():
    rows = [{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "{}"},
                          {"role": "tool", "content": "r"}, {"role": "assistant", "content": "c"}]}]
    records, skipped = formats.export_records(rows, "alpaca")
    assert len(records) == 1 and skipped == 1
    assert formats.export_records(rows, "openai")[0] == rows


# ----------------------------------------------------------------------------- the peer demo files


def test_peer_alpaca(peer_data):
    report = analyze_path(peer_data / "alpaca_en_demo.json")
    assert report.mapping.format == "alpaca"
    assert report.good == 999 and not report.bad_rows
    assert all([m["role"] for m in r["messages"]][-2:] == ["user", "assistant"] for r in report.rows)


def test_peer_identity_placeholders_filled(peer_data):
    report = analyze_path(peer_data / "identity.json",
                          ImportOptions(placeholders={"name": "Aria", "author": "Lab"}))
    assert report.good == 91 and not report.bad_rows
    text = json.dumps(report.rows, ensure_ascii=False)
    assert "{{" not in text and "Aria" in text and "Lab" in text


def test_peer_glaive_toolcall(peer_data):
    report = analyze_path(peer_data / "glaive_toolcall_en_demo.json")
    assert report.mapping.format == "sharegpt"
    assert report.good == 300 and not report.bad_rows
    roles = {m["role"] for r in report.rows for m in r["messages"]}
    assert roles == {"user", "assistant", "tool"}
    assert sum("tools" in r for r in report.rows) > 150
    with_calls = [r for r in report.rows if any(m["role"] == "tool" for m in r["messages"])]
    assert with_calls and all(isinstance(r["tools"], list) for r in with_calls if "tools" in r)
    # function_call turns become assistant messages holding the call's JSON
    call = next(r["messages"][i - 1] for r in with_calls for i, m in enumerate(r["messages"]) if m["role"] == "tool")
    assert call["role"] == "assistant" and "name" in json.loads(call["content"])


def test_peer_wiki_text(peer_data):
    report = analyze_path(peer_data / "wiki_demo.txt")
    assert report.kind == "text" and report.good == 30
