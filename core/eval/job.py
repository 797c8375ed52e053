"""Evaluate every checkpoint of a run as a background job that survives the UI (a core/jobs job).

The job folder is ``runs/<id>/eval/``: the core/jobs contract (``status.json`` written by the job,
``pid``, ``job.lock`` held for the job's life, the log ``eval.log``) plus ``request.json`` (the
EvalOptions) and, when done, ``scoreboard.json`` (core.eval.scoreboard). Progress and errors are
kept as message keys with parameters, so a page shows them in its language.

    start_eval_job("RUN", EvalOptions(text_path="wiki_demo.txt"))
    read_eval_status("RUN")    # EvalStatus(status="running", fraction=0.4, message_key=...)
    python -m core.eval.job RUN_FOLDER/eval     # what the job runs
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from core import jobs, workspace
from core.errors import UserError
from core.eval.scoreboard import EVAL_DIR, EvalOptions, build_scoreboard
from core.i18n import Msg

REQUEST_FILE = "request.json"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(kw_only=True)
class EvalStatus(jobs.JobStatus):
    """status.json of an evaluation; ``error`` / ``hint`` stay English, ``error_key`` renders per language."""

    ID_FIELD: ClassVar[str] = "eval_id"
    LOG_FILE: ClassVar[str] = "eval.log"
    eval_id: str = ""  # the folder's name ("eval"); the run is the folder above
    run_id: str = ""
    fraction: float = 0.0
    message_key: str = ""
    message_params: dict = field(default_factory=dict)
    error_key: str = ""
    error_params: dict = field(default_factory=dict)
    seconds: float | None = None

    @property
    def progress(self) -> float:
        return self.fraction

    def message(self) -> Msg | None:
        return Msg(self.message_key, **self.message_params) if self.message_key else None

    def error_message(self) -> Msg | None:
        """The failure as a Msg in the reader's language (None when none)."""
        if self.error_key:
            return Msg(self.error_key, **self.error_params)
        if self.error:  # the reconciler's verdict on a vanished process (English)
            return Msg("err.eval.job_failed", error=f"{self.error} {self.hint or ''}".strip())
        return None


def eval_dir(run_id: str) -> Path:
    from core.train.runs import run_dir

    return run_dir(run_id) / EVAL_DIR


def read_eval_status(run_id: str) -> EvalStatus | None:
    """The evaluation's status, reconciled (a live one whose process is gone is failed); None if never started."""
    folder = eval_dir(run_id)
    if not (folder / jobs.STATUS_FILE).exists():
        return None
    return jobs.reconcile(folder, jobs.read_status(folder, EvalStatus))


def log_tail(run_id: str, lines: int = 20) -> str:
    return jobs.log_tail(eval_dir(run_id) / EvalStatus.LOG_FILE, lines)


def start_eval_job(run_id: str, options: EvalOptions | None = None) -> EvalStatus:
    """Write the request and start ``python -m core.eval.job FOLDER``; returns the status."""
    from core.train.runs import list_adapters

    if not list_adapters([run_id]):
        raise UserError("err.eval.no_checkpoints", field="run", hint="err.eval.no_checkpoints.hint", run=run_id)
    current = read_eval_status(run_id)
    if current is not None and current.live:
        raise UserError("err.eval.job_running", field="run", hint="err.eval.job_running.hint", run=run_id)
    folder = eval_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    workspace.atomic_write_json(folder / REQUEST_FILE, (options or EvalOptions()).to_dict())
    (folder / jobs.PID_FILE).unlink(missing_ok=True)
    jobs.write_status(folder, EvalStatus(eval_id=folder.name, run_id=run_id))
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])),
           "WORKBENCH_HOME": str(workspace.home()), "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
    jobs.launch(folder, [sys.executable, "-m", "core.eval.job", str(folder)], log_name=EvalStatus.LOG_FILE,
                env=env, cwd=PROJECT_ROOT)
    return read_eval_status(run_id)


def start_if_requested(run_id: str) -> EvalStatus | None:
    """Start the evaluation of a completed run whose config asks for it ("evaluate every checkpoint
    when done"); a problem is printed to the run's log, never fails the run."""
    from core.train.runs import read_config

    if not read_config(run_id).get("evaluate_when_done"):
        return None
    try:
        status = start_eval_job(run_id)
    except UserError as err:
        print(f"evaluation not started: {err}", flush=True)
        return None
    print(f"evaluation started: {eval_dir(run_id) / EvalStatus.LOG_FILE}", flush=True)
    return status


def wait_for_eval(run_id: str, timeout: float = 600, poll: float = 0.5) -> EvalStatus | None:
    """Block until the evaluation is no longer live (tests and the CLI's --wait)."""
    deadline = time.time() + timeout
    status = read_eval_status(run_id)
    while time.time() < deadline and status is not None and status.live:
        time.sleep(poll)
        status = read_eval_status(run_id)
    return status


def run_job(folder: Path) -> int:
    """The job itself: hold the folder's lock, measure, write progress; 0 when the board was written."""
    folder = Path(folder).resolve()
    try:
        jobs.hold_lock(folder)
    except jobs.JobBusy as busy:
        print(busy, file=sys.stderr)
        return 3
    status = jobs.read_status(folder, EvalStatus)
    run_id = folder.parent.name
    status.status, status.run_id, status.started = "running", run_id, time.time()
    status.pid, status.pid_started = os.getpid(), jobs.process_started(os.getpid())
    jobs.write_status(folder, status)
    options = EvalOptions.from_dict(workspace.read_json(folder / REQUEST_FILE, {}))

    def progress(fraction: float, message: Msg) -> None:
        status.fraction, status.message_key, status.message_params = fraction, message.key, message.params
        jobs.write_status(folder, status)
        print(f"[{fraction * 100:5.1f}%] {message}", flush=True)

    try:
        board = build_scoreboard(run_id, options, progress=progress)
    except UserError as err:
        status.status, status.finished, status.error = "failed", time.time(), str(err)
        status.error_key, status.error_params = err.key, {k: str(v) for k, v in err.params.items()}
        jobs.write_status(folder, status)
        print(f"error: {err}", flush=True)
        return 2
    except Exception as err:  # noqa: BLE001 - the job reports every failure in its status
        status.status, status.finished = "failed", time.time()
        status.error = f"{type(err).__name__}: {err}"[:2000]
        status.error_key, status.error_params = "err.eval.job_failed", {"error": status.error}
        jobs.write_status(folder, status)
        raise
    status.status, status.finished, status.fraction, status.seconds = "completed", time.time(), 1.0, board.seconds
    jobs.write_status(folder, status)
    return 0


if __name__ == "__main__":
    sys.exit(run_job(Path(sys.argv[1])))
