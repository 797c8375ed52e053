"""Statistics (core.data.stats) and shaping (core.data.shape): token lengths, duplicates, split, mix, export."""
from __future__ import annotations

import json

import pytest

from core.data import shape, stats, store
from core.data.formats import Mapping, to_canonical
from core.errors import UserError


def chat(q: str, a: str) -> dict:
    return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}


def test_basic_stats():
    rows = [chat("hi", "hello"), {"messages": [{"role": "system", "content": "s"}, *chat("a", "b")["messages"]],
                                  "tools": [{"name": "f"}]}]
    s = stats.basic_stats(rows)
    assert (s["rows"], s["messages"], s["turns"], s["with_system"], s["with_tools"]) == (2, 5, 2, 1, 1)
    assert s["chars"] == 2 + 5 + 1 + 1 + 1 and s["roles"]["user"] == 2


def test_token_lengths_match_the_chat_template(tiny_model_path):
    tok = stats.load_tokenizer(str(tiny_model_path))
    rows = [chat("Who are you?", "I am an AI assistant."), {"text": "机器学习模型从数据中学习。"},
            {**chat("weather?", '{"name": "w"}'), "tools": [{"type": "function", "function": {"name": "w"}}]}]
    lengths = stats.token_lengths(rows, str(tiny_model_path), batch_size=1)
    encoded = tok.apply_chat_template(rows[0]["messages"], tokenize=True)
    ids = encoded["input_ids"] if hasattr(encoded, "keys") else encoded
    assert lengths[0] == len(ids) > 10
    assert lengths[1] == len(tok(rows[1]["text"], add_special_tokens=False)["input_ids"])
    assert lengths[2] > 0
    summary = stats.length_summary(lengths, max_length=lengths[0] - 1)
    assert summary["max"] == max(lengths) and summary["over"] >= 1


def test_dataset_stats_records_tokens(workbench_home, tiny_model_path):
    store.save_dataset("d", [chat("a", "b"), chat("a", "b"), chat("a", "c")], source="test")
    out = stats.dataset_stats("d", str(tiny_model_path), max_length=4)
    assert out["duplicates"] == 1 and out["tokens"]["over"] == 3
    assert store.read_meta("d").tokens == out["tokens"]["total"]
    with pytest.raises(UserError, match="not found"):
        stats.dataset_stats("d", str(workbench_home / "no-model"))


def test_duplicates_by_row_and_prompt():
    rows = [chat("a", "1"), chat("a", "2"), chat(" a ", "1"), {"text": "x"}, {"text": "x"}]
    assert stats.find_duplicates(rows) == [[0, 2], [3, 4]]
    assert stats.find_duplicates(rows, by="prompt")[0] == [0, 1, 2]
    kept, removed = shape.dedupe_rows(rows)
    assert removed == 2 and len(kept) == 3


def test_split_is_seeded_and_disjoint():
    rows = [chat(str(i), "a") for i in range(100)]
    train, ev = shape.split_rows(rows, 0.2, seed=1)
    assert len(ev) == 20 and len(train) == 80
    assert shape.split_rows(rows, 0.2, seed=1) == (train, ev)
    assert {r["messages"][0]["content"] for r in train}.isdisjoint({r["messages"][0]["content"] for r in ev})
    with pytest.raises(UserError):
        shape.split_rows(rows, 1.5)


def test_mix_repeat_and_weights():
    small = [chat(f"who {i}", "me") for i in range(10)]
    big = [chat(f"q {i}", "a") for i in range(100)]
    rows, report = shape.mix_rows([(shape.MixSource("id", repeat=3), small), (shape.MixSource("gen"), big)])
    assert len(rows) == 130 and report[0]["taken"] == 30
    rows, report = shape.mix_rows([(shape.MixSource("id", weight=1, allow_repeat=False), small),
                                   (shape.MixSource("gen", weight=1), big)], total=100)
    assert report[0]["taken"] == 10 and report[0]["capped"] and report[1]["taken"] == 50
    rows, report = shape.mix_rows([(shape.MixSource("id", weight=1, allow_repeat=True), small),
                                   (shape.MixSource("gen", weight=1), big)], total=100)
    assert report[0]["taken"] == 50 and len(rows) == 100
    with pytest.raises(UserError):
        shape.mix_rows([(shape.MixSource("id"), small), (shape.MixSource("t"), [{"text": "x"}])])
    pair = dict(small[0], rejected={"role": "assistant", "content": "no"})
    with pytest.raises(UserError) as info:
        shape.mix_rows([(shape.MixSource("id"), small), (shape.MixSource("p"), [pair])])
    assert info.value.key == "err.data.mix_kinds"


def test_saved_dataset_split_mix_export(workbench_home):
    store.save_dataset("a", [chat(f"q{i}", "x") for i in range(20)], source="t", extra={"kind": "chat"})
    store.save_dataset("b", [chat(f"r{i}", "y") for i in range(5)], source="t", extra={"kind": "chat"})
    train, ev = shape.split_dataset("a", 0.25, seed=0)
    assert (train.name, train.rows, ev.name, ev.rows) == ("a-train", 15, "a-eval", 5)
    with pytest.raises(UserError, match="already exists"):
        shape.split_dataset("a", 0.25)
    info, report = shape.mix_datasets([shape.MixSource("a"), shape.MixSource("b", repeat=2)], "ab")
    assert info.rows == 30 and store.read_meta("ab").extra["mix"][1]["repeat"] == 2
    for fmt in ("alpaca", "sharegpt", "openai"):
        path, written, skipped = shape.export_dataset("b", fmt)
        assert written == 5 and skipped == 0 and path.exists()
        text = path.read_text(encoding="utf-8")
        records = [json.loads(x) for x in text.splitlines()] if fmt == "openai" else json.loads(text)
        mapping = Mapping.default(fmt)
        assert [to_canonical(r, mapping) for r in records] == store.load_rows("b")
