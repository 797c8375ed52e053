"""Metrics, prompt-set parsing, eval split and answer diffs on hand-made cases (no model needed)."""
from __future__ import annotations

import json
import math

import pytest

from core.chat import compare as C
from core.chat import metrics as M
from core.chat import prompts as P
from core.data.shape import eval_split_rows
from core.errors import UserError


def test_identical_text_scores_perfectly():
    for refs in (["the cat sat on the mat", "hi"], ["我是小智，由张三开发的个人助手。", "你好"]):
        scores = M.score_answers(list(refs), list(refs))
        assert scores["bleu"] == pytest.approx(100.0)
        assert scores["exact_match"] == 1.0
        assert scores["rouge_l"] == pytest.approx(1.0)
        assert scores["n"] == 2


def test_tokenizer_choice_and_sacrebleu_agreement():
    import sacrebleu

    zh_pred, zh_ref = ["我是小智，很高兴为你服务"], ["我是小明，很高兴为您服务"]
    assert M.bleu_tokenizer(zh_ref) == "zh" and M.bleu_tokenizer(["plain English"]) == "13a"
    expected = sacrebleu.corpus_bleu(zh_pred, [zh_ref], tokenize="zh").score
    assert M.corpus_bleu(zh_pred, zh_ref) == pytest.approx(expected)
    assert 0 < M.corpus_bleu(zh_pred, zh_ref) < 100
    en_pred, en_ref = ["the cat sat on the mat today"], ["the cat sat on a mat today"]
    assert M.corpus_bleu(en_pred, en_ref) == pytest.approx(
        sacrebleu.corpus_bleu(en_pred, [en_ref], tokenize="13a").score)


def test_different_text_and_exact_match_rules():
    assert M.corpus_bleu(["completely unrelated words here"], ["the cat sat on the mat"]) == pytest.approx(0.0)
    assert M.exact_match(["  Hello   world \n"], ["Hello world"]) == 1.0  # whitespace does not count
    assert M.exact_match(["hello world"], ["Hello world"]) == 0.0  # case does
    assert M.exact_match(["a", "b", "c", "d"], ["a", "x", "c", "y"]) == 0.5


def test_rouge_l_understands_chinese():
    # rouge-score alone drops every non-ASCII character and would score these 0
    partial = M.rouge_l(["我是小智，由张三开发的助手"], ["我是小明，由张三开发的个人助手"])
    assert 0.3 < partial < 1.0
    assert M.rouge_l(["今天天气很好"], ["机器学习模型"]) == 0.0
    # English LCS: 5 of 6 words in order -> P = R = 5/6
    assert M.rouge_l(["the cat sat on the mat"], ["the cat sat on a mat"]) == pytest.approx(5 / 6)


def test_score_answers_skips_prompts_without_reference():
    scores = M.score_answers(["a", "b", "c"], ["a", None, ""])
    assert scores["n"] == 1 and scores["exact_match"] == 1.0
    assert M.score_answers(["a"], [None])["bleu"] is None
    one = M.answer_scores("我是小智", "我是小智")
    assert one == {"bleu": pytest.approx(100.0), "rouge_l": 1.0, "exact_match": 1.0}
    assert M.answer_scores("x", None)["bleu"] is None


def test_parse_typed_and_files():
    items = P.parse_prompt_text("Who are you?\t我是小智\n\n你好\nWhat is 2+2? ||| 4\n")
    assert [(i.prompt, i.reference) for i in items] == [("Who are you?", "我是小智"), ("你好", None),
                                                        ("What is 2+2?", "4")]

    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"question": "Q1", "answer": "A1"},
        {"instruction": "Translate", "input": "hello", "output": "你好"},
        {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                      {"role": "assistant", "content": "R"}]},
        "just a prompt",
    ]).encode()
    items = P.parse_prompt_file(jsonl, "p.jsonl")
    assert [(i.prompt, i.reference) for i in items] == [
        ("Q1", "A1"), ("Translate\nhello", "你好"), ("U", "R"), ("just a prompt", None)]
    assert items[2].chat_messages()[0] == {"role": "system", "content": "S"}

    csv_items = P.parse_prompt_file("prompt,reference\n你是谁？,我是小智\nhi,\n".encode("gbk"), "p.csv")
    assert [(i.prompt, i.reference) for i in csv_items] == [("你是谁？", "我是小智"), ("hi", None)]
    json_items = P.parse_prompt_file(b'[{"prompt": "a"}, {"prompt": "b", "reference": "c"}]', "p.json")
    assert [i.reference for i in json_items] == [None, "c"]


def test_prompt_files_use_the_importers_column_names():
    sheet = P.parse_prompt_file("问题,答案\n你是谁？,我是小智\n你好,\n".encode("gbk"), "qa.csv")
    assert [(i.prompt, i.reference) for i in sheet] == [("你是谁？", "我是小智"), ("你好", None)]
    sharegpt = json.dumps({"conversations": [{"from": "human", "value": "U"}, {"from": "gpt", "value": "R"}]})
    items = P.parse_prompt_file(sharegpt.encode(), "s.jsonl")
    assert [(i.prompt, i.reference) for i in items] == [("U", "R")]
    with pytest.raises(UserError) as caught:
        P.parse_prompt_file("名字,年龄\n张三,3\n".encode(), "x.csv")
    assert "问题" in caught.value.text("zh") and "问题列" in caught.value.text("zh")


def test_parse_errors_say_where():
    with pytest.raises(UserError, match="Line 2"):
        P.parse_prompt_file(b'{"prompt": "a"}\n{oops\n', "p.jsonl")
    with pytest.raises(UserError, match="no prompt column"):
        P.parse_prompt_file(b"foo,bar\n1,2\n", "p.csv")
    with pytest.raises(UserError, match="Unsupported"):
        P.parse_prompt_file(b"x", "p.docx")
    with pytest.raises(UserError, match="empty"):
        P.parse_prompt_text("\n  \n")


def test_prompts_from_rows_dedupes_and_keeps_history():
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                        {"role": "user", "content": "who?"}, {"role": "assistant", "content": "me"}]}
    items = P.prompts_from_rows([row, row, {"text": "plain"}])
    assert len(items) == 1
    assert items[0].prompt == "who?" and items[0].reference == "me"
    assert [m["content"] for m in items[0].chat_messages()] == ["hi", "hello", "who?"]


def test_eval_split_is_the_workers_split(workbench_home):
    from datasets import Dataset

    from core.data import store

    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(50)]
    store.save_dataset("d", rows, source="test")
    ours = eval_split_rows("d", 0.1, 42)
    theirs = Dataset.from_list(rows).train_test_split(test_size=0.1, seed=42)["test"]  # what the worker does
    assert ours == [dict(r) for r in theirs]
    with pytest.raises(UserError):
        eval_split_rows("d", 0.0, 42)


def test_diff_segments_marks_only_changes():
    assert C.diff_segments("same text", "same text") == [("same text", False)]
    segs = C.diff_segments("我是小智，很高兴", "我是小明，很高兴")
    assert "".join(s for s, _ in segs) == "我是小明，很高兴"
    assert [s for s, changed in segs if changed] == ["明"]
    segs = C.diff_segments("the cat sat", "the dog sat")
    assert [s for s, changed in segs if changed] == ["dog"]


def test_result_table_csv_and_curves():
    result = C.CompareResult(
        model="m", quantization="none", settings={}, prompts=[P.PromptItem("p1", "r1"), P.PromptItem("p2", "r2")],
        columns=[C.ModelColumn("base"), C.ModelColumn("r/checkpoint-10", "/x/r/checkpoint-10", "r", "checkpoint-10", 10),
                 C.ModelColumn("r/checkpoint-20", "/x/r/checkpoint-20", "r", "checkpoint-20", 20)],
        answers={"base": ["x", "y"], "r/checkpoint-10": ["r1", "y"], "r/checkpoint-20": ["r1", "r2"]},
    )
    C.score_result(result)
    assert result.metrics["r/checkpoint-20"]["exact_match"] == 1.0
    assert result.metrics["r/checkpoint-10"]["exact_match"] == 0.5
    assert list(result.table().columns) == ["prompt", "reference", "base", "r/checkpoint-10", "r/checkpoint-20"]
    assert result.to_csv().splitlines()[0] == "prompt,reference,base,r/checkpoint-10,r/checkpoint-20"
    assert result.differing_prompts() == [0, 1]
    assert C.best_checkpoints(result)["exact_match"] == "r/checkpoint-20"
    curves = C.metric_curves(result)
    em = curves[curves.metric == "exact_match"]
    assert list(em.step.dropna()) == [10, 20]
    again = C.CompareResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.to_csv() == result.to_csv() and again.columns[1].step == 10
    assert math.isclose(again.metrics["r/checkpoint-20"]["bleu"], 100.0)
