"""core/eval on demo-tiny after the assistant recipe: identity meter, forgetting check, benchmark through
lm-eval, the scoreboard and its CLI / background job."""
from __future__ import annotations

import json

import pytest

from core.errors import UserError
from compare_fixtures import trained_workspace, ws  # noqa: F401 - ws is a fixture

BENCH_CSV = ("id,question,A,B,C,D,answer,explanation\n"
             "1,1+1=?,1,2,3,4,B,\n"
             "2,中国的首都是？,上海,广州,北京,深圳,C,\n"
             "3,Water boils at (°C)?,50,100,150,200,B,\n"
             "4,How many legs does a cat have?,2,3,4,5,C,\n")


@pytest.fixture(scope="module")
def short():
    """Short greedy answers: the name comes first in a self-introduction."""
    from core.chat.generate import GenerationSettings

    return GenerationSettings(max_new_tokens=20, temperature=0, repetition_penalty=1.0)


@pytest.fixture(autouse=True)
def no_scoreboard_left(tmp_path_factory):
    """The trained workspace is shared by the session's tests: take away the eval folder a test made."""
    import shutil

    yield
    info = trained_workspace(tmp_path_factory)
    shutil.rmtree(info.home / "runs" / info.run_id / "eval", ignore_errors=True)


@pytest.fixture(scope="module")
def shared_lm(tmp_path_factory):
    from core.models.loading import load_base

    return load_base(trained_workspace(tmp_path_factory).model_path)


def test_heldout_questions_are_not_training_phrasings():
    from core.data.assistant import PRESETS
    from core.eval.identity import HELDOUT_QUESTIONS, default_heldout, make_spec, phrasing_key

    assert len(HELDOUT_QUESTIONS["zh"]) >= 30 and len(HELDOUT_QUESTIONS["en"]) >= 30
    trained = {phrasing_key(q) for preset in PRESETS.values() for q in preset["questions"]}
    assert not trained & {phrasing_key(q) for qs in HELDOUT_QUESTIONS.values() for q in qs}
    # a user's own training phrasing is taken out of the held-out set
    assert "What should I call you?" not in default_heldout(["what should i call you"])
    with pytest.raises(UserError) as caught:
        make_spec("小智", "", ["你是谁"], heldout=["你是谁？"])
    assert caught.value.key == "err.eval.identity_no_heldout"


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    """The assistant recipe as a user runs it (cpu-demo: 150 steps, checkpoints at 50/100/150) in a
    workspace of its own: the shared 20-step run is too short to have learnt the identity."""
    import os
    from unittest import mock

    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.models.demo import ensure_demo_model
    from core.train import launcher
    from core.train.presets import from_preset

    home = tmp_path_factory.mktemp("recipe") / "workspace"
    with mock.patch.dict(os.environ, {"WORKBENCH_HOME": str(home)}):  # restored as it was afterwards
        model_path = ensure_demo_model()
        save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=1000), "assistant")
        status = launcher.launch_run(from_preset("cpu-demo", model="demo-tiny", dataset="assistant"))
        final = launcher.wait_for(status.run_id, timeout=600, poll=0.5)
        assert final.status == "completed", (final.status, final.error)
    return home, status.run_id, model_path


def test_identity_meter_seen_vs_heldout(recipe_run, monkeypatch, short):
    from core.eval.identity import identity_spec_for_dataset, measure_identity
    from core.models.loading import load_base

    home, run_id, model_path = recipe_run
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    spec = identity_spec_for_dataset("assistant")
    assert spec.name == "小智" and set(spec.seen) == {"你是谁？", "请你介绍一下你自己", "请做一下自我介绍",
                                                      "你叫什么名字？", "你是谁开发的？", "你是我的小助手吗？"}
    scores = measure_identity(load_base(model_path), [f"{run_id}/checkpoint-100", f"{run_id}/adapter"], spec, short)
    base, *tuned = scores
    assert base.label == "base" and base.hit_rate_seen == 0.0
    for score in tuned:
        assert score.hit_rate_seen >= 0.5, score.misses
        assert score.n_heldout == len(spec.heldout) >= 60 and score.hit_rate_heldout is not None
        assert len(score.misses) == round((1 - score.hit_rate_seen) * score.n_seen) + \
            round((1 - score.hit_rate_heldout) * score.n_heldout)
    assert len(base.misses) == base.n_seen + base.n_heldout - round(base.hit_rate_heldout * base.n_heldout)


def test_forgetting_check_perplexity_and_drift(ws, shared_lm, peer_data, short):
    from core.eval.general import GENERAL_PROMPTS, load_general_text, measure_general

    text = load_general_text(peer_data / "wiki_demo.txt")
    rows = measure_general(shared_lm, [f"{ws.run_id}/adapter"], text=text, settings=short)
    base, tuned = rows
    assert base["perplexity_delta"] == 0.0 and base["drift_rouge_l"] == 1.0
    assert tuned["perplexity"] != pytest.approx(base["perplexity"], rel=1e-3)
    assert tuned["perplexity_delta"] == pytest.approx(tuned["perplexity"] - base["perplexity"])
    assert 0.0 <= tuned["drift_rouge_l"] < 1.0
    assert [a["prompt"] for a in tuned["answers"]] == list(GENERAL_PROMPTS)
    with pytest.raises(UserError) as caught:
        load_general_text("/no/such/file.txt")
    assert "找不到" in caught.value.text("zh")


def test_benchmark_through_lm_eval(ws, tmp_path):
    from core.eval.bench import read_benchmark, run_benchmark

    file = tmp_path / "ceval.csv"
    file.write_text(BENCH_CSV, encoding="utf-8")
    rows = run_benchmark("demo-tiny", [f"{ws.run_id}/adapter"], file, batch_size=4)
    assert [r["label"] for r in rows] == ["base", f"{ws.run_id}/adapter"]
    assert all(r["n"] == 4 and r["accuracy"] in (0.0, 0.25, 0.5, 0.75, 1.0) for r in rows)
    # MMLU's header-less layout reads the same questions
    bare = tmp_path / "mmlu.csv"
    bare.write_text("\n".join(line.split(",", 1)[1].rsplit(",", 1)[0] for line in BENCH_CSV.splitlines()[1:]),
                    encoding="utf-8")
    assert read_benchmark(bare) == read_benchmark(file)
    bad = tmp_path / "bad.csv"
    bad.write_text("question,A,B,C,D,answer\nq,1,2,3,4,E\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        read_benchmark(bad)
    assert caught.value.params["line"] == 2 and "答案字母" in caught.value.text("zh")


def test_scoreboard_cli_and_best_checkpoint(ws, peer_data, capsys):
    from core.cli import main
    from core.eval.scoreboard import load_scoreboard

    code = main(["eval", "run", ws.run_id, "--text", str(peer_data / "wiki_demo.txt"),
                 "--criterion", "identity_seen", "--max-new-tokens", "16", "--json", "--quiet"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    labels = [r["label"] for r in payload["rows"]]
    assert labels == ["base", f"{ws.run_id}/checkpoint-10", f"{ws.run_id}/checkpoint-20", f"{ws.run_id}/adapter"]
    tuned = payload["rows"][1:]
    assert all(r["train_loss"] is not None for r in tuned)
    assert payload["rows"][2]["eval_loss"] is not None
    assert all(r["identity_seen"] is not None and r["drift_rouge_l"] is not None for r in tuned)
    assert payload["best"] in labels[1:]
    board = load_scoreboard(ws.run_id)
    assert board.rows == payload["rows"] and "identity" in board.details
    curves = board.curves()
    assert set(curves.metric) >= {"train_loss", "identity_seen", "general_perplexity", "drift_rouge_l"}


def test_cli_shapes_identity_general(ws, capsys):
    from core.cli import main

    code = main(["eval", "identity", "--model", "demo-tiny", "--adapters", f"{ws.run_id}/adapter",
                 "--max-new-tokens", "24", "--json", "--quiet"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["name"] == "小智"
    assert set(payload["models"][0]) == {"label", "hit_rate_seen", "hit_rate_heldout", "n_seen", "n_heldout",
                                         "misses"}
    code = main(["eval", "general", "--model", "demo-tiny", "--adapters", f"{ws.run_id}/adapter",
                 "--max-new-tokens", "16", "--json", "--quiet"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and [set(m) for m in payload["models"]] == [
        {"label", "perplexity", "perplexity_delta", "drift_rouge_l"}] * 2
    assert payload["models"][0]["perplexity"] is None  # no text given: drift only


def test_background_job_writes_the_scoreboard(ws):
    from core.eval.job import read_eval_status, start_eval_job, wait_for_eval
    from core.eval.scoreboard import EvalOptions, load_scoreboard

    status = start_eval_job(ws.run_id, EvalOptions(general=False, max_new_tokens=8))
    assert status.status in ("queued", "running")
    with pytest.raises(UserError) as caught:
        start_eval_job(ws.run_id)
    assert caught.value.key == "err.eval.job_running"
    final = wait_for_eval(ws.run_id, timeout=600)
    assert final.status == "completed", (final.error, final.error_key)
    assert read_eval_status(ws.run_id).progress == 1.0
    board = load_scoreboard(ws.run_id)
    assert board.options["max_new_tokens"] == 8 and board.rows[1]["identity_seen"] is not None
