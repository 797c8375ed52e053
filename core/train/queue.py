"""The run queue, with no daemon: each queued run's own worker waits for its turn.

A launch always starts the run's worker process at once, in state ``queued``. The worker polls
``claim_turn`` until no live run holds any of the devices it needs and no run queued *earlier*
(by ``created``, then run id) for an overlapping device is still waiting; then it marks itself
``running``. The check-and-claim happens under an exclusive file lock (``runs/.queue.lock``),
so two waiting workers never start on the same device, and since the order is read from the
run folders, it survives restarts of the UI. On a CPU-only machine every run needs device "0"
(the CPU), so runs simply go one after another.

    ok, reason, status = claim_turn(run_id, os.getpid())   # in the worker, every second while queued
"""
from __future__ import annotations

import fcntl
import time
from contextlib import contextmanager

from core import workspace
from core.i18n import Msg
from core.train import runs

LOCK_FILE = ".queue.lock"
POLL_SECONDS = 1.0
STARTUP_GRACE = 30.0
WAIT_KEYS = {"running": "train.queue.behind_running", "queued before": "train.queue.behind_queued"}  # why -> text


@contextmanager
def queue_lock():
    path = workspace.runs_dir() / LOCK_FILE
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _order(status: runs.RunStatus) -> tuple[float, str]:
    return (status.created or 0.0, status.run_id)


def blocking_run(me: runs.RunStatus, others: list[runs.RunStatus]) -> tuple[runs.RunStatus, str] | None:
    """The first run that keeps ``me`` waiting and why ("running" / "queued before"), or None."""
    mine = set(me.devices or ["0"])
    now = time.time()
    for other in others:
        if other.run_id == me.run_id or not other.live or not (set(other.devices or ["0"]) & mine):
            continue
        if other.status == "queued" and not other.pid and now - (other.created or now) > STARTUP_GRACE:
            continue  # prepared but its worker never started (launcher crashed): not a real queue entry
        if other.status in ("running", "stopping"):
            return other, "running"
        if other.status == "queued" and _order(other) < _order(me):
            return other, "queued before"
    return None


def claim_turn(run_id: str, pid: int | None = None, pid_started: float | None = None
               ) -> tuple[bool, Msg | None, runs.RunStatus]:
    """If it is the run's turn, mark it running (under the lock) -> (True, None, status);
    otherwise (False, why it waits, status). Status is re-read from disk under the lock."""
    with queue_lock():
        me = runs.read_status(run_id, reconcile=False)
        if pid:
            me.pid, me.pid_started = pid, pid_started
        if me.status != "queued":  # stopped while waiting, or already claimed
            return me.status == "running", None, me
        others = [s for s in runs.list_runs() if s.run_id != run_id]
        blocker = blocking_run(me, others)
        if blocker is None:
            me.status = "running"
            me.queue_reason = me.queue_wait = None
            me.started = time.time()
            runs.write_status(me)
            return True, None, me
        other, why = blocker
        me.queue_wait = {"run": other.run_id, "why": why, "devices": ",".join(other.devices or ["0"])}
        reason = queue_reason(me)
        me.queue_reason = str(reason)
        runs.write_status(me)
        return False, reason, me


def queue_reason(status: runs.RunStatus) -> Msg | str | None:
    """Why a queued run waits, to render in the reader's language (a status written before
    ``queue_wait`` existed gives its English text as it is)."""
    wait = status.queue_wait or {}
    if wait.get("why") in WAIT_KEYS:
        return Msg(WAIT_KEYS[wait["why"]], run=wait.get("run", "?"), devices=wait.get("devices", "0"))
    return status.queue_reason


def leave_queue(run_id: str, state: str = "stopped") -> runs.RunStatus:
    """A queued run gives up its place (stop requested while waiting)."""
    with queue_lock():
        me = runs.read_status(run_id, reconcile=False)
        me.status, me.finished, me.queue_reason, me.queue_wait = state, time.time(), None, None
        runs.write_status(me)
        return me


def queue_position(run_id: str) -> int | None:
    """1-based place among queued runs (overall order), or None when not queued."""
    queued = sorted((s for s in runs.list_runs() if s.status == "queued"), key=_order)
    for i, status in enumerate(queued, 1):
        if status.run_id == run_id:
            return i
    return None
