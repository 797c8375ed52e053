"""Start and stop training workers: the only place that starts a training process.

``launch_run`` validates the config, writes the run folder (config.json, status.json) and
starts ``python -m core.train.worker RUN_DIR`` as a separate OS process in its own session,
with stdout+stderr going to train.log (argv list, never a shell). From then on the UI only
reads the folder. ``stop_run`` asks for a graceful stop (STOP file + SIGTERM); the worker
saves a checkpoint and the adapter.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from core import workspace
from core.data import store
from core.errors import UserError
from core.models.registry import resolve_model
from core.train import runs
from core.train.config import TrainConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_children: list[subprocess.Popen] = []  # reaped on each call so finished workers leave no zombies


def reap() -> None:
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)


def active_runs() -> list[runs.RunStatus]:
    reap()
    return [s for s in runs.list_runs() if s.live]


def resolve_resume(spec: str) -> str:
    """``RUN[/checkpoint-N]`` -> a checkpoint folder holding optimizer state to resume from."""
    path = runs.resolve_adapter(spec)
    if path.name == runs.FINAL_ADAPTER:
        checkpoints = runs.list_checkpoints(path.parent.name)
        if not checkpoints:
            raise UserError(f"Run {spec!r} has no checkpoint to resume from.", field="resume_from")
        path = path.parent / checkpoints[-1]
    return str(path)


def prepare_run(config: TrainConfig) -> tuple[str, Path]:
    """Validate and write the run folder; returns (run_id, folder). Nothing is started."""
    errors = config.field_errors()
    if "dataset" not in errors and not store.exists(config.dataset):
        errors["dataset"] = f"Dataset {config.dataset!r} not found."
    if errors:
        name, message = next(iter(errors.items()))
        raise UserError(f"{name}: {message}", field=name)
    model_path = resolve_model(config.model)
    resume_checkpoint = resolve_resume(config.resume_from) if config.resume_from else ""
    run_id = runs.new_run_id(config.run_name or f"{Path(config.model).name}-{config.dataset}")
    folder = workspace.runs_dir() / run_id
    folder.mkdir(parents=True)
    resolved = replace(config, run_name=config.run_name or run_id)
    payload = resolved.to_dict() | {"model_path": str(model_path), "resume_checkpoint": resume_checkpoint,
                                    "run_id": run_id}
    workspace.atomic_write_json(folder / runs.CONFIG_FILE, payload)
    runs.write_status(runs.RunStatus(run_id=run_id, status="queued", model=config.model, dataset=config.dataset))
    return run_id, folder


def start_worker(run_id: str) -> runs.RunStatus:
    """Start the worker process for a prepared run folder."""
    folder = runs.run_dir(run_id)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    env["WORKBENCH_HOME"] = str(workspace.home())
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONUNBUFFERED"] = "1"
    config = runs.read_config(run_id)
    if config.get("gpus"):
        env["CUDA_VISIBLE_DEVICES"] = config["gpus"]
    with open(folder / runs.LOG_FILE, "ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "core.train.worker", str(folder)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=str(PROJECT_ROOT), env=env, start_new_session=True,
        )
    _children.append(child)
    status = runs.read_status(run_id, reconcile=False)
    if status.status == "queued":
        import psutil

        status.status, status.pid = "running", child.pid
        try:
            status.pid_started = psutil.Process(child.pid).create_time()
        except psutil.NoSuchProcess:
            status.pid_started = None
        status.started = status.started or time.time()
        runs.write_status(status)
    return status


def launch_run(config: TrainConfig) -> runs.RunStatus:
    """Validate, write the run folder and start its worker. One job at a time."""
    busy = active_runs()
    if busy:
        raise UserError(
            f"Run {busy[0].run_id} is still {busy[0].status}; one training job runs at a time.",
            hint="Wait for it to finish or stop it first.",
        )
    run_id, _ = prepare_run(config)
    return start_worker(run_id)


def stop_run(run_id: str) -> runs.RunStatus:
    """Ask a run to stop gracefully (it saves a checkpoint and its adapter)."""
    status = runs.read_status(run_id)
    if not status.live:
        return status
    folder = runs.run_dir(run_id)
    workspace.atomic_write_text(folder / runs.STOP_FILE, str(time.time()))
    if status.status == "queued" and not status.pid:
        status.status, status.finished = "stopped", time.time()
        runs.write_status(status)
        return status
    if runs.process_alive(status.pid, status.pid_started):
        try:
            os.kill(status.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    status.status = "stopping"
    return status


def wait_for(run_id: str, timeout: float | None = None, poll: float = 1.0) -> runs.RunStatus:
    """Block until the run is no longer live (or ``timeout`` seconds pass)."""
    deadline = None if timeout is None else time.time() + timeout
    while True:
        reap()
        status = runs.read_status(run_id)
        if not status.live or (deadline is not None and time.time() > deadline):
            return status
        time.sleep(poll)
