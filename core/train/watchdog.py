"""Watchdog: is a live run still making progress? Heartbeat from the worker, "stalled" for readers.

The worker beats a heartbeat (``runs/<id>/heartbeat``, a time stamp every few seconds, from a
thread) and stamps ``last_step_at`` in status.json after every finished step. A reader calls
``stall_info(status)``: a run that is ``running`` with its process alive but has finished no
step for much longer than its usual step time — ``STALL_FACTOR`` × the mean step time, and at
least ``stall_min_seconds()`` (2 minutes; ``WORKBENCH_STALL_MIN_SECONDS`` changes it, e.g. in
tests) — is **stalled**: on a rented GPU that is money burning while the page says "running".
Before its first step a run gets ``FIRST_STEP_FACTOR`` × that minimum (loading a big model).

    info = stall_info(runs.read_status(run_id))
    info.stalled, info.since_last_step, info.heartbeat_age
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from core import workspace

HEARTBEAT_FILE = "heartbeat"
HEARTBEAT_SECONDS = 5.0
STALL_FACTOR = 5.0  # "much longer than its usual step time"
DEFAULT_STALL_MIN_SECONDS = 120.0
FIRST_STEP_FACTOR = 5.0


def stall_min_seconds() -> float:
    """The shortest silence that counts as stalled (seconds)."""
    try:
        return max(0.5, float(os.environ.get("WORKBENCH_STALL_MIN_SECONDS", DEFAULT_STALL_MIN_SECONDS)))
    except ValueError:
        return DEFAULT_STALL_MIN_SECONDS


@dataclass
class StallInfo:
    stalled: bool
    last_step_at: float | None  # when the last step finished (None: none yet)
    since_last_step: float | None  # seconds since then (or since training started, before any step)
    window: float | None  # the silence that counts as stalled for this run
    heartbeat_age: float | None  # seconds since the worker's last heartbeat (None: never beat)

    def to_dict(self) -> dict:
        return {"stalled": self.stalled, "last_step_at": self.last_step_at,
                "seconds_since_step": self.since_last_step, "stall_window": self.window,
                "heartbeat_age": self.heartbeat_age}


def start_heartbeat(folder: Path, every: float = HEARTBEAT_SECONDS) -> threading.Thread:
    """Write the heartbeat file every ``every`` seconds from a daemon thread (stops with the process)."""
    path = Path(folder) / HEARTBEAT_FILE

    def beat() -> None:
        while True:
            try:
                workspace.atomic_write_text(path, f"{time.time():.3f}")
            except OSError:
                pass  # a full disk must not kill training; the reader then sees an old beat
            time.sleep(every)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread


def heartbeat_at(folder: Path) -> float | None:
    try:
        return float((Path(folder) / HEARTBEAT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def stall_info(status, now: float | None = None) -> StallInfo:
    """Whether ``status`` (a runs.RunStatus, read with reconcile) is stalled, and the times behind it."""
    from core.train import runs

    now = time.time() if now is None else now
    beat = heartbeat_at(runs.run_dir(status.run_id))
    beat_age = None if beat is None else max(0.0, now - beat)
    last = status.last_step_at
    begun = status.train_started or status.started
    if status.status != "running" or not begun:
        return StallInfo(False, last, None if last is None else now - last, None, beat_age)
    minimum = stall_min_seconds()
    done = status.step - status.start_step
    if last is None or done <= 0:
        window = minimum * FIRST_STEP_FACTOR
        since = now - begun
    else:
        mean_step = max(0.0, (last - begun) / done)
        window = max(minimum, STALL_FACTOR * mean_step)
        since = now - last
    from core import jobs

    pid, started = jobs.job_process(runs.run_dir(status.run_id), status)
    alive = jobs.process_alive(pid, started)
    return StallInfo(alive and since > window, last, max(0.0, since), window, beat_age)
