"""Saved datasets: ``workspace/datasets/<name>/data.jsonl`` + ``meta.json``.

One row is ``{"messages": [{"role": "system"|"user"|"assistant", "content": str}, ...]}``
(canonical form, see DESIGN.md). Saving is atomic: the folder is written aside and renamed
into place, so a failed save leaves the previous dataset byte-identical.

    >>> save_dataset("demo", [{"messages": [...]}], source="assistant generator")  # doctest: +SKIP
    DatasetInfo(name='demo', rows=1, ...)
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core import workspace
from core.errors import UserError

DATA_FILE = "data.jsonl"
META_FILE = "meta.json"


@dataclass
class DatasetInfo:
    name: str
    rows: int
    source: str
    created: float
    sha256: str = ""
    tokens: int | None = None  # filled by stats when a tokenizer measured it
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def dataset_dir(name: str) -> Path:
    return workspace.datasets_dir() / workspace.check_name(name, "dataset name")


def exists(name: str) -> bool:
    return workspace.is_safe_name(name) and (workspace.datasets_dir() / name / DATA_FILE).exists()


def check_absent(names: list[str]) -> None:
    """Refuse (before anything is written) when one of ``names`` is an existing dataset."""
    for name in names:
        if dataset_dir(name).exists():
            raise UserError("err.exists.dataset", name=name, field="name", hint="err.exists.hint")


def save_dataset(
    name: str, rows: list[dict], *, source: str, extra: dict | None = None, overwrite: bool = False
) -> DatasetInfo:
    """Write rows + meta atomically and return the new meta.

    Under the dataset's lock: an existing dataset is replaced only with ``overwrite``, and two
    writers of one name (two tabs, the UI and the CLI) run one after the other.
    """
    target = dataset_dir(name)
    if not rows:
        raise UserError("err.data.nothing_to_save")
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    body = ("\n".join(lines) + "\n").encode("utf-8")
    info = DatasetInfo(
        name=target.name, rows=len(rows), source=source, created=time.time(),
        sha256=hashlib.sha256(body).hexdigest(), extra=dict(extra or {}),
    )
    with workspace.locked(target):
        if not overwrite:
            check_absent([name])
        with workspace.staged_dir(target) as staging:
            (staging / DATA_FILE).write_bytes(body)
            (staging / META_FILE).write_text(json.dumps(info.to_dict(), ensure_ascii=False, indent=2),
                                             encoding="utf-8")
    return info


def read_meta(name: str) -> DatasetInfo:
    meta = workspace.read_json(dataset_dir(name) / META_FILE)
    if not meta:
        raise UserError("err.data.not_found", name=name, hint="err.data.not_found.hint")
    known = {k: meta[k] for k in DatasetInfo.__dataclass_fields__ if k in meta}
    known["name"] = dataset_dir(name).name  # a copied folder is listed under its folder name
    return DatasetInfo(**known)


def update_meta(name: str, /, **changes) -> DatasetInfo:  # "/": changes may include name=
    with workspace.locked(dataset_dir(name)):
        info = read_meta(name)
        for key, value in changes.items():
            if key in DatasetInfo.__dataclass_fields__:
                setattr(info, key, value)
            else:
                info.extra[key] = value
        workspace.atomic_write_json(dataset_dir(name) / META_FILE, info.to_dict())
    return info


def dataset_kind(info: DatasetInfo) -> str:
    """What a saved dataset is for: sft, pt, preference or kto (core.data.formats.KINDS)."""
    from core.data.formats import normalize_kind

    return normalize_kind(info.extra.get("kind"))


def load_rows(name: str) -> list[dict]:
    path = dataset_dir(name) / DATA_FILE
    if not path.exists():
        raise UserError("err.data.not_found", name=name, field="dataset", hint="err.data.not_found.create")
    return workspace.read_jsonl(path)


def list_datasets() -> list[DatasetInfo]:
    infos = []
    for folder in sorted(workspace.datasets_dir().iterdir()):
        if folder.name.startswith(".") or not (folder / DATA_FILE).exists():
            continue
        try:
            infos.append(read_meta(folder.name))
        except UserError:
            continue
    return sorted(infos, key=lambda i: i.created, reverse=True)


def delete_dataset(name: str) -> None:
    target = dataset_dir(name)
    with workspace.locked(target):
        if not target.exists():
            raise UserError("err.data.not_found", name=name)
        shutil.rmtree(target)


def rename_dataset(old: str, new: str) -> None:
    source, target = dataset_dir(old), dataset_dir(new)
    first, second = sorted((source, target))  # one order for every writer: no deadlock
    with workspace.locked(first), workspace.locked(second):
        if not source.exists():
            raise UserError("err.data.not_found", name=old)
        check_absent([new])
        source.rename(target)
        update_meta(new, name=new)
