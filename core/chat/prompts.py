"""Prompt sets: the questions a comparison or an evaluation asks, each with an optional reference.

Files are read by the dataset importer's reader (core.data.readers: the one text decoder for
UTF-8/GBK/BOM/CRLF, JSON/JSONL/CSV/TSV/Parquet) and columns are found by the importer's names
(core.data.formats.PROMPT_NAMES / RESPONSE_NAMES), so a sheet with 问题/答案 columns, an Alpaca
file, chat rows or a plain list of lines all work as prompts.

    items = parse_prompt_text("Who are you? ||| I am 小智\\n你是谁？")
    items = parse_prompt_file(Path("qa.csv").read_bytes(), "qa.csv")   # 问题,答案
    items = prompts_from_rows(eval_rows)   # a dataset's rows: reference = the last assistant reply
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.data.formats import PROMPT_NAMES, RESPONSE_NAMES, convert, detect_format
from core.data.readers import decode_bytes, read_bytes
from core.errors import UserError

MAX_PROMPTS = 2000
REFERENCE_COLUMN = "reference"  # the column a comparison's CSV writes its references to
REFERENCE_NAMES = (REFERENCE_COLUMN, *RESPONSE_NAMES)
REFERENCE_SEPARATOR = "|||"
TEXT_SUFFIXES = ("", ".txt", ".text", ".md")
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")
_CHAT_FORMATS = ("sharegpt", "openai")


@dataclass
class PromptItem:
    """One prompt; ``messages`` (when set) is the whole context to answer, ending with the user turn."""

    prompt: str
    reference: str | None = None
    messages: list[dict] | None = None

    def chat_messages(self) -> list[dict]:
        return list(self.messages) if self.messages else [{"role": "user", "content": self.prompt}]


def limit_prompts(items: list[PromptItem]) -> list[PromptItem]:
    """``items`` when there are 1..MAX_PROMPTS of them, else a UserError saying what to do."""
    if not items:
        raise UserError("err.prompts.empty", field="prompts", hint="err.prompts.empty.hint")
    if len(items) > MAX_PROMPTS:
        raise UserError("err.prompts.too_many", field="prompts", hint="err.prompts.too_many.hint",
                        n=len(items), limit=MAX_PROMPTS)
    return items


def parse_prompt_text(text: str) -> list[PromptItem]:
    """One prompt per non-empty line; ``prompt ||| reference`` (or ``prompt<TAB>reference``) adds
    a reference answer. ``|||`` is there because a browser text box cannot take a TAB."""
    items = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        prompt, sep, reference = line.partition(REFERENCE_SEPARATOR)
        if not sep:
            prompt, sep, reference = line.partition("\t")
        items.append(PromptItem(prompt.strip(), reference.strip() if sep and reference.strip() else None))
    return limit_prompts(items)


def _column(record: dict, names: tuple[str, ...], skip: str | None = None) -> str | None:
    """The record's first key (in ``names`` order, case-insensitive, not ``skip``) holding a value."""
    lowered = {str(k).strip().lower(): k for k in record if k != skip}
    for name in names:
        key = lowered.get(name)
        if key is not None and record[key] is not None and str(record[key]).strip():
            return key
    return None


def _item_from_record(record, line: int, chat_mapping=None) -> PromptItem:
    if isinstance(record, str):
        return PromptItem(record.strip())
    if not isinstance(record, dict):
        raise UserError("err.prompts.not_object", field="prompts", line=line)
    if chat_mapping is not None or isinstance(record.get("messages"), list):
        row = convert(record, chat_mapping)[0] if chat_mapping is not None else record
        row_items = prompts_from_rows([row])
        if not row_items:
            raise UserError("err.prompts.no_user_turn", field="prompts", line=line)
        return row_items[0]
    prompt_key = _column(record, PROMPT_NAMES)
    if prompt_key is None:
        raise UserError("err.prompts.no_prompt", field="prompts", hint="err.prompts.columns.hint",
                        line=line, names=", ".join(PROMPT_NAMES))
    prompt = str(record[prompt_key])
    query_key = _column(record, ("input",), skip=prompt_key)
    if str(prompt_key).lower() == "instruction" and query_key:  # Alpaca: instruction + input
        prompt = f"{prompt}\n{record[query_key]}"
    reference_key = _column(record, REFERENCE_NAMES)
    reference = str(record[reference_key]) if reference_key else None
    return PromptItem(prompt.strip(), reference)


def _chat_mapping(records: list):
    dicts = [r for r in records if isinstance(r, dict)]
    if not dicts or any(isinstance(r.get("messages"), list) for r in dicts):
        return None
    try:
        mapping = detect_format(dicts)
    except UserError:
        return None
    return mapping if mapping.format in _CHAT_FORMATS else None


def parse_prompt_file(data: bytes, filename: str) -> list[PromptItem]:
    """Prompts from a file: .txt (one per line, ``prompt ||| reference`` or TAB allowed); or
    .jsonl/.json/.csv/.tsv/.parquet records whose prompt column is one the dataset importer knows
    (prompt, question, instruction (+ input), 问题, 提问 …) with an optional reference column
    (reference, answer, output, 答案, 回答 …), strings, or chat rows (messages / ShareGPT
    conversations) whose last assistant turn is the reference."""
    suffix = Path(filename or "").suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return parse_prompt_text(decode_bytes(data)[0])
    if suffix not in RECORD_SUFFIXES:
        raise UserError("err.prompts.file_type", field="prompts", hint="err.prompts.file_type.hint",
                        suffix=suffix)
    result = read_bytes(data, filename)
    if result.errors:
        first = result.errors[0]
        raise UserError("err.prompts.bad_line", field="prompts", line=first.line,
                        reason=f"{first.reason} {first.detail}".strip())
    records = [record for _, record in result.records]
    if suffix in (".csv", ".tsv") and not any(_column(r, PROMPT_NAMES) for r in records):
        raise UserError("err.prompts.no_prompt_column", field="prompts", hint="err.prompts.columns.hint",
                        names=", ".join(PROMPT_NAMES))
    mapping = _chat_mapping(records)
    return limit_prompts([_item_from_record(record, line, mapping) for line, record in result.records])


def read_prompt_file(path: Path | str, references: Path | str | None = None) -> list[PromptItem]:
    """``parse_prompt_file`` on a path; ``references`` is an optional file with one answer per line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError("err.prompts.not_found", field="prompts", path=str(path))
    items = parse_prompt_file(path.read_bytes(), path.name)
    if references:
        ref_path = Path(references).expanduser()
        if not ref_path.is_file():
            raise UserError("err.prompts.references_not_found", field="references", path=str(ref_path))
        lines = decode_bytes(ref_path.read_bytes())[0].split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) != len(items):
            raise UserError("err.prompts.references_count", field="references",
                            hint="err.prompts.references_count.hint", n=len(items), lines=len(lines))
        for item, line in zip(items, lines):
            item.reference = line.strip() or None
    return items


def prompts_from_rows(rows: list[dict], limit: int | None = None) -> list[PromptItem]:
    """Chat rows -> prompts whose reference is the last assistant reply (duplicates dropped).

    The context is every message before that reply, so multi-turn rows keep their history.
    Rows without a user turn (plain text rows) are skipped.
    """
    items: list[PromptItem] = []
    seen: set[str] = set()
    for row in rows:
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list):
            continue
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
        context = messages[:last] if last is not None else messages
        if not context or context[-1].get("role") != "user":
            continue
        reference = messages[last]["content"] if last is not None else None
        key = json.dumps([context, reference], ensure_ascii=False, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        items.append(PromptItem(str(context[-1].get("content", "")), reference,
                                [{"role": m["role"], "content": m.get("content", "")} for m in context]))
        if limit and len(items) >= limit:
            break
    return items
