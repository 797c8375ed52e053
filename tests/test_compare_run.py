"""Comparison on a real trained run: the table equals per-model greedy chat, one base in memory,
scores and eval loss per checkpoint, results kept with the run, mismatched base refused, CLI."""
from __future__ import annotations

import csv
import json
import math

import pytest

from compare_fixtures import QUESTIONS, trained_workspace, ws  # noqa: F401 (ws is a fixture)
from core.chat import compare as C
from core.chat import prompts as P
from core.data.shape import eval_split_rows
from core.chat.generate import GenerationSettings, generate_reply
from core.errors import UserError

SETTINGS = GenerationSettings(max_new_tokens=24, temperature=0.0, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def shared_lm(tmp_path_factory):
    from core.models.loading import load_base

    return load_base(trained_workspace(tmp_path_factory).model_path)


def test_every_checkpoint_is_listed_grouped_by_run(ws):
    from core.train.runs import checkpoints_by_run

    groups = checkpoints_by_run()
    assert [g.run_id for g in groups] == [ws.run_id]
    assert [r.name for r in groups[0].adapters] == ["checkpoint-10", "checkpoint-20", "adapter"]


def test_table_matches_per_model_greedy_chat(ws, shared_lm):
    from core.models.loading import load_base

    specs = [f"{ws.run_id}/checkpoint-10", f"{ws.run_id}/adapter"]
    prompts = [P.PromptItem(q) for q in QUESTIONS[:3]]
    result = C.run_compare(shared_lm, prompts, specs, SETTINGS)
    assert result.labels == ["base", *specs]
    # one base in memory: both adapters were attached to the same model object
    assert len(shared_lm.adapters) >= 2
    for column in result.columns:
        fresh = load_base(ws.model_path)  # what a user gets by loading this one model in chat
        expected = [generate_reply(fresh, [{"role": "user", "content": p.prompt}], SETTINGS, adapter=column.adapter)
                    for p in prompts]
        assert result.answers[column.label] == expected, column.label
    assert result.answers["base"] != result.answers[f"{ws.run_id}/adapter"]  # training changed the answers
    table = result.table()
    assert list(table.columns) == ["prompt", "reference", "base", *specs]
    assert list(table["prompt"]) == QUESTIONS[:3]


def test_scores_and_eval_loss_per_checkpoint(ws, shared_lm):
    dataset, ratio, seed, held_out = C.run_eval_split(ws.run_id)
    assert (dataset, ratio, held_out) == ("assistant", 0.1, True)
    rows = eval_split_rows(dataset, ratio, seed)
    assert len(rows) == 20
    prompts = P.prompts_from_rows(rows, limit=4)
    assert prompts and all(p.reference for p in prompts)
    specs = [f"{ws.run_id}/checkpoint-10", f"{ws.run_id}/checkpoint-20"]
    result = C.run_compare(shared_lm, prompts, specs, SETTINGS, eval_rows=rows,
                           eval_source={"dataset": dataset, "eval_ratio": ratio, "seed": seed})
    base, last = result.metrics["base"], result.metrics[specs[1]]
    for m in (base, last):
        assert set(m) >= {"bleu", "rouge_l", "exact_match", "eval_loss", "perplexity"}
        assert m["perplexity"] == pytest.approx(math.exp(m["eval_loss"]))
    assert last["eval_loss"] < base["eval_loss"]
    assert last["bleu"] > base["bleu"]
    curves = C.metric_curves(result)
    assert sorted(curves[curves.metric == "eval_loss"].step.dropna()) == [10, 20]

    saved = C.save_result(result)
    folder = ws.home / "runs" / ws.run_id / "compare"
    assert saved and saved[0].startswith(str(folder))
    csv_path = saved[0][:-5] + ".csv"
    with open(csv_path, encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh))
    assert header == ["prompt", "reference", "base", *specs]
    again = C.load_saved(saved[0])
    assert again.metrics == json.loads(json.dumps(result.metrics)) and again.labels == result.labels
    assert any(s["path"] == saved[0] for s in C.list_saved())


def test_checkpoint_of_another_base_is_refused(ws):
    from core.models.loading import load_base

    with pytest.raises(UserError, match="different base"):
        C.check_fits(ws.other_model_path, [ws.adapter("checkpoint-10")])
    other = load_base(ws.other_model_path)
    with pytest.raises(UserError, match="other-tiny"):
        C.run_compare(other, [P.PromptItem("hi")], [f"{ws.run_id}/checkpoint-10"], SETTINGS)
    assert not other.adapters  # refused before anything was attached
    assert C.adapter_fits(ws.model_path, ws.adapter("adapter"))
    assert not C.adapter_fits(ws.other_model_path, ws.adapter("adapter"))


def test_cli_compare(ws, tmp_path, capsys):
    from core.cli import main

    prompts = tmp_path / "p.jsonl"
    answer = "我是小智，由张三开发的个人助手。"
    prompts.write_text("\n".join(json.dumps({"prompt": q, "reference": answer}, ensure_ascii=False)
                                 for q in QUESTIONS[:2]), encoding="utf-8")
    out = tmp_path / "results.csv"
    code = main(["compare", "--model", str(ws.model_path), "--adapters", f"{ws.run_id}/checkpoint-20",
                 ws.run_id, "--prompts", str(prompts), "--references", "--out", str(out),
                 "--max-new-tokens", "16", "--json", "--quiet"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    assert payload["models"] == ["base", f"{ws.run_id}/checkpoint-20", f"{ws.run_id}/adapter"]
    assert payload["metrics"]["base"]["n"] == 2 and payload["saved"]
    with open(out, encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["prompt", "reference", *payload["models"]] and len(rows) == 3

    code = main(["compare", "--model", str(ws.other_model_path), "--adapters", ws.run_id,
                 "--prompts", str(prompts), "--json", "--quiet"])
    assert code == 2 and "different base" in capsys.readouterr().err
    code = main(["compare", "--model", "demo-tiny", "--adapters", "nope/checkpoint-1", "--prompts", str(prompts)])
    assert code == 2 and "Unknown run" in capsys.readouterr().err
