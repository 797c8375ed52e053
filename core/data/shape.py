"""Shape datasets: train/eval split, weighted mixing, de-duplication, export to other formats.

Pure functions work on lists of canonical rows (``split_rows``, ``mix_rows``, ``dedupe_rows``);
the ``*_dataset`` functions load saved datasets by name and save their results through
``store.save_dataset`` (atomic).

Mixing follows the 9G recipe's idea: each source has a weight (``abs_weight``: its share of
the mixed set) and ``allow_repeat`` (may it be sampled more than once when its share is bigger
than the dataset). Without a target size, each source simply contributes ``repeat`` times its
rows (``repeat=3`` -> three passes; ``0.5`` -> a random half), the usual way to mix a small
personal-assistant set with general data so the model keeps what it knew.

    mix_datasets([MixSource("identity", repeat=5), MixSource("alpaca", repeat=1)], "assistant-mix")
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from core import workspace
from core.data import formats, store
from core.data.stats import find_duplicates
from core.errors import UserError


def split_rows(rows: list[dict], eval_ratio: float = 0.1, seed: int = 42) -> tuple[list[dict], list[dict]]:
    """Shuffle with ``seed`` and split into (train, eval); eval gets at least one row.

    Example:
        >>> train, ev = split_rows([{"text": str(i)} for i in range(10)], 0.2, seed=0)
        >>> len(train), len(ev)
        (8, 2)
    """
    if not 0 < eval_ratio < 1:
        raise UserError("err.data.eval_ratio", field="eval_ratio")
    if len(rows) < 2:
        raise UserError("err.data.split_too_small")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_eval = min(len(rows) - 1, max(1, round(len(rows) * eval_ratio)))
    return [rows[i] for i in order[n_eval:]], [rows[i] for i in order[:n_eval]]


def eval_split_indices(n_rows: int, eval_ratio: float, seed: int) -> tuple[list[int], list[int]] | None:
    """(train, eval) row indices of a training run's held-out split, or None when it has none.

    The one split a run trains and evaluates on (``datasets.Dataset.train_test_split`` with the
    run's ratio and seed); the worker and Compare's eval loss both use it, so Compare measures
    exactly the rows the run held out.
    """
    if not 0 < eval_ratio < 1 or n_rows < 4:
        return None
    from datasets import Dataset

    split = Dataset.from_dict({"i": list(range(n_rows))}).train_test_split(test_size=eval_ratio, seed=seed)
    return list(split["train"]["i"]), list(split["test"]["i"])


def eval_split_rows(dataset: str, eval_ratio: float = 0.1, seed: int = 42) -> list[dict]:
    """The rows of ``dataset`` a run with this ``eval_ratio`` and ``seed`` held out for eval."""
    rows = store.load_rows(dataset)
    if not 0 < eval_ratio < 1:
        raise UserError("err.eval.split_ratio", field="eval_ratio", hint="err.eval.split_ratio.hint")
    split = eval_split_indices(len(rows), eval_ratio, seed)
    if split is None:
        raise UserError("err.eval.split_too_small", field="dataset", dataset=dataset, n=len(rows))
    return [rows[i] for i in split[1]]


@dataclass
class MixSource:
    """One dataset in a mix. ``weight`` = share when a total size is given (9G ``abs_weight``);
    ``repeat`` = passes over the data when it is not; ``allow_repeat`` = may rows be reused."""

    name: str
    weight: float = 1.0
    repeat: float = 1.0
    allow_repeat: bool = True


def _take(rows: list[dict], count: int, allow_repeat: bool, rng: random.Random) -> list[dict]:
    if count <= len(rows):
        return rng.sample(rows, count)
    if not allow_repeat:
        return rng.sample(rows, len(rows))
    out: list[dict] = []
    while len(out) + len(rows) <= count:  # whole passes, each freshly shuffled
        out.extend(rng.sample(rows, len(rows)))
    out.extend(rng.sample(rows, count - len(out)))
    return out


def mix_rows(sources: list[tuple[MixSource, list[dict]]], total: int | None = None, seed: int = 42
             ) -> tuple[list[dict], list[dict]]:
    """Mix row lists; returns ``(rows, report)`` with one report entry per source.

    Args:
        sources: (MixSource, rows) pairs.
        total: target size; None -> each source contributes ``repeat`` x its rows.
        seed: for sampling and the final shuffle.

    Example:
        >>> a = [{"text": "a"}] * 2; b = [{"text": "b"}] * 10
        >>> rows, rep = mix_rows([(MixSource("a", repeat=3), a), (MixSource("b"), b)])
        >>> len(rows), rep[0]["taken"]
        (16, 6)
    """
    if not sources:
        raise UserError("err.data.mix_none")
    rng = random.Random(seed)
    kinds = {formats.row_kind(rows[0]) for _, rows in sources if rows}
    if len(kinds) > 1:
        raise UserError("err.data.mix_kinds", hint="err.data.mix_kinds.hint")
    weights = sum(max(0.0, s.weight) for s, _ in sources)
    if total is not None and (total <= 0 or weights <= 0):
        raise UserError("err.data.mix_total", field="total")
    mixed: list[dict] = []
    report = []
    for src, rows in sources:
        if not rows:
            raise UserError("err.data.mix_source_empty", name=src.name)
        if total is not None:
            want = round(total * max(0.0, src.weight) / weights)
        else:
            if src.repeat < 0:
                raise UserError("err.data.mix_repeat", field="repeat")
            want = round(len(rows) * src.repeat)
        taken = _take(rows, want, src.allow_repeat, rng)
        mixed.extend(taken)
        report.append({"name": src.name, "available": len(rows), "wanted": want, "taken": len(taken),
                       "capped": len(taken) < want, "weight": src.weight, "repeat": src.repeat,
                       "allow_repeat": src.allow_repeat})
    rng.shuffle(mixed)
    if not mixed:
        raise UserError("err.data.mix_empty", hint="err.data.mix_empty.hint")
    for entry in report:
        entry["share"] = round(entry["taken"] / len(mixed), 4)
    return mixed, report


def dedupe_rows(rows: list[dict], by: str = "row") -> tuple[list[dict], int]:
    """Drop duplicates, keeping the first of each group; returns ``(rows, removed)``.

    Example:
        >>> dedupe_rows([{"text": "a"}, {"text": "a"}, {"text": "b"}])[1]
        1
    """
    drop = {i for group in find_duplicates(rows, by) for i in group[1:]}
    return [r for i, r in enumerate(rows) if i not in drop], len(drop)


# ----------------------------------------------------------------------------- saved datasets


def _kind(info: store.DatasetInfo) -> str:
    return store.dataset_kind(info)


def split_dataset(name: str, eval_ratio: float = 0.1, seed: int = 42, *, train_name: str | None = None,
                  eval_name: str | None = None, overwrite: bool = False) -> tuple[store.DatasetInfo, store.DatasetInfo]:
    """Save ``<name>-train`` and ``<name>-eval`` (or the names given)."""
    rows = store.load_rows(name)
    meta = store.read_meta(name)
    train, ev = split_rows(rows, eval_ratio, seed)
    extra = {"kind": _kind(meta), "split_of": name, "eval_ratio": eval_ratio, "seed": seed}
    train_name, eval_name = train_name or f"{name}-train", eval_name or f"{name}-eval"
    # Both derived names are checked (length, characters, existence) before either is written.
    train_dir, eval_dir = store.dataset_dir(train_name), store.dataset_dir(eval_name)
    first, second = sorted((train_dir, eval_dir))
    with workspace.locked(first), workspace.locked(second):
        if not overwrite:
            store.check_absent([train_name, eval_name])
        info_train = store.save_dataset(train_name, train, source=f"split of {name} (train)",
                                        extra={**extra, "part": "train"}, overwrite=overwrite)
        info_eval = store.save_dataset(eval_name, ev, source=f"split of {name} (eval)",
                                       extra={**extra, "part": "eval"}, overwrite=overwrite)
    return info_train, info_eval


def mix_datasets(sources: list[MixSource], output: str, total: int | None = None, seed: int = 42,
                 *, overwrite: bool = False) -> tuple[store.DatasetInfo, list[dict]]:
    """Mix saved datasets into a new one; returns its info and the per-source report."""
    loaded = [(s, store.load_rows(s.name)) for s in sources]
    rows, report = mix_rows(loaded, total, seed)
    kind = formats.row_kind(rows[0])
    info = store.save_dataset(output, rows, source="mix of " + ", ".join(s.name for s in sources),
                              extra={"kind": kind, "mix": [asdict(s) for s in sources], "mix_report": report,
                                     "total": total, "seed": seed}, overwrite=overwrite)
    return info, report


def dedupe_dataset(name: str, by: str = "row") -> tuple[store.DatasetInfo, int]:
    """Remove duplicates from a saved dataset in place (atomically); returns (info, removed)."""
    with workspace.locked(store.dataset_dir(name)):  # read and write back as one step
        rows = store.load_rows(name)
        kept, removed = dedupe_rows(rows, by)
        meta = store.read_meta(name)
        if not removed:
            return meta, 0
        info = store.save_dataset(name, kept, source=meta.source, overwrite=True,
                                  extra={**meta.extra, "deduplicated": removed + int(meta.extra.get("deduplicated", 0))})
    return info, removed


def export_bytes(rows: list[dict], fmt: str, *, jsonl: bool | None = None) -> tuple[bytes, int]:
    """Rows in ``fmt`` as file content; returns ``(content, skipped)``.

    Alpaca and ShareGPT are written as one JSON array (as their tools expect), OpenAI as JSONL,
    unless ``jsonl`` says otherwise.
    """
    records, skipped = formats.export_records(rows, fmt)
    if jsonl is None:
        jsonl = fmt == "openai"
    if jsonl:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    else:
        body = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    return body.encode("utf-8"), skipped


def export_filename(name: str, fmt: str, jsonl: bool | None = None) -> str:
    if jsonl is None:
        jsonl = fmt == "openai"
    return f"{name}.{fmt}.{'jsonl' if jsonl else 'json'}"


def export_dataset(name: str, fmt: str, path: Path | str | None = None, *, jsonl: bool | None = None
                   ) -> tuple[Path, int, int]:
    """Write a saved dataset in ``fmt`` (atomically); returns ``(path, rows written, skipped)``.

    The default path is ``<workspace>/exports/datasets/<name>.<fmt>.json[l]``.
    """
    rows = store.load_rows(name)
    body, skipped = export_bytes(rows, fmt, jsonl=jsonl)
    target = Path(path).expanduser() if path else workspace.exports_dir() / "datasets" / export_filename(name, fmt, jsonl)
    if target.is_dir():
        target = target / export_filename(name, fmt, jsonl)
    try:
        workspace.atomic_write_bytes(target, body)
    except workspace.DiskError:
        raise
    except OSError as err:
        raise UserError("err.common.cannot_write", path=target, reason=err.strerror or str(err), field="path") from None
    return target, len(rows) - skipped, skipped
