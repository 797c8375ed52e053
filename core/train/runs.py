"""Run folders: the contract between the training worker (writer) and the UI/CLI (readers).

    runs/<run_id>/config.json     TrainConfig, resolved (model and dataset as paths too)
    runs/<run_id>/status.json     RunStatus, written atomically by the worker
    runs/<run_id>/metrics.jsonl   one JSON object per logging event
    runs/<run_id>/samples.jsonl   probe-prompt answers at given steps
    runs/<run_id>/train.log       the worker's stdout + stderr
    runs/<run_id>/STOP            present = a stop was requested (written by the UI/CLI)
    runs/<run_id>/checkpoint-<N>/ PEFT adapters written by the trainer (+ optimizer/scheduler state);
                                  listed only once the worker wrote its COMPLETE marker last
    runs/<run_id>/adapter/        the final adapter
    runs/<run_id>/tensorboard/    TensorBoard event files

File names are constants here; both sides import them. A reader that finds a live run whose
worker process is gone marks it failed (with the reason read from the log tail), so a killed
job never looks alive.
"""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core import workspace
from core.errors import UserError

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
SAMPLES_FILE = "samples.jsonl"
LOG_FILE = "train.log"
STOP_FILE = "STOP"
FINAL_ADAPTER = "adapter"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
# A checkpoint counts only once it is completely written: the trainer writes trainer_state.json
# after the weights and optimizer state, and the worker's on_save callback then adds COMPLETE.
CHECKPOINT_COMPLETE = ("adapter_config.json", "trainer_state.json")
CHECKPOINT_MARKER = "COMPLETE"
TENSORBOARD_DIR = "tensorboard"

STATES = ("queued", "running", "stopping", "completed", "failed", "stopped")
LIVE_STATES = ("queued", "running", "stopping")


@dataclass
class RunStatus:
    run_id: str
    status: str = "queued"
    pid: int | None = None
    pid_started: float | None = None  # process create_time, guards against pid reuse
    step: int = 0
    total_steps: int = 0
    epoch: float = 0.0
    created: float = field(default_factory=time.time)
    started: float | None = None
    updated: float | None = None
    finished: float | None = None
    error: str | None = None
    hint: str | None = None
    model: str = ""
    dataset: str = ""
    devices: list[str] = field(default_factory=lambda: ["0"])  # queue resources (GPU ids; "0" = default)
    processes: int = 1
    parent: str | None = None  # "RUN/checkpoint-N" this run resumed from
    start_step: int = 0  # the step training (re)started at; ETA counts from here
    train_started: float | None = None
    queue_reason: str | None = None  # why a queued run is still waiting

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATES

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


def run_dir(run_id: str) -> Path:
    return workspace.runs_dir() / workspace.check_name(run_id, "run id")


def new_run_id(name: str = "") -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^\w\-]+", "-", name.strip()).strip("-")[:40]
    base = f"{stamp}-{slug}" if slug else stamp
    run_id, n = base, 1
    while (workspace.runs_dir() / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def write_status(status: RunStatus) -> None:
    status.updated = time.time()
    workspace.atomic_write_json(run_dir(status.run_id) / STATUS_FILE, status.to_dict())


def process_alive(pid: int | None, started: float | None) -> bool:
    if not pid:
        return False
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def read_status(run_id: str, reconcile: bool = True) -> RunStatus:
    """The run's status; with ``reconcile``, a live state whose process is gone becomes failed."""
    folder = run_dir(run_id)
    data = workspace.read_json(folder / STATUS_FILE)
    if data is None:
        if not folder.exists():
            raise UserError(f"Unknown run {run_id!r}.", hint="See `python -m core runs` for the list.")
        return RunStatus(run_id=run_id, status="failed", error="status.json is missing or unreadable.")
    known = {k: data[k] for k in RunStatus.__dataclass_fields__ if k in data}
    status = RunStatus(**known)
    if reconcile and status.live and status.pid and not process_alive(status.pid, status.pid_started):
        # Re-read: the worker may have finished between our read and the liveness check.
        again = workspace.read_json(folder / STATUS_FILE) or {}
        if again.get("status") in LIVE_STATES:
            mark_vanished(status)
    return status


def mark_vanished(status: RunStatus, returncode: int | None = None) -> RunStatus:
    """A live run whose worker process is gone: failed, with the reason read from the log tail."""
    from core.train.failures import explain

    tail = log_tail(status.run_id, 80)
    if status.status == "stopping" and returncode in (None, 0) and "worker finished: stopped" in tail:
        status.status = "stopped"
    else:
        reason, hint = explain(tail, returncode)
        if returncode is None and reason == "training error":
            reason = "killed"
            hint = ("The training process disappeared without reporting: killed (SIGKILL, or the out-of-memory "
                    "killer) or crashed hard. Read the log tail; lower batch size or max_length if memory ran "
                    "out, then resume from the last checkpoint.")
        status.status = "failed"
        status.error = status.error or f"{reason}: the training process ended without reporting."
        status.hint = status.hint or hint
    status.finished = time.time()
    write_status(status)
    return status


def list_run_ids() -> list[str]:
    root = workspace.runs_dir()
    ids = [p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
           and (p / STATUS_FILE).exists()]
    return sorted(ids, reverse=True)


def list_runs() -> list[RunStatus]:
    return [read_status(r) for r in list_run_ids()]


def read_config(run_id: str) -> dict:
    return workspace.read_json(run_dir(run_id) / CONFIG_FILE, {}) or {}


def checkpoint_complete(path: Path, run_live: bool = False) -> bool:
    """Fully written: adapter files and a parseable trainer state (written after the weights and
    optimizer state); while the run is live, also the worker's COMPLETE marker, written last."""
    path = Path(path)
    if run_live and not (path / CHECKPOINT_MARKER).is_file():
        return False
    if not all((path / name).is_file() for name in CHECKPOINT_COMPLETE) or not any(path.glob("adapter_model.*")):
        return False
    return workspace.read_json(path / "trainer_state.json") is not None


def mark_checkpoint_complete(path: Path) -> None:
    workspace.atomic_write_text(Path(path) / CHECKPOINT_MARKER, f"{time.time()}\n")


def list_checkpoints(run_id: str) -> list[str]:
    """``checkpoint-N`` folders that are completely written, by step."""
    folder = run_dir(run_id)
    found = []
    state = (workspace.read_json(folder / STATUS_FILE, {}) or {}).get("status")
    live = state in LIVE_STATES
    for child in folder.iterdir() if folder.exists() else []:
        match = CHECKPOINT_RE.match(child.name)
        if match and child.is_dir() and checkpoint_complete(child, live):
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
        total = (workspace.read_json(run_dir(run_id) / STATUS_FILE, {}) or {}).get("step")
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
        raise UserError(f"Unknown run {run_id!r}.", hint="See `python -m core runs` for the list.")
    if not sub:
        if has_final_adapter(run_id):
            return run_dir(run_id) / FINAL_ADAPTER
        checkpoints = list_checkpoints(run_id)
        if not checkpoints:
            raise UserError(f"Run {run_id!r} has no adapter or checkpoint yet.")
        return run_dir(run_id) / checkpoints[-1]
    if sub == FINAL_ADAPTER and has_final_adapter(run_id):
        return run_dir(run_id) / FINAL_ADAPTER
    if sub in list_checkpoints(run_id):
        return run_dir(run_id) / sub
    available = ", ".join(list_checkpoints(run_id) + ([FINAL_ADAPTER] if has_final_adapter(run_id) else []))
    raise UserError(f"Run {run_id!r} has no checkpoint {sub!r}.", hint=f"Available: {available or 'none'}.")


def read_metrics(run_id: str) -> list[dict]:
    return workspace.read_jsonl(run_dir(run_id) / METRICS_FILE)


def read_samples(run_id: str) -> list[dict]:
    return workspace.read_jsonl(run_dir(run_id) / SAMPLES_FILE)


def log_tail(run_id: str, lines: int = 40) -> str:
    path = run_dir(run_id) / LOG_FILE
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    # tqdm redraws with \r; keep the last state of each line
    cleaned = [line.split("\r")[-1] for line in text.splitlines()]
    return "\n".join(cleaned[-lines:])
