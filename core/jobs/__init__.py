"""Background jobs: a process that outlives the page and reports through a folder.

Training runs, model downloads and servers are all one kind of thing: a separate OS process,
started by the one launcher, that writes its own folder while the UI and the CLI only read it.

The folder (any kind; a kind adds its own files beside these):

    <folder>/status.json   the job's state, pid + its start time, progress (0..1, plus the kind's own
                           counters), error, hint; written atomically, by the job only (the starter
                           writes the first one)
    <folder>/<log file>    the process's stdout + stderr (the kind's ``LOG_FILE``, e.g. train.log)
    <folder>/pid           "PID START_TIME", written by the launcher and again by the job
    <folder>/job.lock      held (flock) by the job process for its whole life: one process per folder

The rules:

- ``launch`` is the only way to start a job process: argv list (never a shell), its own session,
  stdin closed, output appended to the log, no ``WORKBENCH_PASSWORD`` in its environment.
- The job's first act is ``hold_lock(folder)``; a second process on the same folder gets
  ``JobBusy`` at once and must exit without writing anything.
- ``read_status`` never raises for the file's content: a wrong shape gives ``status="unreadable"``
  with the reason in ``error``; the id is always the folder's name.
- ``reconcile`` (the one reconciler) turns a live status whose process is gone into ``failed`` with
  the reason from the log tail and the exit code (or the kind's own verdict). In memory only: a
  reader never writes, so a page keeps working on a full disk, and never re-creates a deleted folder.
- A process is alive only if its pid runs *and* its start time matches (``process_alive``); an
  unknown start time is not proof of life.

A new job kind costs a status class, a worker module and a starter — for example a download::

    from dataclasses import dataclass
    from typing import ClassVar
    import os, sys
    from core import jobs, workspace

    @dataclass(kw_only=True)
    class DownloadStatus(jobs.JobStatus):
        ID_FIELD: ClassVar[str] = "job_id"
        LOG_FILE: ClassVar[str] = "download.log"
        job_id: str
        repo_id: str = ""
        bytes_done: int = 0
        bytes_total: int = 0

        @property
        def progress(self) -> float:
            return self.bytes_done / self.bytes_total if self.bytes_total else 0.0

    def start_download(job_id: str, repo_id: str) -> DownloadStatus:          # in core/models/…
        folder = workspace.home() / "downloads" / job_id
        folder.mkdir(parents=True)
        jobs.write_status(folder, DownloadStatus(job_id=job_id, repo_id=repo_id))
        jobs.launch(folder, [sys.executable, "-m", "core.models.download_worker", str(folder)],
                    log_name=DownloadStatus.LOG_FILE)
        return read_download(job_id)

    def read_download(job_id: str) -> DownloadStatus:                          # every reader
        folder = workspace.home() / "downloads" / job_id
        return jobs.reconcile(folder, jobs.read_status(folder, DownloadStatus))

    # core/models/download_worker.py, the job process:
    def main(folder):
        try:
            jobs.hold_lock(folder)                  # first: one process per folder
        except jobs.JobBusy as busy:
            print(busy, file=sys.stderr)
            return 3                                # wrote nothing
        status = jobs.read_status(folder, DownloadStatus)
        status.status, status.pid, status.pid_started = "running", os.getpid(), jobs.process_started(os.getpid())
        jobs.write_status(folder, status)
        ...                                         # work, writing status.json now and then
        status.status = "completed"
        jobs.write_status(folder, status)

Stopping: write a request file the job polls and/or ``signal_job(folder, status, SIGTERM)``.
Training runs (core/train/runs.py, launcher.py, worker.py) are built exactly this way.
"""
from core.jobs.folder import (LIVE_STATES, LOCK_FILE, PID_FILE, STATES, STATUS_FILE, UNREADABLE, JobStatus,
                              field_problem, free_id, from_dict, log_tail, read_jsonl_objects, read_pid,
                              read_status,
                              write_pid, write_status, write_text_in)
from core.jobs.process import (DISK_FULL_NEEDLES, SECRET_ENV, JobBusy, Launched, exit_code, explain_exit,
                               hold_lock, job_env, job_process, keep_lock_across_exec, launch, mark_failed,
                               process_alive, process_started, reap, reconcile, signal_job)

__all__ = [
    "LIVE_STATES", "LOCK_FILE", "PID_FILE", "STATES", "STATUS_FILE", "UNREADABLE", "JobStatus", "field_problem",
    "free_id",
    "from_dict", "log_tail", "read_jsonl_objects", "read_pid", "read_status", "write_pid", "write_status",
    "write_text_in", "DISK_FULL_NEEDLES", "SECRET_ENV", "JobBusy", "Launched", "exit_code", "explain_exit",
    "hold_lock", "job_env", "job_process", "keep_lock_across_exec", "launch", "mark_failed", "process_alive",
    "process_started", "reap", "reconcile", "signal_job",
]
