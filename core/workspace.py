"""Where things live on disk, and how they are written.

Everything a user makes sits under one folder, ``WORKBENCH_HOME`` (default ``./workspace``):
models/, datasets/, runs/, knowledge/, exports/. The training worker and the UI talk only
through files in there, so every write of user data goes through ``atomic_write_*``:
a temp file in the same folder, fsync, then ``os.replace`` — a reader sees the old file or
the new one, never half of one.

    >>> from core import workspace
    >>> workspace.runs_dir()          # doctest: +SKIP
    PosixPath('/srv/wb/workspace/runs')
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

SUBDIRS = ("models", "datasets", "runs", "knowledge", "exports")
_SAFE_NAME = re.compile(r"^[\w\u4e00-\u9fff][\w\u4e00-\u9fff.\-]{0,99}$")


def home() -> Path:
    """The workspace root, created on first use."""
    root = Path(os.environ.get("WORKBENCH_HOME", "workspace")).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sub(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
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
    """A name usable as one folder: letters (incl. Chinese), digits, ``_ - .``; no path parts."""
    return bool(name) and bool(_SAFE_NAME.match(name)) and name not in (".", "..")


def check_name(name: str, what: str = "name") -> str:
    """Return ``name`` stripped, or raise ValueError saying what a valid name looks like."""
    name = (name or "").strip()
    if not is_safe_name(name):
        raise ValueError(
            f"Invalid {what} {name!r}: use letters, digits, '_', '-' or '.', up to 100 characters."
        )
    return name


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def atomic_write_jsonl(path: Path | str, rows: Iterable[Any]) -> int:
    """Write one JSON object per line atomically; returns the number of rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def atomic_replace_dir(staging: Path, target: Path) -> None:
    """Move a fully written ``staging`` folder to ``target``, replacing what was there.

    The old folder is renamed aside first and removed only after the new one is in place,
    so a crash leaves either the old or the new folder, never a mix.
    """
    target = Path(target)
    aside = None
    if target.exists():
        aside = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(aside, ignore_errors=True)
        os.replace(target, aside)
    os.replace(staging, target)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def staging_dir(target: Path) -> Path:
    """A fresh temp folder beside ``target`` (same filesystem, so the final rename is atomic)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging", dir=target.parent))


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
