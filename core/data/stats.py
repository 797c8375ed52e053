"""Measure a dataset: rows, turns, characters, token lengths with a model's tokenizer, duplicates.

Token lengths are those training will see: each chat row is rendered with the tokenizer's own
chat template (``tools`` passed along when the row has them) and the rendered text is
tokenized in batches by the fast (Rust) tokenizer; text rows are tokenized as they are. A
tokenizer without a chat template falls back to ``role: content`` lines, and says so.

    lengths = token_lengths(rows, "/models/Qwen2-0.5B")
    length_summary(lengths, max_length=2048)   # {"p50": ..., "p95": ..., "max": ..., "over": ...}
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from core.errors import UserError

BATCH_SIZE = 2000


def _percentile(sorted_values: list[int], q: float) -> int:
    if not sorted_values:
        return 0
    k = min(len(sorted_values) - 1, max(0, int(round(q / 100 * (len(sorted_values) - 1)))))
    return int(sorted_values[k])


def basic_stats(rows: list[dict]) -> dict:
    """Counts that need no tokenizer.

    Returns:
        ``rows``, ``messages``, ``turns`` (assistant replies), ``chars`` (total), ``chars_p50``/
        ``chars_p95``/``chars_max`` per row, ``roles`` (count per role), ``with_system``,
        ``with_tools``, ``text_rows``.

    Example:
        >>> basic_stats([{"messages": [{"role": "user", "content": "hi"},
        ...              {"role": "assistant", "content": "hello"}]}])["turns"]
        1
    """
    roles: Counter = Counter()
    per_row: list[int] = []
    messages = with_system = with_tools = text_rows = 0
    for row in rows:
        if "messages" in row:
            msgs = row["messages"]
            messages += len(msgs)
            chars = 0
            for m in msgs:
                roles[m.get("role")] += 1
                chars += len(m.get("content") or "")
            if msgs and msgs[0].get("role") == "system":
                with_system += 1
            with_tools += bool(row.get("tools"))
        else:
            text_rows += 1
            chars = len(row.get("text") or "")
        per_row.append(chars)
    per_row.sort()
    return {
        "rows": len(rows), "messages": messages, "turns": roles.get("assistant", 0),
        "chars": sum(per_row), "chars_p50": _percentile(per_row, 50), "chars_p95": _percentile(per_row, 95),
        "chars_max": per_row[-1] if per_row else 0, "roles": dict(roles),
        "with_system": with_system, "with_tools": with_tools, "text_rows": text_rows,
    }


@lru_cache(maxsize=4)
def load_tokenizer(model_path: str):
    """``AutoTokenizer`` for a local model folder (cached; never downloads).

    Raises:
        UserError: the folder does not exist, or its tokenizer or chat template is broken.
    """
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise UserError("err.data.model_folder_missing", path=path, field="model",
                        hint="err.data.model_folder_missing.hint")
    from core.models.checks import check_chat_template
    from core.models.checks import load_tokenizer as load_checked_tokenizer

    tokenizer = load_checked_tokenizer(path)
    if getattr(tokenizer, "chat_template", None):
        check_chat_template(tokenizer)  # a template that raises or loops is named, not silently skipped
    return tokenizer


def _fallback_text(row: dict) -> str:
    return "\n".join(f"{m.get('role')}: {m.get('content')}" for m in row["messages"])


def render_texts(rows: list[dict], tokenizer) -> tuple[list[str], bool]:
    """Each row as the text training tokenizes; returns ``(texts, used_chat_template)``."""
    has_template = bool(getattr(tokenizer, "chat_template", None))
    texts: list[str] = []
    chat_batch: list[list[dict]] = []
    order: list[int] = []

    def flush() -> None:
        if not chat_batch:
            return
        try:
            rendered = tokenizer.apply_chat_template(chat_batch, tokenize=False)
        except Exception:  # one row the template rejects: render one by one, fall back for it
            rendered = []
            for conv in chat_batch:
                try:
                    rendered.append(tokenizer.apply_chat_template(conv, tokenize=False))
                except Exception:
                    rendered.append(_fallback_text({"messages": conv}))
        for idx, text in zip(order, rendered):
            texts[idx] = text
        chat_batch.clear()
        order.clear()

    for row in rows:
        if "messages" not in row:
            texts.append(row.get("text") or "")
            continue
        if not has_template:
            texts.append(_fallback_text(row))
            continue
        if row.get("tools"):
            try:
                texts.append(tokenizer.apply_chat_template(row["messages"], tools=row["tools"], tokenize=False))
            except Exception:
                texts.append(_fallback_text(row))
            continue
        texts.append("")
        order.append(len(texts) - 1)
        chat_batch.append(row["messages"])
        if len(chat_batch) >= BATCH_SIZE:
            flush()
    flush()
    return texts, has_template


def _encode_lengths(texts: list[str], tokenizer, batch_size: int) -> list[int]:
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
    lengths: list[int] = []
    for i in range(0, len(texts), batch_size):
        chunk = texts[i:i + batch_size]
        if backend is not None:
            encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
            lengths.extend(len(e.ids) for e in encode(chunk, add_special_tokens=False))
        else:
            ids = tokenizer(chunk, add_special_tokens=False)["input_ids"]
            lengths.extend(len(x) for x in ids)
    return lengths


def token_lengths(rows: list[dict], tokenizer: Any, batch_size: int = BATCH_SIZE) -> list[int]:
    """Tokens per row as training sees them (chat template applied), tokenized in batches.

    Args:
        rows: canonical rows.
        tokenizer: a loaded tokenizer, or a local model folder path.
        batch_size: rows per batch handed to the Rust tokenizer.

    Example:
        >>> token_lengths([{"text": "hello"}], tiny_tokenizer)   # doctest: +SKIP
        [2]
    """
    if isinstance(tokenizer, (str, Path)):
        tokenizer = load_tokenizer(str(tokenizer))
    texts, _ = render_texts(rows, tokenizer)
    return _encode_lengths(texts, tokenizer, batch_size)


def length_summary(lengths: Iterable[int], max_length: int | None = None) -> dict:
    """p50/p95/max/mean/total tokens, and how many rows exceed ``max_length`` (would be truncated).

    Example:
        >>> length_summary([10, 20, 30, 40], max_length=25)["over"]
        2
    """
    values = sorted(int(v) for v in lengths)
    n = len(values)
    over = sum(1 for v in values if max_length and v > max_length)
    return {
        "rows": n, "total": sum(values), "mean": round(sum(values) / n, 1) if n else 0.0,
        "p50": _percentile(values, 50), "p95": _percentile(values, 95), "max": values[-1] if n else 0,
        "max_length": max_length, "over": over, "over_pct": round(100 * over / n, 2) if n else 0.0,
    }


def row_key(row: dict, by: str = "row") -> str:
    """A hash identifying a row (``by="row"``: everything; ``"prompt"``: the conversation without
    its last assistant reply, so the same question with different answers counts as a duplicate)."""
    if by == "prompt" and "messages" in row:
        payload: Any = [(m.get("role"), (m.get("content") or "").strip()) for m in row["messages"][:-1]]
    elif "messages" in row:
        payload = [[(m.get("role"), (m.get("content") or "").strip()) for m in row["messages"]],
                   row.get("tools")]
    else:
        payload = (row.get("text") or "").strip()
    return hashlib.blake2b(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode(),
                           digest_size=16).hexdigest()


def find_duplicates(rows: list[dict], by: str = "row") -> list[list[int]]:
    """Groups of row indices (0-based) that are duplicates of each other; the first is the one kept.

    Example:
        >>> r = {"text": "a"}
        >>> find_duplicates([r, {"text": "b"}, r])
        [[0, 2]]
    """
    if by not in ("row", "prompt"):
        raise UserError("err.data.dup_key", by=by, hint="err.data.dup_key.hint")
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(row_key(row, by), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def dataset_stats(name: str, model_path: str | None = None, max_length: int | None = None,
                  *, record: bool = True) -> dict:
    """Statistics for a saved dataset; with a model, token lengths too (recorded in its meta).

    Returns:
        ``basic_stats`` + ``duplicates`` (rows removable) and, with a model, ``tokens``
        (``length_summary``) and ``lengths`` (per row).
    """
    from core.data import store

    rows = store.load_rows(name)
    out = basic_stats(rows)
    out["name"] = name
    out["duplicates"] = sum(len(g) - 1 for g in find_duplicates(rows))
    if model_path:
        tokenizer = load_tokenizer(str(model_path))
        lengths = token_lengths(rows, tokenizer)
        out["tokens"] = length_summary(lengths, max_length)
        out["tokens"]["tokenizer"] = str(model_path)
        out["lengths"] = lengths
        if record:
            store.update_meta(name, tokens=out["tokens"]["total"], tokenizer=str(model_path))
    return out
