"""Start and stop training workers: the only place that starts a training process.

``launch_run`` validates the config, writes the run folder (config.json, status.json) and
starts ``python -m core.train.worker RUN_DIR`` through the one job launcher (``core.jobs.launch``:
its own session, stdout+stderr to train.log, argv list, never a shell). It returns at once: the run
is ``queued`` and its worker waits for its devices (core/train/queue.py), then trains — in
itself, or, with several processes, by exec'ing torchrun (DDP) under the same pid. From then
on the UI only reads the folder. ``stop_run`` asks for a graceful stop (STOP file, plus SIGTERM
for a single process); the worker saves a checkpoint and the adapter.

    status = launch_run(from_preset("cpu-demo", model="demo-tiny", dataset="assistant"))
    wait_for(status.run_id)
"""
from __future__ import annotations

import importlib.util
import os
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path

from core import jobs, workspace
from core.data import store
from core.errors import UserError
from core.i18n import Msg
from core.models.checks import check_model_folder
from core.models.registry import model_signature, resolve_model
from core.train import runs
from core.train.config import TrainConfig

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Settings that must equal the parent's when resuming (the checkpoint's shapes and base depend on them).
RESUME_LOCKED = ("lora_r", "target_modules", "use_dora", "use_rslora")


def reap() -> None:
    """Collect workers we started that have exited (no zombies); their exit codes explain a
    live status they left behind when the run is next read."""
    jobs.reap()


def active_runs() -> list[runs.RunStatus]:
    reap()
    return [s for s in runs.list_runs() if s.live]


def resolve_resume(spec: str) -> tuple[str, str]:
    """``RUN[/checkpoint-N]`` -> (parent run id, checkpoint folder with optimizer state)."""
    spec = spec.strip().rstrip("/")
    run_id, _, sub = spec.partition("/")
    path = runs.resolve_adapter(spec)  # UserError for an unknown run or checkpoint
    if path.name == runs.FINAL_ADAPTER or not sub:
        checkpoints = runs.list_checkpoints(run_id)
        if not checkpoints:
            raise UserError("err.train.no_checkpoint", run_id=run_id, field="resume_from",
                            hint="err.train.no_checkpoint.hint")
        path = runs.run_dir(run_id) / checkpoints[-1]
    if not runs.CHECKPOINT_RE.match(path.name):
        raise UserError("err.train.not_a_checkpoint", spec=spec, field="resume_from")
    missing = runs.resume_problem(path)
    if missing:
        raise UserError("err.run.resume_state_missing", field="resume_from", checkpoint=f"{run_id}/{path.name}",
                        state=Msg(f"err.run.state.{missing}"), hint="err.run.resume_state_missing.hint")
    return run_id, str(path)


def resume_config(spec: str, **overrides) -> TrainConfig:
    """The parent run's config with ``overrides`` (e.g. more max_steps), set to resume from ``spec``."""
    parent_id = spec.strip().partition("/")[0]
    if not workspace.is_safe_name(parent_id) or not (workspace.runs_dir() / parent_id).is_dir():
        raise UserError("err.train.unknown_run", run_id=parent_id, field="resume_from",
                        hint="err.train.unknown_run.hint")
    from core.train.presets import config_from_run

    base = config_from_run(parent_id)
    clean = {k: v for k, v in overrides.items() if v is not None}
    return replace(base, **clean, resume_from=spec)


def _same_base(trained_on: Path, base: Path) -> bool:
    """Whether a run trained on ``trained_on`` can resume on ``base``: the same folder, a copy with the
    same config signature (a moved or copied workspace), or, when the old folder is gone, the same name."""
    if trained_on.exists():
        return trained_on.resolve() == base.resolve() or model_signature(trained_on) == model_signature(base)
    return trained_on.name == base.name


def check_launchable(config: TrainConfig, lang: str = "en") -> dict[str, str]:
    """field_errors() plus what only the machine knows: the dataset exists, DeepSpeed is installed."""
    return {name: msg.render(lang) for name, msg in launch_messages(config).items()}


def launch_messages(config: TrainConfig) -> dict[str, Msg]:
    """What ``check_launchable`` reports, not yet rendered in a language."""
    errors = config.field_messages()
    if "dataset" not in errors and not store.exists(config.dataset):
        errors["dataset"] = Msg("train.err.dataset_missing", name=config.dataset)
    if config.deepspeed and "deepspeed" not in errors and importlib.util.find_spec("deepspeed") is None:
        errors["deepspeed"] = Msg("train.err.deepspeed_missing")
    if "stage" not in errors and "dataset" not in errors:
        from core.train import stages

        errors.update(stages.dataset_errors(config))
    from core.train.trackers import tracker_errors

    errors.update(tracker_errors(config))
    return errors


def check_resume_layout(parent_id: str, parent: TrainConfig, config: TrainConfig) -> None:
    """The optimizer state's layout must match: DeepSpeed writes it as one shard per rank of its
    ZeRO stage, plain runs as one optimizer.pt. Another layout would fail (ZeRO-2 -> 3) or, worse,
    silently start a fresh optimizer (ZeRO -> plain), so either is refused before anything starts."""
    if parent.deepspeed != config.deepspeed:
        was, now = parent.deepspeed or "off", config.deepspeed or "off"
        raise UserError("err.train.deepspeed_differs", now=now, was=was, run_id=parent_id, field="deepspeed",
                        hint="err.train.deepspeed_differs.hint")
    if parent.deepspeed and parent.processes != config.processes:
        raise UserError("err.train.processes_differ", run_id=parent_id, was=parent.processes,
                        stage=parent.deepspeed, now=config.processes, field="num_processes",
                        hint="err.train.processes_differ.hint")


def _copy_history(parent_id: str, checkpoint: str, folder: Path) -> None:
    """Seed a resumed run's metrics/samples with the parent's up to the checkpoint: one continuous curve."""
    step = int(runs.CHECKPOINT_RE.match(Path(checkpoint).name).group(1))
    for name in (runs.METRICS_FILE, runs.SAMPLES_FILE):
        rows = [dict(r, resumed_from=parent_id) for r in workspace.read_jsonl(runs.run_dir(parent_id) / name)
                if r.get("step", 0) <= step]
        if rows:
            workspace.atomic_write_jsonl(folder / name, rows)


def prepare_run(config: TrainConfig) -> tuple[str, Path]:
    """Validate and write the run folder; returns (run_id, folder). Nothing is started."""
    errors = launch_messages(config)
    if errors:
        name, message = next(iter(errors.items()))
        raise UserError("err.train.field", name=name, problem=message, field=name)
    model_path = resolve_model(config.model)
    check_model_folder(model_path)  # a broken folder is named here, not minutes later in the worker's log
    parent_id, resume_checkpoint = ("", "")
    if config.resume_from:
        parent_id, resume_checkpoint = resolve_resume(config.resume_from)
        parent = runs.read_config(parent_id)
        if parent.get("model_path") and not _same_base(Path(parent["model_path"]), Path(model_path)):
            raise UserError("err.train.model_differs", run_id=parent_id, was=parent.get("model"), now=config.model,
                            field="model", hint="err.train.model_differs.hint")
        for key in RESUME_LOCKED:
            if key in parent and parent[key] != getattr(config, key):
                raise UserError("err.train.locked_differs", key=key, run_id=parent_id, was=parent[key],
                                field=key, hint="err.train.locked_differs.hint")
        check_resume_layout(parent_id, TrainConfig.from_dict(parent), config)
    from core.train.stages import init_adapter_path

    start_adapter = init_adapter_path(config, model_path)  # "continue from run"; UserError if it does not fit
    name = config.run_name.strip() or runs.next_run_name(f"{Path(config.model).name}-{config.dataset}")
    run_id = runs.new_run_id(name)
    folder = workspace.runs_dir() / run_id
    folder.mkdir(parents=True)
    resolved = replace(config, run_name=name)
    payload = resolved.to_dict() | {"model_path": str(model_path), "resume_checkpoint": resume_checkpoint,
                                    "run_id": run_id, "init_adapter_path": start_adapter}
    workspace.atomic_write_json(folder / runs.CONFIG_FILE, payload)
    if resume_checkpoint:
        _copy_history(parent_id, resume_checkpoint, folder)
    parent = f"{parent_id}/{Path(resume_checkpoint).name}" if resume_checkpoint else None
    runs.write_status(runs.RunStatus(run_id=run_id, status="queued", model=config.model, dataset=config.dataset,
                                     devices=config.devices, processes=config.processes, parent=parent))
    return run_id, folder


def worker_env(config: dict) -> dict:
    """The worker's environment: ours without the UI's secrets (core.jobs.job_env), plus its own settings."""
    env = jobs.job_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    env["WORKBENCH_HOME"] = str(workspace.home())
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("STREAMLIT_SERVER_PORT", None)
    if config.get("gpus"):
        env["CUDA_VISIBLE_DEVICES"] = str(config["gpus"]).replace(" ", "")
    return env


def start_worker(run_id: str) -> runs.RunStatus:
    """Start the worker process for a prepared run folder; it waits in the queue for its turn."""
    folder = runs.run_dir(run_id)
    launched = jobs.launch(folder, [sys.executable, "-m", "core.train.worker", str(folder)],
                           log_name=runs.LOG_FILE, env=worker_env(runs.read_config(run_id)), cwd=PROJECT_ROOT)
    from core.train.queue import queue_lock

    with queue_lock():  # the worker claims its turn under the same lock: never overwrite its "running"
        status = runs.read_status(run_id, reconcile=False)
        if not status.pid:
            status.pid, status.pid_started = launched.pid, launched.started
            runs.write_status(status)
    return status


def launch_run(config: TrainConfig) -> runs.RunStatus:
    """Validate, write the run folder and start its worker; returns at once (usually ``queued``)."""
    reap()
    run_id, _ = prepare_run(config)
    return start_worker(run_id)


def stop_run(run_id: str) -> runs.RunStatus:
    """Ask a run to stop gracefully (it saves a checkpoint and its adapter); a queued run just leaves the queue."""
    reap()
    status = runs.read_status(run_id)
    if not status.live:
        return status
    folder = runs.run_dir(run_id)
    workspace.atomic_write_text(folder / runs.STOP_FILE, str(time.time()))
    if status.status == "queued" and not status.pid:
        status.status, status.finished = "stopped", time.time()
        runs.write_status(status)
        return status
    # One process: SIGTERM too (handled as a stop request). Under torchrun the ranks poll the STOP
    # file together instead: torchrun answers SIGTERM by killing its workers after a timeout.
    if status.processes <= 1:
        jobs.signal_job(folder, status, signal.SIGTERM)
    if status.status == "running":
        status.status = "stopping"
    return status


def kill_run(run_id: str) -> runs.RunStatus:
    """Hard stop (SIGKILL to the worker's whole process group); the run is marked failed."""
    status = runs.read_status(run_id)
    if status.live:
        jobs.signal_job(runs.run_dir(run_id), status, signal.SIGKILL, group=True)
    deadline = time.time() + 10
    while time.time() < deadline:
        reap()
        status = runs.read_status(run_id)
        if not status.live:
            break
        time.sleep(0.2)
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
