"""Watchdog (a live run without a finished step is "stalled") and the cost meter."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from core.data.assistant import AssistantSpec, save_assistant_dataset
from core.errors import UserError
from core.train import cost, launcher, runs, watchdog
from core.train.config import TrainConfig


def _wait(predicate, timeout: float, poll: float = 0.25):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    return predicate()


@pytest.mark.slow
def test_sigstop_shows_stalled_and_sigcont_recovers(workbench_home, tiny_model_path, monkeypatch, capsys):
    from core.cli import main

    monkeypatch.setenv("WORKBENCH_STALL_MIN_SECONDS", "2")
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=64), "assistant")
    config = TrainConfig(model=str(tiny_model_path), dataset="assistant", quantization="none", lora_r=4,
                         max_length=64, batch_size=2, grad_accum=1, max_steps=100000, logging_steps=50,
                         save_steps=100000, learning_rate=1e-3, gradient_checkpointing=False)
    run_id = launcher.launch_run(config).run_id
    try:
        status = _wait(lambda: (s := runs.read_status(run_id)).step >= 3 and s, timeout=300)
        assert status and status.status == "running", runs.log_tail(run_id)
        info = watchdog.stall_info(status)
        assert not info.stalled and info.last_step_at and info.heartbeat_age is not None
        os.kill(status.pid, signal.SIGSTOP)
        stopped_at = time.time()
        stalled = _wait(lambda: (i := watchdog.stall_info(runs.read_status(run_id))).stalled and i, timeout=60)
        assert stalled, watchdog.stall_info(runs.read_status(run_id))
        assert time.time() - stopped_at <= stalled.window + 5 and stalled.since_last_step >= stalled.window
        assert runs.read_status(run_id).status == "running"  # alive: stalled is not failed
        capsys.readouterr()
        assert main(["train", "status", run_id, "--json"]) == 0
        payload = json.loads(capsys.readouterr().out)
        assert payload["stalled"] is True and payload["last_step_at"] == pytest.approx(stalled.last_step_at)
        step_before = runs.read_status(run_id).step
        os.kill(status.pid, signal.SIGCONT)
        recovered = _wait(lambda: (s := runs.read_status(run_id)).step > step_before
                          and not watchdog.stall_info(s).stalled, timeout=60)
        assert recovered
    finally:
        os.kill(runs.read_status(run_id).pid or os.getpid(), signal.SIGCONT)
        launcher.stop_run(run_id)
        final = launcher.wait_for(run_id, timeout=120, poll=0.5)
    assert final.status == "stopped" and not watchdog.stall_info(final).stalled


def test_cost_so_far_and_at_eta(workbench_home):
    now = time.time()
    status = runs.RunStatus(run_id="r", status="running", started=now - 1800, train_started=now - 1800,
                            step=50, start_step=0, total_steps=150)
    assert cost.run_cost(status, now) is None  # no price entered: nothing shown
    cost.set_price(4.0, "¥")
    money = cost.run_cost(status, now)
    assert money.currency == "¥" and money.so_far == pytest.approx(2.0, rel=1e-3)
    assert money.at_eta == pytest.approx(6.0, rel=1e-2)  # 50 of 150 steps in half an hour
    done = runs.RunStatus(run_id="r", status="completed", started=now - 7200, finished=now - 3600)
    assert cost.run_cost(done, now).so_far == pytest.approx(4.0) and cost.run_cost(done, now).at_eta == pytest.approx(4.0)
    assert cost.format_cost(1234.5, "$") == "$1,234.50"
    with pytest.raises(UserError):
        cost.set_price(3.0, "€")
    cost.set_price(0, "$")
    assert cost.price() is None


def test_queued_or_finished_runs_are_never_stalled(workbench_home, monkeypatch):
    monkeypatch.setenv("WORKBENCH_STALL_MIN_SECONDS", "1")
    (workbench_home / "runs" / "r").mkdir(parents=True)
    old = time.time() - 3600
    for state in ("queued", "completed", "failed", "stopped"):
        info = watchdog.stall_info(runs.RunStatus(run_id="r", status=state, started=old, last_step_at=old))
        assert not info.stalled
    # running but the process is gone: not "stalled" (the reconciler reports it failed instead)
    gone = runs.RunStatus(run_id="r", status="running", pid=2**22 + 7, started=old, last_step_at=old, step=3)
    assert not watchdog.stall_info(gone).stalled
