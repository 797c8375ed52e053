"""AppTest of the Monitor page on hand-written run folders: curves for every metric, several runs
overlaid, EMA smoothing, probe answers step by step, the config diff, and a live run's refresh."""
from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
from streamlit.testing.v1 import AppTest

from core import workspace
from core.train import metrics, runs
from core.train.config import TrainConfig

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "3_Monitor.py")


def _run(home, run_id, status="completed", lr=2e-4, n=20, live_pid=None):
    folder = home / "runs" / run_id
    folder.mkdir(parents=True)
    workspace.atomic_write_json(folder / runs.CONFIG_FILE, TrainConfig(model="demo-tiny", dataset="a",
                                                                       learning_rate=lr).to_dict())
    s = runs.RunStatus(run_id=run_id, status=status, step=n, total_steps=n, pid=live_pid,
                       pid_started=psutil.Process(live_pid).create_time() if live_pid else None)
    runs.write_status(s)
    rows = [{"step": i, "loss": 6.0 / i, "lr": lr, "grad_norm": 1.0 / i, "tokens_per_s": 900.0 + i,
             "gpu_mem": 2**30, "time": i} for i in range(1, n + 1)]
    rows.append({"step": n, "eval_loss": 0.5})
    workspace.atomic_write_jsonl(folder / runs.METRICS_FILE, rows)
    workspace.atomic_write_jsonl(folder / runs.SAMPLES_FILE, [
        {"step": 0, "prompt": "你是谁？", "answer": "乱码"}, {"step": n, "prompt": "你是谁？", "answer": "我是小智"}])


def test_empty_workspace(workbench_home):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception and at.info


def test_curves_overlay_probes_and_diff(workbench_home):
    _run(workbench_home, "20260101-000000-a", lr=2e-4)
    _run(workbench_home, "20260101-000001-b", lr=1e-3)
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert at.multiselect(key="monitor_runs").value == ["20260101-000001-b"]  # newest by default
    charts = at.get("plotly_chart")
    assert len(charts) == 6  # loss, eval loss, lr, grad norm, tokens/s, memory
    assert any("我是小智" in m.value for m in at.markdown)
    at.multiselect(key="monitor_runs").set_value(["20260101-000000-a", "20260101-000001-b"]).run()
    assert not at.exception
    loss = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {t.get("name") for t in loss["data"]}
    assert {"20260101-000000-a", "20260101-000001-b"} <= names
    diff = at.dataframe[-1].value
    assert list(diff["setting"]) == ["learning_rate"]
    at.slider(key="monitor_ema").set_value(0.0).run()
    assert not at.exception


def test_live_run_refreshes(workbench_home):
    _run(workbench_home, "20260101-000002-live", status="running", live_pid=os.getpid())
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert at.multiselect(key="monitor_runs").value == ["20260101-000002-live"]
    assert any("refreshing every" in c.value for c in at.caption)


def test_ema_is_debiased():
    assert metrics.ema([4.0, 4.0, 4.0], 0.9) == [4.0, 4.0, 4.0]
    assert metrics.ema([1.0, 3.0], 0.0) == [1.0, 3.0]
    smooth = metrics.ema([10.0, 0.0, 0.0, 0.0], 0.5)
    assert smooth[0] == 10.0 and smooth[1] < 10.0 and smooth == sorted(smooth, reverse=True)


def test_sweep_overlay_ranking_and_reward_curves(workbench_home):
    from core.train import sweeps

    _run(workbench_home, "20260101-000010-s1", lr=1e-4)
    _run(workbench_home, "20260101-000011-s2", lr=2e-4)
    _run(workbench_home, "20260101-000012-other", lr=3e-4)
    # the second run learnt more: lower final loss, ranked first
    folder = workbench_home / "runs" / "20260101-000011-s2"
    rows = workspace.read_jsonl(folder / runs.METRICS_FILE)
    rows.append({"step": 21, "loss": 0.01, "eval_loss": 0.2, "rewards_margins": 2.5, "rewards_accuracy": 1.0,
                 "rewards_chosen": 1.0, "rewards_rejected": -1.5})
    rows.insert(0, {"step": 1, "rewards_margins": 0.0, "rewards_accuracy": 0.5, "rewards_chosen": 0.0,
                    "rewards_rejected": 0.0})
    workspace.atomic_write_jsonl(folder / runs.METRICS_FILE, rows)
    workspace.atomic_write_json(sweeps.sweeps_dir() / "sweep-20260101-000000.json", {
        "sweep_id": "sweep-20260101-000000", "grid": {"learning_rate": [1e-4, 2e-4]}, "created": 1.0,
        "runs": [{"run_id": "20260101-000010-s1", "values": {"learning_rate": 1e-4}},
                 {"run_id": "20260101-000011-s2", "values": {"learning_rate": 2e-4}}]})
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.selectbox(key="monitor_sweep").set_value("sweep-20260101-000000").run()
    assert not at.exception
    assert at.multiselect(key="monitor_runs").value == ["20260101-000010-s1", "20260101-000011-s2"]
    ranking = next(d.value for d in at.dataframe if "run" in d.value.columns)
    assert list(ranking["run"]) == ["20260101-000011-s2", "20260101-000010-s1"]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "Reward margin (chosen − rejected)" in titles and "Reward accuracy (chosen > rejected)" in titles
    margin = json.loads(at.get("plotly_chart")[titles.index("Reward margin (chosen − rejected)")].proto.spec)
    assert {t.get("name") for t in margin["data"]} == {"20260101-000011-s2"}


def _debiased_ema(values, smoothing):
    out, last = [], 0.0
    for n, value in enumerate(values, start=1):
        last = smoothing * last + (1 - smoothing) * value
        out.append(last / (1 - smoothing ** n))
    return out


def test_plotted_smoothed_series_is_the_ema_of_the_logged_values(workbench_home):
    import pytest

    _run(workbench_home, "20260101-000000-a", n=12)
    raw_loss = [6.0 / i for i in range(1, 13)]
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    at.slider(key="monitor_ema").set_value(0.8).run()
    assert not at.exception
    loss, _, _, grad_norm = (json.loads(c.proto.spec) for c in at.get("plotly_chart")[:4])
    faint, smoothed = loss["data"]
    assert faint["y"] == pytest.approx(raw_loss) and faint["showlegend"] is False
    assert smoothed["y"] == pytest.approx(_debiased_ema(raw_loss, 0.8))
    assert smoothed["x"] == list(range(1, 13))
    assert grad_norm["data"][1]["y"] == pytest.approx(_debiased_ema([1.0 / i for i in range(1, 13)], 0.8))
    at.slider(key="monitor_ema").set_value(0.0).run()
    (only,) = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert only["y"] == pytest.approx(raw_loss)
