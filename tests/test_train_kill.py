"""`train kill` ends a live run at once (its worker gone, the run marked failed, no adapter), and a
run's ETA is computed from the steps done since it (re)started."""
from __future__ import annotations

import json
import os
import time

from core.cli import main
from core.train.runs import RunStatus


def cli_json(capsys, *args) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a killed child not yet reaped is a zombie: gone for our purpose
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_train_kill_ends_a_live_run_at_once(workbench_home, tiny_model_path, capsys):
    cli_json(capsys, "data", "assistant", "--name", "Kit", "--author", "Ann", "--n", "200", "--out", "assistant")
    run = cli_json(capsys, "train", "start", "--model", str(tiny_model_path), "--dataset", "assistant",
                   "--preset", "cpu-demo", "--max-steps", "5000", "--save-steps", "4000", "--name", "to-kill")
    deadline = time.time() + 300
    status = cli_json(capsys, "train", "status", run["run_id"])
    while status["step"] < 1 and time.time() < deadline:
        time.sleep(1)
        status = cli_json(capsys, "train", "status", run["run_id"])
    assert status["status"] == "running" and status["step"] >= 1 and pid_alive(status["pid"])
    started = time.time()
    killed = cli_json(capsys, "train", "kill", run["run_id"])
    assert time.time() - started < 15
    assert killed["status"] == "failed" and not killed["adapter"] and killed["checkpoints"] == []
    assert not pid_alive(status["pid"])
    assert cli_json(capsys, "train", "status", run["run_id"])["status"] == "failed"


def test_eta_counts_from_the_step_training_restarted_at():
    now = time.time()
    resumed = RunStatus(run_id="r", status="running", step=30, start_step=10, total_steps=110,
                        train_started=now - 40)  # 20 steps in 40 s since the resume: 2 s a step
    assert abs(resumed.eta_seconds() - 160) < 1  # 80 steps left
    assert RunStatus(run_id="r", status="running", step=10, start_step=10, total_steps=110,
                     train_started=now - 5).eta_seconds() is None  # no step done yet since the restart
    assert RunStatus(run_id="r", status="completed", step=110, total_steps=110,
                     train_started=now - 5).eta_seconds() is None
