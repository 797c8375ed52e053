"""Evaluate every checkpoint of a run as a background job that survives the UI.

Started the way training workers are (core.train.launcher's pattern: an argv list, its own
session, output to a log file); core/jobs is not on main yet, so this job keeps the same folder
contract inside the run: ``runs/<id>/eval/`` holds ``request.json`` (the EvalOptions),
``status.json`` (state, pid and its start time, progress, message, error; the job's own once it
runs), ``launch.json`` (the pid the launcher started), ``eval.log`` and, when done,
``scoreboard.json``. A reader reconciles a live state whose process is gone into ``failed``.
One evaluation per run at a time.

    start_eval_job("RUN", EvalOptions(text_path="wiki_demo.txt"))
    read_eval_status("RUN")    # {"state": "running", "progress": 0.4, "message": {...}, ...}
    python -m core.eval.job RUN     # what the job runs
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from core import workspace
from core.errors import UserError
from core.eval.scoreboard import EVAL_DIR, EvalOptions, build_scoreboard

REQUEST_FILE = "request.json"
STATUS_FILE = "status.json"
LAUNCH_FILE = "launch.json"  # the pid the launcher started, until the job writes its own status
LOG_FILE = "eval.log"
LIVE_STATES = ("queued", "running")
STARTING_GRACE_S = 30  # a queued job without a pid yet is being started, not dead
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def eval_dir(run_id: str) -> Path:
    from core.train.runs import run_dir

    return run_dir(run_id) / EVAL_DIR


def _write_status(run_id: str, **fields) -> dict:
    path = eval_dir(run_id) / STATUS_FILE
    status = (workspace.read_json(path, {}) or {}) | fields | {"updated": time.time()}
    workspace.atomic_write_json(path, status)
    return status


def log_tail(run_id: str, lines: int = 20) -> str:
    try:
        text = (eval_dir(run_id) / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def read_eval_status(run_id: str) -> dict | None:
    """The evaluation's status (None when never started); a live one whose process is gone is failed."""
    from core.train.runs import process_alive

    status = workspace.read_json(eval_dir(run_id) / STATUS_FILE)
    if not status:
        return None
    launched = workspace.read_json(eval_dir(run_id) / LAUNCH_FILE, {}) or {}
    pid = status.get("pid") or launched.get("pid")
    pid_started = status.get("pid_started") or launched.get("pid_started")
    starting = not pid and time.time() - status.get("created", 0) < STARTING_GRACE_S
    if status.get("state") in LIVE_STATES and not starting and not process_alive(pid, pid_started):
        again = workspace.read_json(eval_dir(run_id) / STATUS_FILE) or {}
        if again.get("state") in LIVE_STATES:
            status = _write_status(run_id, state="failed", finished=time.time(),
                                   error={"key": "err.eval.job_vanished", "params": {}},
                                   log_tail=log_tail(run_id))
    return status


def start_eval_job(run_id: str, options: EvalOptions | None = None) -> dict:
    """Write the request and start ``python -m core.eval.job RUN`` in its own session; returns the status."""
    import psutil

    from core.train.runs import list_adapters, read_config

    if not read_config(run_id):
        raise UserError("err.eval.no_checkpoints", field="run", hint="err.eval.no_checkpoints.hint", run=run_id)
    if not list_adapters([run_id]):
        raise UserError("err.eval.no_checkpoints", field="run", hint="err.eval.no_checkpoints.hint", run=run_id)
    current = read_eval_status(run_id)
    if current and current.get("state") in LIVE_STATES:
        raise UserError("err.eval.job_running", field="run", hint="err.eval.job_running.hint", run=run_id)
    folder = eval_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    workspace.atomic_write_json(folder / REQUEST_FILE, (options or EvalOptions()).to_dict())
    (folder / LAUNCH_FILE).unlink(missing_ok=True)
    workspace.atomic_write_json(folder / STATUS_FILE, {"state": "queued", "created": time.time(), "progress": 0.0})
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    env["WORKBENCH_HOME"] = str(workspace.home())
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("STREAMLIT_SERVER_PORT", None)
    with open(folder / LOG_FILE, "ab") as log:
        child = subprocess.Popen([sys.executable, "-m", "core.eval.job", run_id], cwd=str(PROJECT_ROOT), env=env,
                                 stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
    try:
        started = psutil.Process(child.pid).create_time()
    except psutil.NoSuchProcess:
        started = None
    # status.json is the job's own from here on; the launcher's knowledge goes beside it
    workspace.atomic_write_json(folder / LAUNCH_FILE, {"pid": child.pid, "pid_started": started})
    return workspace.read_json(folder / STATUS_FILE, {}) or {}


def start_if_requested(run_id: str) -> dict | None:
    """Start the evaluation of a completed run whose config asks for it ("evaluate every checkpoint
    when done"); a problem is printed to the run's log, never fails the run. Returns the status."""
    from core.train.runs import read_config

    if not read_config(run_id).get("evaluate_when_done"):
        return None
    try:
        status = start_eval_job(run_id)
    except UserError as err:
        print(f"evaluation not started: {err}", flush=True)
        return None
    print(f"evaluation started: {eval_dir(run_id) / LOG_FILE}", flush=True)
    return status


def wait_for_eval(run_id: str, timeout: float = 600, poll: float = 0.5) -> dict:
    """Block until the evaluation is no longer live (tests and the CLI's --wait)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = read_eval_status(run_id) or {}
        if status.get("state") not in LIVE_STATES:
            return status
        time.sleep(poll)
    return read_eval_status(run_id) or {}


def run_job(run_id: str) -> int:
    """The job itself: measure, writing progress to status.json; 0 when the board was written."""
    import psutil

    me = psutil.Process()
    _write_status(run_id, state="running", pid=me.pid, pid_started=me.create_time(), started=time.time())
    options = EvalOptions.from_dict(workspace.read_json(eval_dir(run_id) / REQUEST_FILE, {}))

    def progress(fraction: float, message) -> None:
        _write_status(run_id, progress=fraction, message={"key": message.key, "params": message.params})
        print(f"[{fraction * 100:5.1f}%] {message}", flush=True)

    try:
        board = build_scoreboard(run_id, options, progress=progress)
    except UserError as err:
        _write_status(run_id, state="failed", finished=time.time(),
                      error={"key": err.key, "params": {k: str(v) for k, v in err.params.items()}})
        print(f"error: {err}", flush=True)
        return 2
    except Exception as err:  # noqa: BLE001 - the job reports every failure in its status
        _write_status(run_id, state="failed", finished=time.time(),
                      error={"key": "err.eval.job_failed", "params": {"error": f"{type(err).__name__}: {err}"}})
        raise
    _write_status(run_id, state="completed", finished=time.time(), progress=1.0, seconds=board.seconds)
    return 0


def error_message(status: dict):
    """The failure of a status as a Msg to render in the reader's language (None when none)."""
    from core.i18n import Msg

    error = (status or {}).get("error")
    return Msg(error["key"], **error.get("params", {})) if isinstance(error, dict) else None


if __name__ == "__main__":
    sys.exit(run_job(sys.argv[1]))
