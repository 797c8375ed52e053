"""Download a model by name from the Hugging Face Hub (or a mirror), or ModelScope, as a background job.

The job is a core.jobs background job: a separate process (``python -m core.models.download JOB_DIR``)
started by the one launcher, holding its folder's lock, reporting through ``workspace/downloads/<job_id>/``
(request.json, status.json, download.log), so a reload or a restart of the UI finds it again. The Hub is spoken to only through ``huggingface_hub``: ``HfApi``
resolves the revision to a commit and lists the files with their sizes and hashes, ``http_get``
fetches each file (with a ``Range`` header when a part is already on disk, so a killed download
resumes where it stopped), and the result is checked against the Hub's sha256 (LFS) / git-sha1
hashes with huggingface_hub's own verifier. Files land in ``models/.<name>.partial/`` and the folder
becomes ``models/<name>`` only when every file is complete and verified.

The app runs with ``HF_HUB_OFFLINE=1``; the download process alone is started with it off.

    job = start_download(DownloadRequest(repo_id="Qwen/Qwen2.5-0.5B-Instruct", endpoint="https://hf-mirror.com"))
    wait_download(job.job_id).status   # "completed" (a cancelled download ends "stopped")
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from core import jobs, workspace
from core.errors import UserError

SOURCES = ("hf", "modelscope")
REQUEST_FILE, STATUS_FILE, LOG_FILE = "request.json", jobs.STATUS_FILE, "download.log"
PARTS_DIR = ".parts"  # inside the partial folder: files still arriving
DISK_MARGIN_BYTES = 256 * 2 ** 20  # keep this much free beyond the download itself
PROGRESS_INTERVAL_S = 0.5
# huggingface_hub reads the body in 10 MiB pieces; smaller ones make the progress bar move and put a
# killed download's resume point within 256 KiB of where it stopped.
READ_CHUNK_BYTES = 256 * 1024
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class DownloadRequest:
    repo_id: str
    source: str = "hf"
    endpoint: str = ""  # "" = HF_ENDPOINT or huggingface.co
    revision: str = "main"
    name: str = ""  # folder under workspace/models; default: the repo's last part
    allow_patterns: list[str] = field(default_factory=list)  # e.g. ["*.json", "*.safetensors"]; [] = all files

    def checked(self) -> "DownloadRequest":
        repo_id = (self.repo_id or "").strip().strip("/")
        if repo_id.count("/") > 1 or not repo_id or any(not workspace.is_safe_name(p) for p in repo_id.split("/")):
            raise UserError("err.models.bad_repo_id", repo_id=self.repo_id, field="repo_id",
                            hint="err.models.bad_repo_id.hint")
        if self.source not in SOURCES:
            raise UserError("err.models.bad_source", source=self.source, field="source")
        name = (self.name or repo_id.rsplit("/", 1)[-1]).strip()
        if not workspace.is_safe_name(name):
            raise UserError("err.models.bad_name", name=name, field="name")
        endpoint = (self.endpoint or "").strip().rstrip("/")
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise UserError("err.models.bad_endpoint", endpoint=endpoint, field="endpoint")
        patterns = [p.strip() for p in self.allow_patterns if p and p.strip()]
        return DownloadRequest(repo_id, self.source, endpoint, (self.revision or "main").strip(), name, patterns)


@dataclass(kw_only=True)
class DownloadStatus(jobs.JobStatus):
    """status: queued | running | completed | failed | stopped (cancelled; the files so far are kept)."""

    ID_FIELD: ClassVar[str] = "job_id"
    LOG_FILE: ClassVar[str] = LOG_FILE
    job_id: str
    name: str = ""
    repo_id: str = ""
    path: str = ""
    commit: str = ""
    files_total: int = 0
    files_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    resumed_bytes: int = 0  # already on disk when this attempt started
    speed_bps: float = 0.0
    eta_s: float | None = None
    message: dict | None = None  # {"key", "params", "hint"}: the error (English in ``error``) in any language

    @property
    def progress(self) -> float:
        return min(1.0, self.bytes_done / self.bytes_total) if self.bytes_total else 0.0

    def user_error(self) -> UserError | None:
        if self.message:
            params = {k: v for k, v in (self.message.get("params") or {}).items() if k not in ("field", "hint")}
            return UserError(self.message["key"], hint=self.message.get("hint"), **params)
        if self.error:  # unreadable status.json, or a verdict without a key
            return UserError("err.models.download_failed", detail=self.error, hint="err.models.download_vanished.hint")
        return None

    def fail(self, err: UserError) -> None:
        """Record ``err``: the key for any language, the English text for plain readers."""
        self.status = "failed"
        self.message = {"key": err.key, "hint": err.hint.key if err.hint is not None else None,
                        "params": {k: v for k, v in err.params.items() if isinstance(v, (str, int, float))}}
        self.error, self.hint = err.message.render("en"), err.hint.render("en") if err.hint is not None else None


# --- where things are -------------------------------------------------------------------------

def downloads_dir() -> Path:
    path = workspace.home() / "downloads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def job_dir(job_id: str) -> Path:
    return downloads_dir() / workspace.check_name(job_id, "download id")


def partial_dir(name: str) -> Path:
    return workspace.models_dir() / f".{name}.partial"


def read_status(job_id: str) -> DownloadStatus:
    """The download's status as it really is (a vanished process reads as failed); never writes."""
    folder = job_dir(job_id)
    if not folder.is_dir():
        raise UserError("err.models.download_unknown", job_id=job_id, hint="err.models.download_unknown.hint")
    return jobs.reconcile(folder, jobs.read_status(folder, DownloadStatus), vanished=_vanished)


def _vanished(status: DownloadStatus, tail: str, returncode: int | None) -> DownloadStatus:
    verdict = replace(status)
    verdict.fail(UserError("err.models.download_vanished", tail=" ".join(tail.splitlines()[-3:])[-300:],
                           hint="err.models.download_vanished.hint"))
    return verdict


def list_downloads() -> list[DownloadStatus]:
    return [read_status(folder.name) for folder in sorted(downloads_dir().iterdir(), reverse=True)
            if (folder / STATUS_FILE).is_file()]


# --- starting, waiting, cancelling (the UI side) ----------------------------------------------

def start_download(request: DownloadRequest) -> DownloadStatus:
    """Check the request, write the job folder and start the download process; returns at once."""
    request = request.checked()
    target = workspace.models_dir() / request.name
    if target.exists():
        raise UserError("err.models.exists", name=request.name, field="name", hint="err.models.exists.hint")
    for other in list_downloads():
        if other.live and other.name == request.name:
            raise UserError("err.models.download_running", name=request.name, job_id=other.job_id, field="name")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    job_id = jobs.free_id(downloads_dir(), f"{stamp}-{request.name}"[:96])
    folder = downloads_dir() / job_id
    folder.mkdir(parents=True)
    workspace.atomic_write_json(folder / REQUEST_FILE, asdict(request))
    status = DownloadStatus(job_id=job_id, name=request.name, repo_id=request.repo_id, path=str(target))
    jobs.write_status(folder, status)
    # The app runs offline (HF_HUB_OFFLINE=1); this job alone goes online.
    env = {"HF_HUB_OFFLINE": "0", "PYTHONPATH": os.pathsep.join(
        p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    jobs.launch(folder, [sys.executable, "-m", "core.models.download", str(folder)], log_name=LOG_FILE, env=env,
                cwd=PROJECT_ROOT)
    return status


def wait_download(job_id: str, timeout: float | None = None, poll: float = 0.3) -> DownloadStatus:
    deadline = None if timeout is None else time.time() + timeout
    while True:
        jobs.reap()
        status = read_status(job_id)
        if not status.live or (deadline is not None and time.time() > deadline):
            return status
        time.sleep(poll)


def cancel_download(job_id: str) -> DownloadStatus:
    """Ask the download process to stop; what arrived stays in the partial folder for a later resume."""
    status = read_status(job_id)
    if status.live and jobs.signal_job(job_dir(job_id), status, signal.SIGTERM):
        status = wait_download(job_id, timeout=15)
    return status


def resume_download(job_id: str) -> DownloadStatus:
    """Start an ended (failed/cancelled) download again under a new job; the files on disk are kept and reused."""
    import shutil

    status = read_status(job_id)
    if status.live:
        raise UserError("err.models.download_live", job_id=job_id, hint="err.models.download_live.hint")
    request = DownloadRequest(**workspace.read_json(job_dir(job_id) / REQUEST_FILE))
    started = start_download(request)
    shutil.rmtree(job_dir(job_id), ignore_errors=True)
    return started


def discard_download(job_id: str) -> None:
    """Forget a finished download: its job folder and (unless it completed) the partial files."""
    import shutil

    status = read_status(job_id)
    if status.live:
        raise UserError("err.models.download_live", job_id=job_id, hint="err.models.download_live.hint")
    if status.status != "completed":
        shutil.rmtree(partial_dir(status.name), ignore_errors=True)
    shutil.rmtree(job_dir(job_id), ignore_errors=True)


# --- the download process ---------------------------------------------------------------------

class Cancelled(Exception):
    """Raised in the download process when it is asked to stop (SIGTERM)."""


def _free_disk_check(folder: Path, needed: int) -> None:
    import shutil

    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN_BYTES > free:
        from core.models.registry import human_size

        raise UserError("err.models.disk_full", need=human_size(needed + DISK_MARGIN_BYTES),
                        free=human_size(free), path=str(folder), hint="err.models.disk_full.hint")


def _modelscope_error(err: Exception, request: DownloadRequest) -> UserError | None:
    """The modelscope client's exceptions -> the user's message (None: not one of its own)."""
    import requests
    from modelscope_hub import errors

    where = request.endpoint or os.environ.get("MODELSCOPE_ENDPOINT") or "https://www.modelscope.cn"
    code = getattr(getattr(err, "response", None), "status_code", None)
    if isinstance(err, errors.NotExistError) or code == 404:
        return UserError("err.models.repo_not_found", repo_id=request.repo_id, endpoint=where, field="repo_id",
                         hint="err.models.repo_not_found.ms_hint")
    if isinstance(err, (errors.AuthenticationError, errors.PermissionDeniedError)) or code in (401, 403):
        return UserError("err.models.gated", repo_id=request.repo_id, hint="err.models.gated.ms_hint")
    if isinstance(err, (errors.NetworkError, requests.ConnectionError, requests.Timeout)):
        return UserError("err.models.no_network", endpoint=where, detail=str(err)[:200],
                         hint="err.models.no_network.hint")
    if isinstance(err, (errors.HubError, requests.RequestException)):  # e.g. a file whose sha256 did not match
        return UserError("err.models.hub_error", endpoint=where, detail=str(err).splitlines()[0][:200],
                         hint="err.models.no_network.hint")
    return None


def _hub_error(err: Exception, request: DownloadRequest) -> UserError | None:
    """huggingface_hub's (or modelscope's) exceptions -> the user's message (None: not one we can explain)."""
    if request.source == "modelscope":
        known = _modelscope_error(err, request)
        if known is not None:
            return known
    import httpx2
    from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    where = request.endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    if isinstance(err, GatedRepoError):
        return UserError("err.models.gated", repo_id=request.repo_id, hint="err.models.gated.hint")
    if isinstance(err, RevisionNotFoundError):
        return UserError("err.models.revision_not_found", repo_id=request.repo_id, revision=request.revision,
                         field="revision", hint="err.models.revision_not_found.hint")
    if isinstance(err, RepositoryNotFoundError):
        return UserError("err.models.repo_not_found", repo_id=request.repo_id, endpoint=where, field="repo_id",
                         hint="err.models.repo_not_found.hint")
    if isinstance(err, (httpx2.ConnectError, httpx2.TimeoutException, httpx2.NetworkError)):
        return UserError("err.models.no_network", endpoint=where, detail=str(err)[:200],
                         hint="err.models.no_network.hint")
    if isinstance(err, HfHubHTTPError):
        return UserError("err.models.hub_error", endpoint=where, detail=str(err).splitlines()[0][:200],
                         hint="err.models.no_network.hint")
    if isinstance(err, OSError):  # a full disk (or another I/O error) while writing a file
        return workspace.disk_error(err, getattr(err, "filename", None) or partial_dir(request.name))
    return None


class _Progress:
    """Bytes on disk (finished files + the part being written) -> status.json every half second."""

    def __init__(self, folder: Path, status: DownloadStatus):
        self.folder, self.status = folder, status
        self.lock = threading.Lock()
        self.done_bytes = 0
        self.current: Path | None = None
        self.stop = threading.Event()
        self.samples: list[tuple[float, int]] = []

    def now_bytes(self) -> int:
        extra = 0
        if self.current is not None:
            try:
                extra = self.current.stat().st_size
            except OSError:
                pass
        return self.done_bytes + extra

    def write(self) -> None:
        with self.lock:
            done = self.now_bytes()
            now = time.time()
            self.samples = [(t, b) for t, b in self.samples if now - t <= 5.0] + [(now, done)]
            first_t, first_b = self.samples[0]
            speed = (done - first_b) / (now - first_t) if now - first_t > 0.2 else self.status.speed_bps
            self.status.bytes_done, self.status.speed_bps = done, max(0.0, speed)
            left = self.status.bytes_total - done
            self.status.eta_s = left / speed if speed > 0 else None
            jobs.write_status(self.folder, self.status)

    def run(self) -> None:
        while not self.stop.wait(PROGRESS_INTERVAL_S):
            self.write()


def _hf_download(request: DownloadRequest, folder: Path, status: DownloadStatus, progress: _Progress) -> None:
    from huggingface_hub import HfApi, constants, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.hf_api import RepoFile
    from huggingface_hub.utils import build_hf_headers, filter_repo_objects
    from huggingface_hub.utils._verification import verify_maps

    constants.DOWNLOAD_CHUNK_SIZE = READ_CHUNK_BYTES
    endpoint = request.endpoint or None
    api = HfApi(endpoint=endpoint)
    commit = api.repo_info(request.repo_id, revision=request.revision).sha
    remote = {f.path: f for f in api.list_repo_tree(request.repo_id, revision=commit, recursive=True)
              if isinstance(f, RepoFile)}
    wanted = list(filter_repo_objects(sorted(remote), allow_patterns=request.allow_patterns or None))
    if not wanted:
        raise UserError("err.models.no_files", repo_id=request.repo_id,
                        patterns=", ".join(request.allow_patterns) or "*", field="allow_patterns")
    staging = partial_dir(request.name)
    parts = staging / PARTS_DIR
    parts.mkdir(parents=True, exist_ok=True)
    status.commit, status.files_total = commit, len(wanted)
    status.bytes_total = sum(remote[p].size for p in wanted)

    def on_disk(path: str) -> int:
        final, part = staging / path, parts / (path + ".part")
        return final.stat().st_size if final.is_file() else part.stat().st_size if part.is_file() else 0

    already = sum(min(on_disk(p), remote[p].size) for p in wanted)
    status.resumed_bytes = already
    _free_disk_check(staging, status.bytes_total - already)
    progress.write()
    headers = build_hf_headers(library_name="workbench")
    for path in wanted:
        entry, final = remote[path], staging / path
        if final.is_file() and final.stat().st_size == entry.size:
            progress.done_bytes += entry.size
            status.files_done += 1
            continue
        part = parts / (path + ".part")
        part.parent.mkdir(parents=True, exist_ok=True)
        resume = part.stat().st_size if part.is_file() else 0
        if resume > entry.size:  # not a prefix of this file: start it again
            part.unlink()
            resume = 0
        progress.current = part
        if resume < entry.size:
            print(f"get {path} ({entry.size} bytes, resuming at {resume})", flush=True)
            with open(part, "ab") as fh:
                http_get(hf_hub_url(request.repo_id, path, revision=commit, endpoint=endpoint), fh,
                         resume_size=resume, headers=headers, expected_size=entry.size)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, final)
        progress.current = None
        progress.done_bytes += entry.size
        status.files_done += 1
        progress.write()
    # Every file against the Hub's hashes: sha256 for LFS files, git-sha1 for the rest.
    result = verify_maps(remote_by_path={p: remote[p] for p in wanted},
                         local_by_path={p: staging / p for p in wanted}, revision=commit, verified_path=staging)
    if result.mismatches or result.missing_paths:
        bad = [m["path"] for m in result.mismatches] + list(result.missing_paths)
        for path in bad:
            (staging / path).unlink(missing_ok=True)  # fetched again by the next attempt
        raise UserError("err.models.integrity", files=", ".join(bad[:5]), hint="err.models.integrity.hint")


def _modelscope_download(request: DownloadRequest, status: DownloadStatus, progress: _Progress) -> None:
    import importlib.util

    if importlib.util.find_spec("modelscope") is None:
        raise UserError("err.models.modelscope_missing", field="source", hint="err.models.modelscope_missing.hint")
    staging = partial_dir(request.name)
    staging.mkdir(parents=True, exist_ok=True)
    # Its locks and temporary files go into the staging folder (removed on success), not ~/.cache.
    os.environ["MODELSCOPE_CACHE"] = str(staging / ".cache")
    from modelscope import snapshot_download  # ModelScope verifies each file's sha256 itself

    progress.current = staging  # progress from the folder's size as files arrive
    progress.now_bytes = lambda: workspace.dir_size(staging)  # type: ignore[method-assign]
    progress.write()
    kwargs = {"allow_patterns": request.allow_patterns} if request.allow_patterns else {}
    if request.endpoint:  # a ModelScope mirror or private deployment (else MODELSCOPE_ENDPOINT / modelscope.cn)
        kwargs["endpoint"] = request.endpoint
    snapshot_download(request.repo_id, revision=None if request.revision == "main" else request.revision,
                      local_dir=str(staging), **kwargs)
    status.bytes_total = status.bytes_done = workspace.dir_size(staging)


def run_job(folder: Path) -> int:
    """The download process: fetch, verify, move into models/<name>; every outcome ends in status.json."""
    import shutil

    try:
        jobs.hold_lock(folder)  # first: one process per job folder
    except jobs.JobBusy as busy:
        print(busy, file=sys.stderr)
        return 3
    request = DownloadRequest(**workspace.read_json(folder / REQUEST_FILE))
    status = jobs.read_status(folder, DownloadStatus)
    status.status, status.pid, status.pid_started = "running", os.getpid(), jobs.process_started(os.getpid())
    status.started = time.time()
    jobs.write_status(folder, status)

    def on_term(signum, frame):
        raise Cancelled()

    signal.signal(signal.SIGTERM, on_term)
    progress = _Progress(folder, status)
    ticker = threading.Thread(target=progress.run, daemon=True)
    ticker.start()
    try:
        if request.source == "modelscope":
            _modelscope_download(request, status, progress)
        else:
            _hf_download(request, folder, status, progress)
        staging = partial_dir(request.name)
        shutil.rmtree(staging / PARTS_DIR, ignore_errors=True)
        shutil.rmtree(staging / ".cache", ignore_errors=True)
        target = workspace.models_dir() / request.name
        if target.exists():
            raise UserError("err.models.exists", name=request.name, hint="err.models.exists.hint")
        workspace.atomic_replace_dir(staging, target)  # fsynced and swapped in under the folder's lock
        status.status, status.path = "completed", str(target)
    except Cancelled:
        status.status = "stopped"
    except UserError as err:
        status.fail(err)
    except Exception as err:  # noqa: BLE001 - the job must always end with a status a page can show
        known = _hub_error(err, request)
        if known is None:
            import traceback

            traceback.print_exc()
        status.fail(known or UserError("err.models.download_failed", detail=f"{type(err).__name__}: {err}"[:300],
                                       hint="err.models.download_vanished.hint"))
    finally:
        progress.stop.set()
        ticker.join(timeout=2)
    if status.status == "completed":
        status.bytes_done = status.bytes_total
    elif request.source == "hf":
        status.bytes_done = progress.now_bytes()
    status.speed_bps, status.eta_s, status.finished = 0.0, None, time.time()
    jobs.write_status(folder, status)
    print(f"download finished: {status.status}", flush=True)
    return 0 if status.status in ("completed", "stopped") else 1


if __name__ == "__main__":
    sys.exit(run_job(Path(sys.argv[1])))
