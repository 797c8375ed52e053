"""Where things live on disk, and how they are written.

Everything a user makes sits under one folder, ``WORKBENCH_HOME`` (default ``./workspace``):
models/, datasets/, runs/, knowledge/, exports/. The training worker and the UI talk only
through files in there, so every write of user data goes through ``atomic_write_*``
(a temp file in the same folder, fsync, then ``os.replace``: a reader sees the old file or the
new one, never half of one) or, for a whole folder, ``staged_dir`` (write aside, fsync, swap
with the old one set aside until the new one is in place; ``recover`` repairs a swap cut short).
Writers of one saved thing serialise on its ``locked`` lock; names are checked by ``check_name``
(at most ``MAX_NAME_BYTES`` bytes); a full disk becomes a ``DiskError`` naming the folder.

    >>> from core import workspace
    >>> workspace.runs_dir()          # doctest: +SKIP
    PosixPath('/srv/wb/workspace/runs')
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from core.errors import UserError
from core.i18n import Msg

SUBDIRS = ("models", "datasets", "runs", "knowledge", "exports")
_SAFE_NAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.\-]*$")
# File systems limit one path component to 255 bytes; a name also gets a staging prefix and
# suffix (``.NAME.staging-PID-TOKEN``) and derived names (``NAME-train``), so stay well below.
MAX_NAME_BYTES = 150
NAME_KINDS = {"name": "name.kind.name", "dataset name": "name.kind.dataset",
              "knowledge base name": "name.kind.kb", "export name": "name.kind.export",
              "run id": "name.kind.run", "preset name": "name.kind.preset"}


def home() -> Path:
    """The workspace root, created on first use."""
    root = Path(os.environ.get("WORKBENCH_HOME", "workspace")).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sub(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    if str(path) not in _recovered:  # first use in this process: repair interrupted swaps
        _recovered.add(str(path))
        recover(path)
    return path


def models_dir() -> Path:
    return _sub("models")


def datasets_dir() -> Path:
    return _sub("datasets")


def runs_dir() -> Path:
    return _sub("runs")


def knowledge_dir() -> Path:
    return _sub("knowledge")


def exports_dir() -> Path:
    return _sub("exports")


def is_safe_name(name: str) -> bool:
    """A name usable as one folder: letters (incl. Chinese), digits, ``_ - .``; no path parts;
    at most ``MAX_NAME_BYTES`` bytes in UTF-8 (file systems count bytes, not characters)."""
    return (bool(name) and bool(_SAFE_NAME.match(name)) and name not in (".", "..")
            and len(name.encode("utf-8")) <= MAX_NAME_BYTES)


class BadName(UserError, ValueError):
    """A name or id that cannot be a folder name (a ValueError too, for older callers)."""


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` stripped, or raise ``BadName`` saying what a valid name looks like.

    ``what`` is one of ``NAME_KINDS`` ("dataset name", "run id", ...), shown in the message.
    """
    name = (name or "").strip()
    kind = Msg(NAME_KINDS.get(what, "name.kind.name"))
    size = len(name.encode("utf-8"))
    if name and _SAFE_NAME.match(name) and size > MAX_NAME_BYTES:
        raise BadName("err.name.too_long", what=kind, name=name, size=size, limit=MAX_NAME_BYTES,
                      chars=MAX_NAME_BYTES // 3, field="name")
    if not is_safe_name(name):
        raise BadName("err.name.invalid", what=kind, name=name, limit=MAX_NAME_BYTES,
                      chars=MAX_NAME_BYTES // 3, field="name")
    return name


# ----------------------------------------------------------------------------- disk errors

class DiskError(UserError, OSError):
    """Disk full or another I/O error while saving; an OSError too, so older handlers still see it."""


_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def disk_error(err: BaseException, path: Path | str) -> DiskError | None:
    """A ``DiskError`` saying what went wrong while writing ``path``, or None if ``err`` is not an I/O error.

    Libraries that write files (safetensors, faiss) wrap the OS error in their own exception,
    so its text is checked too.
    """
    if isinstance(err, DiskError):
        return err
    folder = str(Path(path).parent)
    text = str(err)
    if (isinstance(err, OSError) and err.errno in _FULL_ERRNOS) or "No space left on device" in text:
        out = DiskError("err.disk.full", path=folder, hint="err.disk.full.hint")
        out.errno = errno.ENOSPC
        return out
    if isinstance(err, OSError) and err.errno is not None and not isinstance(err, FileNotFoundError):
        out = DiskError("err.disk.io", path=str(path), reason=err.strerror or text, hint="err.disk.io.hint")
        out.errno = err.errno
        return out
    return None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file + fsync + rename; disk errors become ``DiskError``."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        converted = disk_error(err, path)
        if converted is not None and converted is not err:
            raise converted from err
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def atomic_write_jsonl(path: Path | str, rows: Iterable[Any]) -> int:
    """Write one JSON object per line atomically; returns the number of rows."""
    rows = list(rows)
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return len(rows)


# ----------------------------------------------------------------------------- per-name locks

LOCK_WAIT_S = 60.0
_held = threading.local()  # this thread's locks: key -> depth (a lock may be taken again inside)


def _lock_file(key: str) -> Path:
    folder = home() / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (hashlib.sha1(key.encode("utf-8")).hexdigest()[:20] + ".lock")


@contextmanager
def locked(target: Path | str, timeout: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the exclusive lock of one saved thing (a dataset, knowledge base, preset, export folder).

    Every writer of ``target`` — another browser tab (a thread here), the CLI (another process) —
    takes this lock around its read-check-write, so two writers run one after the other instead of
    one silently undoing the other. Waits up to ``timeout`` seconds (0: do not wait), then raises
    the "busy" ``UserError``. The same thread may take a lock it holds again.
    """
    key = str(Path(target).expanduser().absolute())
    depths = _held.__dict__.setdefault("depths", {})
    if depths.get(key):
        depths[key] += 1
        try:
            yield
        finally:
            depths[key] -= 1
        return
    fd = os.open(_lock_file(key), os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError("err.busy", name=Path(key).name, hint="err.busy.hint") from None
                time.sleep(0.05)
        depths[key] = 1
        try:
            yield
        finally:
            depths.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- replacing a folder

# ``.NAME.staging-PID-TOKEN`` (being written) and ``.NAME.old-PID-TOKEN`` (set aside during a swap).
_SWAP_PART = re.compile(r"^\.(?P<name>.+)\.(?P<kind>staging|old)-\d+(?:-[0-9a-f]+)?$")
_LEGACY_STAGING = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.staging$")  # before staged_dir existed
_recovered: set[str] = set()


def _swap_parts(parent: Path) -> dict[str, list[tuple[str, Path]]]:
    found: dict[str, list[tuple[str, Path]]] = {}
    try:
        entries = list(parent.iterdir())
    except OSError:
        return found
    for entry in entries:
        match = _SWAP_PART.match(entry.name)
        if match:
            found.setdefault(match["name"], []).append((match["kind"], entry))
        elif (legacy := _LEGACY_STAGING.match(entry.name)):
            found.setdefault(legacy["name"], []).append(("staging", entry))
    return found


def _recover_name(parent: Path, name: str, parts: list[tuple[str, Path]]) -> None:
    """Finish an interrupted swap of ``parent/name`` (caller holds its lock).

    A folder set aside while the new one was not yet in place is put back: the old version is
    complete, the staged one may not be. Then every leftover staging/set-aside folder goes.
    """
    target = parent / name
    olds = sorted((p for kind, p in parts if kind == "old"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not target.exists() and olds:
        os.rename(olds.pop(0), target)
        _fsync_dir(parent)
    for _, leftover in parts:
        if leftover.exists() and leftover != target:
            shutil.rmtree(leftover, ignore_errors=True)


def recover(parent: Path | str) -> None:
    """Repair what a process that died while replacing a folder under ``parent`` left behind.

    Runs once per process for each workspace area (on its first use, i.e. at start-up) and before
    every swap of a folder. A name whose lock is held (a live writer) is left alone.
    """
    parent = Path(parent)
    for name, parts in _swap_parts(parent).items():
        try:
            with locked(parent / name, timeout=0):
                _recover_name(parent, name, parts)
        except UserError:
            continue  # a live writer holds it
        except OSError:
            continue  # not ours to repair (read-only MODEL_DIRS and the like)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(folder, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _swap_in(staging: Path, target: Path, token: str) -> None:
    """Put the finished ``staging`` folder at ``target``: old aside, new in, old removed.

    At no instant is there neither version: between the two renames the old one sits at
    ``.NAME.old-…``, and ``recover`` puts it back if the process dies there.
    """
    parent = target.parent
    aside = None
    if target.exists() or target.is_symlink():
        aside = parent / f".{target.name}.old-{os.getpid()}-{token}"
        os.rename(target, aside)
    os.rename(staging, target)
    _fsync_dir(parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def staged_dir(target: Path | str, *, lock_timeout: float = LOCK_WAIT_S) -> Iterator[Path]:
    """Write a folder's new version, then swap it in for ``target`` — the one way to replace a saved folder.

    Yields an empty staging folder beside ``target`` (same file system, so the rename is atomic).
    When the block ends without an error, every file and the folder are fsynced, the old
    ``target`` (if any) is renamed aside, the new one renamed in, the parent fsynced and the old
    one removed. On an error the staging folder is removed and ``target`` is untouched; a full
    disk or an I/O error becomes a ``DiskError``. The whole write holds ``target``'s lock.

        with workspace.staged_dir(workspace.datasets_dir() / "alpaca") as folder:
            (folder / "data.jsonl").write_bytes(body)
    """
    target = Path(target)
    with locked(target, timeout=lock_timeout):
        staging = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            parts = _swap_parts(target.parent).get(target.name)
            if parts:
                _recover_name(target.parent, target.name, parts)
            token = secrets.token_hex(4)
            staging = target.parent / f".{target.name}.staging-{os.getpid()}-{token}"
            staging.mkdir()
            yield staging
            _fsync_tree(staging)
            _swap_in(staging, target, token)
        except BaseException as err:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            converted = disk_error(err, target)
            if converted is not None and converted is not err:
                raise converted from err
            raise


def atomic_replace_dir(staging: Path, target: Path) -> None:
    """Swap an already written ``staging`` folder in for ``target`` (for writers that cannot use
    ``staged_dir``, e.g. a trainer saving on several ranks); same guarantees, under the lock."""
    target = Path(target)
    with locked(target):
        _fsync_tree(Path(staging))
        _swap_in(Path(staging), target, secrets.token_hex(4))


def read_json(path: Path | str, default: Any = None) -> Any:
    """Read a JSON file; ``default`` when it is missing or unreadable (e.g. mid-write on NFS)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def read_jsonl(path: Path | str) -> list[dict]:
    """Read JSON lines, skipping a torn last line that a live writer may be appending."""
    rows: list[dict] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass
    return rows


def dir_size(path: Path) -> int:
    total = 0
    for p in Path(path).rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_size
        except OSError:
            pass
    return total
