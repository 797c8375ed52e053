"""Format detection and conversion to/from canonical rows (core.data.formats), incl. the peer demo files."""
from __future__ import annotations

import json

import pytest

from core.data import formats
from core.data.formats import Mapping, RowError
from core.data.importer import ImportOptions, analyze_bytes, analyze_path
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


def test_preference_and_kto_shapes_are_detected():
    m = formats.detect_format([{"instruction": "q", "chosen": "a", "rejected": "b"}])
    assert (m.format, m.kind, m.columns["chosen"]) == ("alpaca", "preference", "chosen")
    ranking = Mapping.from_dataset_info({"file_name": "x.json", "formatting": "sharegpt", "ranking": True,
                                         "columns": {"messages": "conversations"}})
    assert ranking.kind == "preference" and ranking.columns["rejected"] == "rejected"
    kto = Mapping.from_dataset_info({"file_name": "k.json", "formatting": "sharegpt",
                                     "columns": {"messages": "messages", "kto_tag": "label"},
                                     "tags": {"role_tag": "role", "content_tag": "content",
                                              "user_tag": "user", "assistant_tag": "assistant"}})
    assert kto.kind == "kto"
    row, _ = formats.convert({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                              "label": "false"}, kto)
    assert row["label"] is False and formats.row_kind(row) == "kto"
    with pytest.raises(RowError) as info:
        formats.convert({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                         "label": "maybe"}, kto)
    assert info.value.code == "bad_label"


@pytest.mark.parametrize("record, prompt, chosen, rejected", [
    # TRL standard (text) and conversational
    ({"prompt": "2+2?", "chosen": "4", "rejected": "5"}, [("user", "2+2?")], "4", "5"),
    ({"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "assistant", "content": "hello"}],
      "rejected": [{"role": "assistant", "content": "go away"}]}, [("user", "hi")], "hello", "go away"),
    # TRL implicit prompt: the shared start of both conversations
    ({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
      "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]}, [("user", "q")], "a", "b"),
    # Alpaca with chosen/rejected and history
    ({"instruction": "x", "input": "y", "chosen": "a", "rejected": "b", "history": [["h1", "h2"]]},
     [("user", "h1"), ("assistant", "h2"), ("user", "x\ny")], "a", "b"),
    # LLaMA-Factory v1 chosen_messages / rejected_messages with content parts
    ({"chosen_messages": [{"role": "user", "content": [{"type": "text", "value": "q"}], "loss_weight": 0.0},
                          {"role": "assistant", "content": [{"type": "text", "value": "good"}], "loss_weight": 1.0}],
      "rejected_messages": [{"role": "user", "content": [{"type": "text", "value": "q"}], "loss_weight": 0.0},
                            {"role": "assistant", "content": [{"type": "text", "value": "bad"}], "loss_weight": 1.0}]},
     [("user", "q")], "good", "bad"),
])
def test_preference_rows(record, prompt, chosen, rejected):
    report = analyze_bytes(json.dumps([record]).encode(), "p.json")
    assert report.kind == "preference" and not report.bad_rows
    row = report.rows[0]
    assert [(m["role"], m["content"]) for m in row["messages"][:-1]] == prompt
    assert row["messages"][-1] == {"role": "assistant", "content": chosen}
    assert row["rejected"] == {"role": "assistant", "content": rejected}


def test_bad_preference_and_kto_rows_are_reported_per_line():
    recs = [{"prompt": "q", "chosen": "same", "rejected": "same"},
            {"prompt": "q", "chosen": "a", "rejected": ""},
            {"prompt": "q", "chosen": "a", "rejected": "b"}]
    report = analyze_bytes("\n".join(json.dumps(r) for r in recs).encode(), "p.jsonl")
    assert report.good == 1 and [(b.line, b.code) for b in report.bad_rows] == [(1, "same_pair"), (2, "empty_assistant")]
    kto = [{"prompt": "q", "completion": "a", "label": True}, {"prompt": "q2", "completion": "b", "label": True}]
    report = analyze_bytes(json.dumps(kto).encode(), "k.json")
    assert report.kind == "kto" and report.good == 2
    assert {"code": "kto_one_label", "label": "true"} in report.notes


def test_v1_format_content_parts_and_loss_weight():
    rec = {"messages": [
        {"role": "system", "content": [{"type": "text", "value": "sys"}], "loss_weight": 0.0},
        {"role": "user", "content": [{"type": "text", "value": "u1"}], "loss_weight": 0.0},
        {"role": "assistant", "content": [{"type": "text", "value": "a1"}], "loss_weight": 0.0},
        {"role": "user", "content": [{"type": "text", "value": "u2"}, {"type": "image_url", "value": "x.jpg"}]},
        {"role": "assistant", "content": [{"type": "text", "value": "a2"}], "loss_weight": 1.0}]}
    report = analyze_bytes(json.dumps([rec, {"messages": rec["messages"][:3]}]).encode(), "v1.json")
    assert report.kind == "sft" and report.good == 1
    assert report.rows[0]["messages"] == [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1", "loss_weight": 0}, {"role": "user", "content": "u2"},
        {"role": "assistant", "content": "a2"}]
    assert [b.code for b in report.bad_rows] == ["nothing_to_learn"]
    assert {"code": "loss_weight_zero", "count": 1} in report.notes


def test_preference_rows_export_back():
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
           "rejected": {"role": "assistant", "content": "b"}}
    assert formats.to_sharegpt(row) == {"conversations": [{"from": "human", "value": "q"}],
                                        "chosen": {"from": "gpt", "value": "a"},
                                        "rejected": {"from": "gpt", "value": "b"}}
    assert formats.to_alpaca(row) == {"instruction": "q", "input": "", "chosen": "a", "rejected": "b"}
    back = analyze_bytes(json.dumps([formats.to_sharegpt(row)]).encode(), "x.json").rows[0]
    assert back == row


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


def test_peer_dpo_and_kto_demo_files(peer_data):
    dpo = analyze_path(peer_data / "dpo_en_demo.json")
    assert (dpo.kind, dpo.good, dpo.bad_rows) == ("preference", 300, [])
    assert all(r["messages"][-1]["role"] == "assistant" and r["rejected"]["content"] for r in dpo.rows)
    kto = analyze_path(peer_data / "kto_en_demo.json")
    assert (kto.kind, kto.good, kto.bad_rows) == ("kto", 300, [])
    assert sum(r["label"] for r in kto.rows) == 150


def test_peer_wiki_text(peer_data):
    report = analyze_path(peer_data / "wiki_demo.txt")
    assert report.kind == "pt" and report.good == 30
