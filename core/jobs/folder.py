"""The job folder on disk: status.json (checked field by field), the pid file, the log tail.

Everything here reads or writes files only; processes, locks and reconciling are in
``core/jobs/process.py``. A status of the wrong shape never raises: ``read_status`` returns the
status class with ``status="unreadable"`` and the reason in ``error``, and the job id is always
the folder's name, whatever the file says.

    status = read_status(folder, RunStatus)   # RunStatus(JobStatus): ID_FIELD "run_id"
    write_status(folder, status)          # atomic; never re-creates a deleted folder
"""
from __future__ import annotations

import json
import os
import tempfile
import time
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

STATUS_FILE = "status.json"
PID_FILE = "pid"
LOCK_FILE = "job.lock"

STATES = ("queued", "running", "stopping", "completed", "failed", "stopped", "unreadable")
LIVE_STATES = ("queued", "running", "stopping")
UNREADABLE = "unreadable"

T = TypeVar("T")


@dataclass(kw_only=True)
class JobStatus:
    """The fields every job kind writes to status.json. A kind subclasses it with its id field
    (named by ``ID_FIELD``), its log file name and its progress fields, and overrides ``progress`` (0..1)."""

    ID_FIELD: ClassVar[str] = "job_id"
    LOG_FILE: ClassVar[str] = "job.log"
    status: str = "queued"
    pid: int | None = None
    pid_started: float | None = None  # the process's create time: a reused pid is not this job
    created: float = field(default_factory=time.time)
    started: float | None = None
    updated: float | None = None
    finished: float | None = None
    error: str | None = None
    hint: str | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATES

    @property
    def progress(self) -> float:
        return 0.0

    def to_dict(self) -> dict:
        """The fields, plus ``progress`` (0..1) so any reader can show any kind's progress."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"progress": round(self.progress, 4)}


def _type_ok(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if origin is dict:
        return isinstance(value, dict)
    if hint is Any:
        return True
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def field_problem(cls: type, data: Any) -> str | None:
    """Why ``data`` (parsed JSON) cannot fill dataclass ``cls``: not an object, or a known field of
    the wrong type (``"pid": "abc"``); None when it can. Unknown keys are ignored."""
    if not isinstance(data, dict):
        return f"expected a JSON object, found {type(data).__name__}"
    hints = typing.get_type_hints(cls)
    for f in fields(cls):
        if f.name in data and not _type_ok(data[f.name], hints[f.name]):
            return f"field {f.name!r} has the wrong type ({json.dumps(data[f.name], ensure_ascii=False)[:40]})"
    return None


def from_dict(cls: type[T], data: dict, **fixed) -> T:
    """An instance of ``cls`` from the known keys of ``data`` (checked first with field_problem)."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names} | fixed)


def read_status(folder: Path, cls: type[T]) -> T:
    """The job's status, never raising for its content: a missing, broken or wrongly typed
    status.json gives ``status="unreadable"`` with the reason in ``error``. The id is the folder's name."""
    folder = Path(folder)
    ident = {cls.ID_FIELD: folder.name}
    try:
        data = json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return cls(**ident, status=UNREADABLE, error=f"{STATUS_FILE} is missing")
    except (OSError, ValueError) as err:
        return cls(**ident, status=UNREADABLE, error=f"{STATUS_FILE} is not valid JSON ({err})"[:300])
    problem = field_problem(cls, data)
    if problem is None and data.get("status") not in STATES:
        problem = f"unknown state {data.get('status')!r}"
    if problem is not None:
        return cls(**ident, status=UNREADABLE, error=f"{STATUS_FILE}: {problem}")
    return from_dict(cls, data, **ident)


def write_text_in(folder: Path, name: str, text: str) -> None:
    """Atomically replace ``folder/name`` (temp file + fsync + rename). Raises FileNotFoundError
    when the folder is gone, rather than re-creating a folder the user deleted."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, Path(folder) / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_status(folder: Path, status: JobStatus) -> None:
    """Written by the job itself (and by the starter before the job runs): stamped, atomic."""
    status.updated = time.time()
    write_text_in(folder, STATUS_FILE, json.dumps(status.to_dict(), ensure_ascii=False, indent=2) + "\n")


def write_pid(folder: Path, pid: int, started: float | None) -> None:
    """``pid`` holds "PID START_TIME": who runs this job, and since when (so a reused pid is not it)."""
    write_text_in(folder, PID_FILE, f"{pid} {started if started is not None else '-'}\n")


def read_pid(folder: Path) -> tuple[int | None, float | None]:
    """(pid, start time) from the pid file; (None, None) when missing or not of that shape."""
    try:
        parts = (Path(folder) / PID_FILE).read_text(encoding="ascii").split()
        pid = int(parts[0])
        started = None if parts[1] == "-" else float(parts[1])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None, None
    return (pid, started) if pid > 0 else (None, None)


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log ("" if it is missing); a tqdm-style \\r redraw keeps its last state."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    cleaned = [line.split("\r")[-1] for line in text.splitlines()]
    return "\n".join(cleaned[-lines:])


def read_jsonl_objects(path: Path, cls: type | None = None) -> list[dict]:
    """The JSON-object lines of ``path``; a line that is not an object (``null``, ``[]``, a torn last
    line) or, with ``cls``, has a known field of the wrong type, is skipped: readers never break."""
    rows: list[dict] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and (cls is None or field_problem(cls, row) is None):
                    rows.append(row)
    except OSError:
        pass
    return rows


def free_id(root: Path, base: str) -> str:
    """A job id under ``root`` not taken yet: ``base``, else ``base-2``, ``base-3``… (one rule for
    runs, downloads and servers)."""
    job_id, n = base, 1
    while (root / job_id).exists():
        n += 1
        job_id = f"{base}-{n}"
    return job_id
