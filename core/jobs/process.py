"""Job processes: the one launcher, the liveness test, the job's lock, the reconciler.

``launch`` is the only place a job process is started (argv list, never a shell; its own
session, so a closing page or a restarting UI never signals it; stdout+stderr appended to the
job's log; the UI's password is not in its environment). The job takes ``hold_lock`` first and
keeps it for its whole life, so a second process on the same folder exits at once. ``reconcile``
turns a live status whose process is gone into ``failed`` with the reason read from the log tail
and the exit code — in memory only: readers never write.
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, TypeVar

from core.i18n import Msg
from core.jobs.folder import LIVE_STATES, LOCK_FILE, JobStatus, log_tail, read_pid, read_status, write_pid

S = TypeVar("S", bound=JobStatus)
# Never handed to a job: the UI's password (a job needs none, and its environment is readable
# by anyone who can list its processes as that user).
SECRET_ENV = ("WORKBENCH_PASSWORD",)
DISK_FULL_NEEDLES = ("No space left on device", "[Errno 28]", "ENOSPC", "Disk quota exceeded")

_started: dict[str, subprocess.Popen] = {}  # folder -> process this Python process started
_exit_codes: dict[str, int] = {}  # folder -> exit code of a process we started and reaped
_held_locks: dict[str, int] = {}  # folder -> fd of the lock this process holds


class JobBusy(RuntimeError):
    """Another process already holds this job folder's lock (``holder``: its pid, if known)."""

    def __init__(self, folder: Path, holder: int | None):
        self.folder, self.holder = Path(folder), holder
        super().__init__(f"{folder} is already run by another process (pid {holder or '?'}); "
                         "this one exits and changes nothing.")


@dataclass(frozen=True)
class Launched:
    pid: int
    started: float | None  # the process's create time


def job_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without the secrets, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    env.update(extra or {})
    return env


def process_started(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def launch(folder: Path, argv: list[str], *, log_name: str, env: dict[str, str] | None = None,
           cwd: str | Path | None = None) -> Launched:
    """Start ``argv`` for the job in ``folder``: own session, stdin closed, stdout+stderr appended to
    ``folder/log_name``, environment ``job_env(env)``. Writes the pid file and returns at once."""
    folder = Path(folder)
    (folder / LOCK_FILE).touch()
    with open(folder / log_name, "ab") as log:
        child = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 cwd=str(cwd) if cwd else None, env=job_env(env), start_new_session=True)
    started = process_started(child.pid)
    _started[str(folder)] = child
    write_pid(folder, child.pid, started)
    return Launched(child.pid, started)


def reap() -> None:
    """Collect the processes this Python process started that have exited (no zombies), keeping
    their exit codes for ``reconcile``."""
    for key, child in list(_started.items()):
        code = child.poll()
        if code is not None:
            _exit_codes[key] = code
            del _started[key]


def exit_code(folder: Path) -> int | None:
    """The exit code of the job's process if this Python process started and reaped it."""
    reap()
    return _exit_codes.get(str(Path(folder)))


def process_alive(pid: int | None, started: float | None) -> bool:
    """Is ``pid`` running and the same process that started at ``started``? An unknown start time
    is not proof of life: the pid may belong to another process by now."""
    if not pid or started is None:
        return False
    import psutil

    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def job_process(folder: Path, status: JobStatus) -> tuple[int | None, float | None]:
    """(pid, start time) of the job: from status.json, else from the pid file."""
    if status.pid:
        return status.pid, status.pid_started
    return read_pid(folder)


def hold_lock(folder: Path) -> int:
    """Take the job folder's exclusive lock for the rest of this process's life (called first by
    the job). Raises JobBusy at once if another process holds it. Returns the lock's fd."""
    folder = Path(folder)
    if str(folder) in _held_locks:
        return _held_locks[str(folder)]
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JobBusy(folder, read_pid(folder)[0]) from None
    _held_locks[str(folder)] = fd
    return fd


def keep_lock_across_exec(folder: Path) -> None:
    """Before ``os.execv`` (e.g. becoming torchrun): the new program keeps holding the lock."""
    os.set_inheritable(_held_locks[str(Path(folder))], True)


def explain_exit_msgs(tail: str, returncode: int | None) -> tuple[Msg, Msg]:
    """(reason, what to try) for a job process that ended without reporting, to say in any language."""
    if any(needle in tail for needle in DISK_FULL_NEEDLES):
        return Msg("fail.disk_full"), Msg("fail.job.disk_full.hint")
    if returncode is not None and returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            return Msg("fail.killed"), Msg("fail.job.killed.hint")
        return Msg("fail.terminated", signal=name), Msg("fail.job.terminated.hint")
    if returncode:
        return Msg("fail.job.exited", code=returncode), Msg("fail.job.exited.hint")
    return Msg("fail.vanished"), Msg("fail.job.vanished.hint")


def explain_exit(tail: str, returncode: int | None) -> tuple[str, str]:
    """(reason, what to try) in English (status.json keeps English; core.train.failures.localize
    says it in a page's language)."""
    reason, hint = explain_exit_msgs(tail, returncode)
    return str(reason), str(hint)


def mark_failed(status: S, tail: str, returncode: int | None) -> S:
    """The default verdict on a vanished job: failed, reason from the log tail and exit code."""
    reason, hint = explain_exit(tail, returncode)
    return replace(status, status="failed", error=status.error or f"{reason}: {Msg('fail.job.no_report')}",
                   hint=status.hint or hint)


def reconcile(folder: Path, status: S,
              vanished: Callable[[S, str, int | None], S] = mark_failed) -> S:
    """``status`` as it really is: a live state whose process is gone becomes ``vanished(status,
    log tail, exit code)`` (default: failed with a reason). Nothing is written: a reader never writes,
    so a full disk or a deleted folder cannot break it."""
    if status.status not in LIVE_STATES:
        return status
    pid, started = job_process(folder, status)
    if not pid or process_alive(pid, started):
        return status  # alive, or not started yet (the starter's business)
    # The job may have written its final state between our read and the liveness test.
    again = read_status(folder, type(status))
    if again.status not in LIVE_STATES:
        return again
    tail = log_tail(Path(folder) / status.LOG_FILE, 80)
    verdict = vanished(status, tail, exit_code(folder))
    if verdict.finished is None:
        try:
            verdict.finished = (Path(folder) / status.LOG_FILE).stat().st_mtime
        except OSError:
            verdict.finished = time.time()
    return verdict


def signal_job(folder: Path, status: JobStatus, sig: int, group: bool = False) -> bool:
    """Send ``sig`` to the job's process (its whole session with ``group``) if it is alive; True if sent."""
    pid, started = job_process(folder, status)
    if not process_alive(pid, started):
        return False
    try:
        if group:
            os.killpg(os.getpgid(pid), sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True
