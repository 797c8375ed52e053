"""A knowledge base that follows a folder on the server: add new files, re-ingest changed ones,
drop deleted ones; on demand (``sync_folder``) or on a schedule while the app runs (``SyncScheduler``).

A file is "changed" when the SHA-256 of its bytes differs from the one recorded when it was
ingested (``file_sha256`` in the document's entry), so an unchanged PDF is not even parsed
again. Only documents whose source lies inside the followed folder are touched: files added by
upload or from elsewhere stay. A file that fails to load is reported with its reason and the
rest are synced; if it was in the base before, its previous version stays.

The folder and the schedule are kept in the base's meta.json under ``"sync"``:
``{"folder": "/data/docs", "every_minutes": 30, "last": 1764500000.0, "last_report": {...}}``.

    >>> sync_folder("notes", "/data/docs").to_dict()                        # doctest: +SKIP
    {'added': ['/data/docs/a.md'], 'updated': [], 'removed': [], 'failed': [], 'chunks': 12, ...}
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from core import workspace
from core.errors import UserError
from core.i18n import Msg
from core.i18n import every_language as every_language_text
from core.rag import loaders, store

log = logging.getLogger(__name__)

SCHEDULER_TICK_S = 30      # how often the scheduler looks for a base that is due
MAX_EVERY_MINUTES = 7 * 24 * 60


@dataclass
class SyncReport:
    folder: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)   # {"path", "error": a Msg}
    unchanged: int = 0
    chunks: int = 0           # chunks embedded by this sync (added + updated files)
    total_chunks: int = 0     # chunks in the base afterwards
    seconds: float = 0.0

    def to_dict(self, *, every_language: bool = False) -> dict:
        """Plain values; each failure's reason in English (the CLI's JSON), or with
        ``every_language`` as ``{lang: text}`` (kept in meta.json, shown in the reader's language)."""
        out = asdict(self)
        out["failed"] = [{"path": f["path"], "error": every_language_text(f["error"]) if every_language
                          else str(f["error"])} for f in self.failed]
        out["seconds"] = round(self.seconds, 3)
        return out


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inside(source: str, folder: Path) -> bool:
    try:
        Path(source).relative_to(folder)
        return True
    except ValueError:
        return False


def sync_settings(name: str) -> dict:
    """The base's sync settings ({} when it follows no folder)."""
    return dict(store.read_meta(name).get("sync") or {})


def _resolve_folder(name: str, folder: str | Path | None) -> Path:
    if folder is None or not str(folder).strip():
        folder = sync_settings(name).get("folder")
        if not folder:
            raise UserError("err.kb.sync_no_folder", name=name, field="folder", hint="err.kb.sync_no_folder.hint")
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise UserError("err.kb.sync_folder_missing", folder=str(path), field="folder",
                        hint="err.kb.sync_folder_missing.hint")
    return path


def sync_folder(name: str, folder: str | Path | None = None, *,
                progress: Callable[[store.IngestProgress], None] | None = None) -> SyncReport:
    """Bring base ``name`` in line with ``folder`` (default: the folder it already follows).

    Returns what was added, updated, removed, and which files failed and why. The folder is
    remembered for later syncs.
    """
    with workspace.locked(store.kb_dir(name), timeout=store.KB_LOCK_WAIT_S):  # one writer per base
        return _sync_locked(name, _resolve_folder(name, folder), progress)


def _sync_locked(name: str, path: Path, progress) -> SyncReport:
    started = time.time()
    kb = store.load_kb(name)
    report = SyncReport(folder=str(path))
    followed = {d["source"]: d for d in kb.documents if _inside(d["source"], path)}
    wanted: list[Path] = []
    present: set[str] = set()
    for file in loaders.expand_paths([path]):
        if file.suffix.lower() not in loaders.SUPPORTED_SUFFIXES:
            continue
        file = file.resolve()
        source = str(file)
        present.add(source)
        old = followed.get(source)
        try:
            digest = file_digest(file)
        except OSError as err:
            report.failed.append({"path": source, "error": Msg("err.rag.load.unreadable",
                                                               reason=f"{type(err).__name__}: {err}")})
            continue
        if old is not None and old.get("file_sha256") == digest:
            report.unchanged += 1
        else:
            wanted.append(file)
    removed = [doc for source, doc in followed.items() if source not in present]
    if wanted:
        ingested = store.ingest(name, wanted, progress=progress)
        report.chunks = ingested.chunks
        for result in ingested.files:
            if result.error:
                report.failed.append({"path": result.path, "error": result.error})
            elif result.path in followed:
                report.updated.append(result.path)
            else:
                report.added.append(result.path)
    if removed:
        store.delete_documents(name, [doc["id"] for doc in removed])
        report.removed = sorted(doc["source"] for doc in removed)
    report.seconds = time.time() - started
    settings = sync_settings(name)
    settings.update(folder=str(path), last=time.time(), last_report=report.to_dict(every_language=True))
    info = store.update_meta(name, sync=settings)
    report.total_chunks = info.chunks
    return report


def set_schedule(name: str, folder: str | Path, every_minutes: int) -> dict:
    """Follow ``folder`` and sync every ``every_minutes`` while the app runs (0 = only on demand)."""
    every = int(every_minutes)
    if not 0 <= every <= MAX_EVERY_MINUTES:
        raise UserError("err.kb.sync_interval", minutes=every, most=MAX_EVERY_MINUTES, field="every_minutes")
    path = _resolve_folder(name, folder)
    settings = sync_settings(name)
    settings.update(folder=str(path), every_minutes=every)
    store.update_meta(name, sync=settings)
    return settings


def due_bases(now: float | None = None) -> list[str]:
    """Bases with a schedule whose last sync is at least their interval ago."""
    now = time.time() if now is None else now
    due = []
    for info in store.list_kbs():
        settings = workspace.read_json(store.kb_dir(info.name) / store.META_FILE, {}).get("sync") or {}
        every = int(settings.get("every_minutes") or 0)
        if every and settings.get("folder") and now - float(settings.get("last") or 0) >= every * 60:
            due.append(info.name)
    return due


def run_due(now: float | None = None) -> dict[str, SyncReport | str]:
    """Sync every due base; a base that cannot be synced gets its reason instead of a report."""
    results: dict[str, SyncReport | str] = {}
    for name in due_bases(now):
        try:
            results[name] = sync_folder(name)
        except UserError as err:
            log.warning("scheduled sync of %s failed: %s", name, err)
            settings = sync_settings(name)
            settings.update(last=time.time(), last_report={"error": every_language_text(err.msg())})
            store.update_meta(name, sync=settings)
            results[name] = str(err)
    return results


class SyncScheduler:
    """A daemon thread that runs ``run_due`` every ``SCHEDULER_TICK_S`` seconds (one per process)."""

    def __init__(self, tick_s: float = SCHEDULER_TICK_S):
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kb-sync", daemon=True)

    def start(self) -> "SyncScheduler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                run_due()
            except Exception:  # the thread must outlive one bad tick; the reason goes to the log
                log.exception("scheduled knowledge-base sync failed")
