"""core/jobs on a kind of its own (not a training run), as the module docstring describes one:
launch, the job's lock, reading its status, and the reconciler's verdicts on a killed job and
on one that died of a full disk — without the reader writing a byte."""
from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from core import jobs

JOB = r"""
import os, sys, time
from pathlib import Path
from core import jobs
sys.path.insert(0, os.environ["TEST_DIR"])
from test_jobs import EchoStatus
folder = Path(sys.argv[1])
jobs.hold_lock(folder)
status = jobs.read_status(folder, EchoStatus)
status.status, status.pid, status.pid_started = "running", os.getpid(), jobs.process_started(os.getpid())
status.done = 1
jobs.write_status(folder, status)
print("working", flush=True)
if sys.argv[2] == "disk":
    print("OSError: [Errno 28] No space left on device: 'out.bin'", flush=True)
    sys.exit(1)
time.sleep(60)
"""


@dataclass(kw_only=True)
class EchoStatus(jobs.JobStatus):
    ID_FIELD: ClassVar[str] = "job_id"
    LOG_FILE: ClassVar[str] = "echo.log"
    job_id: str
    done: int = 0
    total: int = 4

    @property
    def progress(self) -> float:
        return self.done / self.total


def _start(tmp_path: Path, mode: str) -> Path:
    folder = tmp_path / "jobs" / f"echo-{mode}"
    folder.mkdir(parents=True)
    jobs.write_status(folder, EchoStatus(job_id="ignored"))
    root = Path(__file__).resolve().parents[1]
    jobs.launch(folder, [sys.executable, "-c", JOB, str(folder), mode], log_name=EchoStatus.LOG_FILE, cwd=root,
                env={"PYTHONPATH": str(root), "TEST_DIR": str(Path(__file__).parent)})
    return folder


def _until(predicate, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_new_kind_runs_holds_its_lock_and_is_reconciled_when_killed(tmp_path):
    folder = _start(tmp_path, "sleep")
    running = _until(lambda: (s := jobs.reconcile(folder, jobs.read_status(folder, EchoStatus))).status == "running"
                     and s)
    assert running.job_id == "echo-sleep" and running.progress == 0.25 and running.live
    assert jobs.read_pid(folder) == (running.pid, running.pid_started)
    assert __import__("json").loads((folder / jobs.STATUS_FILE).read_text())["progress"] == 0.25
    try:
        jobs.hold_lock(folder)
        raise AssertionError("the job's lock was free")
    except jobs.JobBusy as busy:
        assert busy.holder == running.pid
    assert jobs.signal_job(folder, running, signal.SIGKILL, group=True)
    failed = _until(lambda: (s := jobs.reconcile(folder, jobs.read_status(folder, EchoStatus))).status == "failed"
                    and s)
    assert failed.error.startswith("killed (SIGKILL)") and failed.hint and failed.finished
    assert jobs.read_status(folder, EchoStatus).status == "running"  # the reader wrote nothing
    assert not jobs.signal_job(folder, running, signal.SIGTERM)  # nothing left to signal


def test_a_job_that_died_of_a_full_disk_says_so(tmp_path):
    folder = _start(tmp_path, "disk")
    verdict = _until(lambda: (s := jobs.reconcile(folder, jobs.read_status(folder, EchoStatus))).status == "failed"
                     and s)
    assert verdict.error.startswith("disk full") and "Free space" in verdict.hint
    assert "No space left on device" in jobs.log_tail(folder / EchoStatus.LOG_FILE)
