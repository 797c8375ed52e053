"""Run folders: the contract between the training worker (writer) and the UI/CLI (readers).

    runs/<run_id>/config.json     TrainConfig, resolved (model and dataset as paths too)
    runs/<run_id>/status.json     RunStatus, written atomically by the worker
    runs/<run_id>/metrics.jsonl   one JSON object per logging event
    runs/<run_id>/samples.jsonl   probe-prompt answers at given steps
    runs/<run_id>/train.log       the worker's stdout + stderr
    runs/<run_id>/pid, job.lock   the worker's "PID START_TIME" and its lifelong lock (core/jobs)
    runs/<run_id>/STOP            present = a stop was requested (written by the UI/CLI)
    runs/<run_id>/checkpoint-<N>/ PEFT adapters written by the trainer (+ optimizer/scheduler state);
                                  listed only once the worker wrote its COMPLETE marker last
    runs/<run_id>/adapter/        the final adapter
    runs/<run_id>/tensorboard/    TensorBoard event files

A run is a job (core/jobs): the worker holds the folder's lock for its whole life, readers
never write, and a live run whose worker process is gone reads as failed (reason from the log
tail) — reconciled in memory by ``core.jobs.reconcile``. File names are constants here; both
sides import them. A status.json of the wrong shape reads as an "unreadable" run with the
reason; the run id is always the folder's name.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from core import jobs, workspace
from core.errors import UserError
from core.i18n import Msg

CONFIG_FILE = "config.json"
STATUS_FILE = jobs.STATUS_FILE
METRICS_FILE = "metrics.jsonl"
SAMPLES_FILE = "samples.jsonl"
LOG_FILE = "train.log"
STOP_FILE = "STOP"
FINAL_ADAPTER = "adapter"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
# A checkpoint counts only once it is completely written: the trainer writes trainer_state.json
# after the weights and optimizer state, and the worker's on_save callback then adds COMPLETE.
# Rotation removes COMPLETE first, so a half-deleted checkpoint is never listed either.
CHECKPOINT_COMPLETE = ("adapter_config.json", "trainer_state.json")
CHECKPOINT_MARKER = "COMPLETE"
OPTIMIZER_FILE = "optimizer.pt"
SCHEDULER_FILE = "scheduler.pt"
TENSORBOARD_DIR = "tensorboard"

STATES = jobs.STATES
LIVE_STATES = jobs.LIVE_STATES


@dataclass(kw_only=True)
class RunStatus(jobs.JobStatus):
    ID_FIELD: ClassVar[str] = "run_id"
    LOG_FILE: ClassVar[str] = LOG_FILE

    run_id: str
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    model: str = ""
    dataset: str = ""
    devices: list[str] = field(default_factory=lambda: ["0"])  # queue resources (GPU ids; "0" = default)
    processes: int = 1
    parent: str | None = None  # "RUN/checkpoint-N" this run resumed from
    start_step: int = 0  # the step training (re)started at; ETA counts from here
    train_started: float | None = None
    queue_reason: str | None = None  # why a queued run is still waiting (English; the CLI prints it)
    queue_wait: dict | None = None   # the same as {"run", "why", "devices"} (core.train.queue.queue_reason)
    last_step_at: float | None = None  # when the last training step finished (core/train/watchdog.py)

    def eta_seconds(self) -> float | None:
        """Remaining time from the average step time so far."""
        begun = self.train_started or self.started
        done = self.step - self.start_step
        if self.status != "running" or not begun or done <= 0 or self.total_steps <= 0:
            return None
        per_step = (time.time() - begun) / done
        return max(0.0, per_step * (self.total_steps - self.step))

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps > 0 else 0.0


@dataclass
class MetricRow:
    """The types a metrics.jsonl line must have (other keys pass); a line that differs is skipped."""
    step: int = 0
    epoch: float = 0.0
    time: float = 0.0
    loss: float | None = None
    lr: float | None = None
    grad_norm: float | None = None
    eval_loss: float | None = None
    tokens_per_s: float | None = None
    num_tokens: float | None = None
    gpu_mem: float | None = None


@dataclass
class SampleRow:
    """The types a samples.jsonl line must have; a line that differs is skipped."""
    step: int = 0
    prompt: str = ""
    answer: str = ""
    time: float = 0.0


def run_dir(run_id: str) -> Path:
    return workspace.runs_dir() / workspace.check_name(run_id, "run id")


def new_run_id(name: str = "") -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^\w\-]+", "-", name.strip()).strip("-")[:40]
    return jobs.free_id(workspace.runs_dir(), f"{stamp}-{slug}" if slug else stamp)


def write_status(status: RunStatus) -> None:
    """Atomic; raises FileNotFoundError rather than re-creating a deleted run folder."""
    jobs.write_status(run_dir(status.run_id), status)


def _vanished(status: RunStatus, tail: str, returncode: int | None) -> RunStatus:
    """The verdict on a live run whose worker is gone: stopped if it said so, else failed with why."""
    from core.train.failures import explain

    if status.status == "stopping" and returncode in (None, 0) and "worker finished: stopped" in tail:
        return replace(status, status="stopped")
    reason, hint = explain(tail, returncode)
    if reason == "training error":
        reason, hint = jobs.explain_exit(tail, returncode)
    return replace(status, status="failed", error=status.error or f"{reason}: the training process ended without "
                   "reporting.", hint=status.hint or hint)


def read_status(run_id: str, reconcile: bool = True) -> RunStatus:
    """The run's status; never raises for the folder's content ("unreadable" with the reason).
    With ``reconcile``, a live state whose process is gone reads as failed (in memory: nothing is written)."""
    folder = run_dir(run_id)
    if not folder.is_dir():
        raise UserError("err.train.unknown_run", run_id=run_id, hint="err.train.unknown_run.hint")
    status = jobs.read_status(folder, RunStatus)
    return jobs.reconcile(folder, status, _vanished) if reconcile else status


def list_run_ids() -> list[str]:
    root = workspace.runs_dir()
    ids = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
           and workspace.is_safe_name(p.name) and (p / STATUS_FILE).exists()]
    return sorted(ids, reverse=True)


def list_runs() -> list[RunStatus]:
    """Every run, newest first; a run whose folder vanished meanwhile is left out."""
    found = []
    for run_id in list_run_ids():
        try:
            found.append(read_status(run_id))
        except UserError:
            continue
    return found


LIVE_ORDER = {"running": 0, "stopping": 1, "queued": 2}  # which live run a page shows first


def live_first(statuses: dict[str, RunStatus]) -> list[str]:
    """Run ids with the live runs first (running, stopping, queued), the others after, newest first."""
    newest_first = sorted(statuses, reverse=True)
    return sorted(newest_first, key=lambda r: LIVE_ORDER.get(statuses[r].status, len(LIVE_ORDER)))


def run_name(run_id: str) -> str:
    """The name a person gave (or was given) the run; the folder id when there is none."""
    return read_config(run_id).get("run_name") or run_id


def next_run_name(base: str) -> str:
    """``base-N`` with the first N no earlier run is called (``demo-tiny-assistant-3``)."""
    slug = re.sub(r"[^\w\-]+", "-", base.strip()).strip("-")[:60] or "run"
    taken = {read_config(r).get("run_name") for r in list_run_ids()}
    n = 1
    while f"{slug}-{n}" in taken:
        n += 1
    return f"{slug}-{n}"


def read_config(run_id: str) -> dict:
    """config.json as a dict ({} when missing or not a JSON object)."""
    data = workspace.read_json(run_dir(run_id) / CONFIG_FILE, {})
    return data if isinstance(data, dict) else {}


def checkpoint_complete(path: Path) -> bool:
    """Fully written: the worker's COMPLETE marker (written after the trainer finished the folder),
    adapter files and a parseable trainer state. Rotation removes the marker first."""
    path = Path(path)
    if not (path / CHECKPOINT_MARKER).is_file():
        return False
    if not all((path / name).is_file() for name in CHECKPOINT_COMPLETE) or not any(path.glob("adapter_model.*")):
        return False
    return isinstance(workspace.read_json(path / "trainer_state.json"), dict)


def mark_checkpoint_complete(path: Path) -> None:
    jobs.write_text_in(Path(path), CHECKPOINT_MARKER, f"{time.time()}\n")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_checkpoint(path: Path) -> None:
    """Delete a checkpoint so that no moment shows it listed but incomplete: the COMPLETE marker
    goes first (and reaches the disk), then the rest."""
    path = Path(path)
    (path / CHECKPOINT_MARKER).unlink(missing_ok=True)
    _fsync_dir(path)
    shutil.rmtree(path, ignore_errors=True)


def rotate_checkpoints(folder: Path, keep: int) -> list[str]:
    """Keep the newest ``keep`` complete checkpoints of a run folder; returns the names removed."""
    folder = Path(folder)
    complete = sorted((int(m.group(1)), child) for child in folder.iterdir()
                      if (m := CHECKPOINT_RE.match(child.name)) and child.is_dir() and checkpoint_complete(child))
    removed = []
    for _, child in complete[:max(0, len(complete) - max(1, keep))]:
        remove_checkpoint(child)
        removed.append(child.name)
    return removed


def resume_problem(path: Path) -> str | None:
    """Why a checkpoint cannot be resumed (no optimizer or scheduler state), or None. A DeepSpeed
    checkpoint keeps its optimizer state as per-rank shards under global_step*/."""
    path = Path(path)
    has_optimizer = (path / OPTIMIZER_FILE).is_file() or any(path.glob("global_step*/*optim_states.pt"))
    if not has_optimizer:
        return "optimizer"
    if not (path / SCHEDULER_FILE).is_file():
        return "scheduler"
    return None


def list_checkpoints(run_id: str) -> list[str]:
    """``checkpoint-N`` folders that are completely written (COMPLETE marker), by step."""
    folder = run_dir(run_id)
    found = []
    for child in folder.iterdir() if folder.is_dir() else []:
        match = CHECKPOINT_RE.match(child.name)
        if match and child.is_dir() and checkpoint_complete(child):
            found.append((int(match.group(1)), child.name))
    return [name for _, name in sorted(found)]


def has_final_adapter(run_id: str) -> bool:
    path = run_dir(run_id) / FINAL_ADAPTER
    return (path / "adapter_config.json").is_file() and any(path.glob("adapter_model.*"))


@dataclass
class AdapterRef:
    run_id: str
    name: str  # "checkpoint-N" or "adapter"
    path: str
    step: int | None
    base_model: str

    @property
    def label(self) -> str:
        return f"{self.run_id}/{self.name}"


def list_adapters(run_ids: list[str] | None = None) -> list[AdapterRef]:
    """Every complete checkpoint and final adapter of every run (newest run first)."""
    refs: list[AdapterRef] = []
    for run_id in run_ids or list_run_ids():
        config = read_config(run_id)
        base = config.get("model_path") or config.get("model", "")
        total = jobs.read_status(run_dir(run_id), RunStatus).step
        if has_final_adapter(run_id):
            refs.append(AdapterRef(run_id, FINAL_ADAPTER, str(run_dir(run_id) / FINAL_ADAPTER), total, base))
        for name in reversed(list_checkpoints(run_id)):
            step = int(CHECKPOINT_RE.match(name).group(1))
            refs.append(AdapterRef(run_id, name, str(run_dir(run_id) / name), step, base))
    return refs


@dataclass
class RunCheckpoints:
    """One run's adapters for pickers and the scoreboard: checkpoints by step, the final adapter last."""

    run_id: str
    base_model: str
    adapters: list[AdapterRef]


def checkpoints_by_run(run_ids: list[str] | None = None) -> list[RunCheckpoints]:
    """Every checkpoint of every run (or of ``run_ids``), grouped by run, newest run first."""
    groups: dict[str, RunCheckpoints] = {}
    for ref in list_adapters(run_ids):
        groups.setdefault(ref.run_id, RunCheckpoints(ref.run_id, ref.base_model, [])).adapters.append(ref)
    for group in groups.values():
        group.adapters.sort(key=lambda r: (r.name == FINAL_ADAPTER, r.step or 0))
    return list(groups.values())


def resolve_adapter(spec: str) -> Path:
    """``RUN`` (final adapter, else the latest checkpoint), ``RUN/checkpoint-N``, ``RUN/adapter`` or a folder."""
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "adapter_config.json").is_file():
        return path.resolve()
    run_id, _, sub = spec.partition("/")
    if not workspace.is_safe_name(run_id) or not (workspace.runs_dir() / run_id).is_dir():
        raise UserError("err.train.unknown_run", run_id=run_id, hint="err.train.unknown_run.hint")
    if not sub:
        if has_final_adapter(run_id):
            return run_dir(run_id) / FINAL_ADAPTER
        checkpoints = list_checkpoints(run_id)
        if not checkpoints:
            raise UserError("err.train.no_adapter", run_id=run_id)
        return run_dir(run_id) / checkpoints[-1]
    if sub == FINAL_ADAPTER and has_final_adapter(run_id):
        return run_dir(run_id) / FINAL_ADAPTER
    if sub in list_checkpoints(run_id):
        return run_dir(run_id) / sub
    available = ", ".join(list_checkpoints(run_id) + ([FINAL_ADAPTER] if has_final_adapter(run_id) else []))
    raise UserError("err.train.no_checkpoint_named", run_id=run_id, sub=sub,
                    hint="err.train.available", available=available or Msg("err.train.none"))


def read_metrics(run_id: str) -> list[dict]:
    """metrics.jsonl rows; a line of the wrong shape (``null``, ``"loss": "x"``) is skipped."""
    return jobs.read_jsonl_objects(run_dir(run_id) / METRICS_FILE, MetricRow)


def read_samples(run_id: str) -> list[dict]:
    """samples.jsonl rows; a line of the wrong shape is skipped."""
    return jobs.read_jsonl_objects(run_dir(run_id) / SAMPLES_FILE, SampleRow)


def log_tail(run_id: str, lines: int = 40) -> str:
    return jobs.log_tail(run_dir(run_id) / LOG_FILE, lines)


# Library noise in a worker's log: Python/DeepSpeed warnings, tqdm bars, optional-kernel notices.
_LIBRARY_LINE = re.compile(r"Warning\b|\[WARNING\]|^\s*warnings\.warn\(|\d+%\|.*\||^Failed to load |"
                           r"^\s*\{'(loss|eval_loss|train_runtime)'")


def split_log_tail(run_id: str, lines: int = 40) -> tuple[str, str]:
    """(the worker's own lines, the library warnings/progress bars) of the log tail.

    A line indented under a library line (a warning's source line) goes with it; everything
    else — the worker's messages, errors, tracebacks — is the worker's own."""
    own: list[str] = []
    library: list[str] = []
    previous_library = False
    for line in log_tail(run_id, lines).splitlines():
        if not line.strip():
            continue
        folded = bool(_LIBRARY_LINE.search(line)) or (previous_library and line[:1].isspace())
        (library if folded else own).append(line)
        previous_library = folded
    return "\n".join(own), "\n".join(library)
