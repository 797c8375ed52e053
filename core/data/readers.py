"""Bytes or a path on the server -> parsed records, each tagged with its line (or row) number.

Handles JSON (an array, an object holding one, or JSON lines saved as .json), JSONL, CSV/TSV,
Parquet and TXT (one row per line, per blank-line paragraph, or the whole file). Text is
decoded as UTF-8 (with or without BOM, CRLF or LF) when it can be, else with the encoding
``charset-normalizer`` finds — GBK/GB18030 is preferred when the text reads as Chinese. A
record that cannot be parsed becomes a ``BadRow`` with its line; a file that is not a dataset
at all (empty, binary, wrong type) raises ``UserError`` with what to do next. Nothing else
escapes. This module knows nothing about formats: records are whatever the file holds.

    >>> read_bytes(b'{"a": 1}\\n{oops\\n', "x.jsonl").records
    [(1, {'a': 1})]
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data.validate import BadRow, bad_row
from core.errors import UserError

FILE_TYPES = ("json", "jsonl", "csv", "tsv", "parquet", "txt")
TEXT_SPLITS = ("line", "paragraph", "file")
_EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
               ".tsv": "tsv", ".parquet": "parquet", ".txt": "txt", ".text": "txt", ".md": "txt"}
_CJK = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_JSON_ELEMENT_START = re.compile(r"\n([ \t]*)[\{\[]")


@dataclass
class ReadResult:
    """What a file held: ``records`` as ``(line, object)``, plus the lines that could not be parsed."""

    records: list[tuple[int, Any]]
    errors: list[BadRow] = field(default_factory=list)
    file_type: str = ""
    encoding: str | None = None
    notes: list[dict] = field(default_factory=list)


# ----------------------------------------------------------------------------- decoding


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    return False


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a text file; returns ``(text, encoding)`` with newlines normalised to ``\\n``.

    Raises:
        UserError: the file is empty, binary, or in no encoding we can read.

    Example:
        >>> decode_bytes("你好".encode("gbk"))
        ('你好', 'gb18030')
    """
    if not data or not data.strip():
        raise UserError("err.data.file_empty", hint="err.data.file_empty.hint")
    if data.startswith(codecs.BOM_UTF8):
        text, enc = data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, enc = data.decode("utf-16", errors="replace"), "utf-16"
    else:
        if _looks_binary(data):
            raise _binary_error()
        try:
            text, enc = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, enc = _decode_guess(data)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UserError("err.data.file_empty", hint="err.data.file_empty.hint")
    sample = text[:20000]
    if len(_CONTROL.findall(sample)) > max(2, len(sample) // 200):
        raise _binary_error()
    return text, enc


def _binary_error() -> UserError:
    return UserError("err.data.binary", hint="err.data.binary.hint")


def _decode_guess(data: bytes) -> tuple[str, str]:
    # Chinese files on Windows are usually GBK; charset-normalizer can mistake short GBK text
    # for Big5/CP949, so try GB18030 (a GBK superset) first and keep it when it reads as Chinese.
    try:
        text = data.decode("gb18030")
        non_ascii = [c for c in text[:20000] if ord(c) > 127]
        if non_ascii and sum(bool(_CJK.match(c)) for c in non_ascii) >= 0.6 * len(non_ascii):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None or not best.encoding:
        raise _binary_error()
    enc = best.encoding
    try:
        return data.decode(enc), enc
    except (UnicodeDecodeError, LookupError):
        return data.decode(enc if enc else "latin-1", errors="replace"), enc


# ----------------------------------------------------------------------------- file types


def sniff_file_type(filename: str, data: bytes) -> str:
    """The file type from the name's extension, else from the first bytes.

    Example:
        >>> sniff_file_type("x", b'[{"a": 1}]')
        'json'
    """
    ext = Path(filename or "").suffix.lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if data[:4] == b"PAR1":
        return "parquet"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        return "jsonl"
    return "txt"


def read_bytes(data: bytes, filename: str = "", file_type: str | None = None,
               text_split: str = "line") -> ReadResult:
    """Parse a file's bytes into records.

    Args:
        data: the file's content.
        filename: used for the extension only.
        file_type: force one of ``FILE_TYPES`` (default: from the name / content).
        text_split: for TXT, one row per ``line``, per blank-line ``paragraph`` or the whole ``file``.

    Raises:
        UserError: empty, binary or unreadable files.
    """
    file_type = file_type or sniff_file_type(filename, data)
    if file_type not in FILE_TYPES:
        raise UserError("err.data.unknown_file_type", file_type=file_type,
                        hint="err.common.use_one_of", choices=", ".join(FILE_TYPES))
    if file_type == "parquet":
        return _read_parquet(data)
    text, enc = decode_bytes(data)
    if file_type == "json":
        result = _read_json(text)
    elif file_type == "jsonl":
        result = _read_jsonl(text) if not text.lstrip().startswith("[") else _read_json(text)
    elif file_type in ("csv", "tsv"):
        result = _read_csv(text, "\t" if file_type == "tsv" else None)
    else:
        result = _read_txt(text, text_split)
    result.encoding = enc
    if enc not in ("utf-8", "ascii"):
        result.notes.append({"code": "encoding", "encoding": enc})
    return result


def read_path(path: Path | str, file_type: str | None = None, text_split: str = "line") -> ReadResult:
    """Parse a file on the server (see ``read_bytes``)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserError("err.common.path_is_folder", path=path, hint="err.common.give_one_file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError("err.common.file_not_found", path=path, field="path", hint="err.common.check_path") from None
    except OSError as err:
        raise UserError("err.common.cannot_read", path=path, reason=err.strerror or str(err), field="path") from None
    return read_bytes(data, path.name, file_type, text_split)


def _read_jsonl(text: str) -> ReadResult:
    records, errors = [], []
    loads = json.loads
    for no, line in enumerate(text.split("\n"), 1):
        if not line or line.isspace():
            continue
        try:
            records.append((no, loads(line)))
        except ValueError as err:
            errors.append(bad_row(no, "malformed_json", _json_msg(err)))
        except RecursionError:
            errors.append(bad_row(no, "malformed_json", "nested too deeply"))
    return ReadResult(records, errors, "jsonl")


def _json_msg(err: ValueError) -> str:
    return getattr(err, "msg", None) or str(err)[:120]


def _read_json(text: str) -> ReadResult:
    stripped = text.lstrip()
    if not stripped.startswith("["):
        try:
            obj = json.loads(text)
        except RecursionError:
            return ReadResult([], [bad_row(1, "malformed_json", "nested too deeply")], "json")
        except ValueError as err:
            # Many ".json" files are really JSON lines.
            if stripped.startswith("{") and "\n" in text.strip():
                result = _read_jsonl(text)
                if result.records:
                    result.file_type = "jsonl"
                    return result
            line = getattr(err, "lineno", 1)
            return ReadResult([], [bad_row(line, "malformed_json", _json_msg(err))], "json")
        if isinstance(obj, dict):
            lists = [k for k, v in obj.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
            if len(lists) == 1 or "data" in lists:
                key = "data" if "data" in lists else lists[0]
                return ReadResult([(i, r) for i, r in enumerate(obj[key], 1)], [], "json",
                                  notes=[{"code": "json_key", "key": key}])
            return ReadResult([(1, obj)], [], "json")
        if isinstance(obj, list):
            return ReadResult([(i, r) for i, r in enumerate(obj, 1)], [], "json")
        return ReadResult([], [bad_row(1, "not_an_object", type(obj).__name__)], "json")
    return _read_json_array(text)


def _read_json_array(text: str) -> ReadResult:
    """Parse a top-level array element by element, so each row knows its line and one broken
    element does not lose the rest (we resynchronise at the next element that starts a line)."""
    try:  # fast path: valid JSON; line numbers from a cheap scan of element starts
        items = json.loads(text)
    except RecursionError:
        return ReadResult([], [bad_row(1, "malformed_json", "nested too deeply")], "json")
    except ValueError:
        items = None
    decoder = json.JSONDecoder()
    records: list[tuple[int, Any]] = []
    errors: list[BadRow] = []
    pos = text.index("[") + 1
    n = len(text)
    line = text.count("\n", 0, pos) + 1
    last = pos
    ws = " \t\n,"

    def skip(p: int) -> int:
        while p < n and text[p] in ws:
            p += 1
        return p

    index = 0
    while True:
        pos = skip(pos)
        if pos >= n:
            if items is None:
                errors.append(bad_row(text.count("\n") + 1, "malformed_json", "the array is not closed"))
            break
        if text[pos] == "]":
            break
        line += text.count("\n", last, pos)
        last = pos
        if items is not None and index < len(items):
            # Valid file: jump over the element using the decoder only for its end position.
            try:
                _, end = decoder.raw_decode(text, pos)
            except (ValueError, RecursionError):
                end = n
            records.append((line, items[index]))
            index += 1
            pos = end
            continue
        try:
            obj, end = decoder.raw_decode(text, pos)
            records.append((line, obj))
            pos = end
        except (ValueError, RecursionError) as err:
            msg = _json_msg(err) if isinstance(err, ValueError) else "nested too deeply"
            errors.append(bad_row(line, "malformed_json", msg))
            nxt = _next_element(text, pos + 1)
            if nxt is None:
                break
            pos = nxt
    return ReadResult(records, errors, "json")


def _next_element(text: str, start: int) -> int | None:
    """Position of the next ``{``/``[`` that begins a line, after an element boundary."""
    for m in _JSON_ELEMENT_START.finditer(text, start):
        before = text[:m.start()].rstrip()
        if before.endswith((",", "[")) or before.endswith("}"):
            return m.end() - 1
    return None


def _read_csv(text: str, delimiter: str | None) -> ReadResult:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    if delimiter is None:
        head = text[:8192]
        try:
            delimiter = csv.Sniffer().sniff(head, delimiters=",\t;|").delimiter
        except csv.Error:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, Any]] = []
    errors: list[BadRow] = []
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        raise UserError("err.data.csv_header", reason=str(err), hint="err.data.csv_header.hint") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    if not any(header):
        raise UserError("err.data.csv_no_header", hint="err.data.csv_header.hint")
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            errors.append(bad_row(start, "bad_csv_row", str(err)))
            start = reader.line_num + 1
            continue
        if cells and any(c.strip() for c in cells):
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                errors.append(bad_row(start, "bad_csv_row", f"{len(cells)} cells, header has {len(header)}"))
            else:
                records.append((start, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}))
        start = reader.line_num + 1
    return ReadResult(records, errors, "csv" if delimiter != "\t" else "tsv")


def _read_txt(text: str, split: str) -> ReadResult:
    if split not in TEXT_SPLITS:
        raise UserError("err.data.unknown_text_split", split=split,
                        hint="err.common.use_one_of", choices=", ".join(TEXT_SPLITS))
    if split == "file":
        return ReadResult([(1, {"text": text.strip()})], [], "txt")
    records: list[tuple[int, Any]] = []
    if split == "line":
        for no, line in enumerate(text.split("\n"), 1):
            if line.strip():
                records.append((no, {"text": line.strip()}))
        return ReadResult(records, [], "txt")
    start, buf = None, []
    for no, line in enumerate(text.split("\n") + [""], 1):
        if line.strip():
            if start is None:
                start = no
            buf.append(line)
        elif buf:
            records.append((start, {"text": "\n".join(buf).strip()}))
            start, buf = None, []
    return ReadResult(records, [], "txt")


def _read_parquet(data: bytes) -> ReadResult:
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        rows = table.to_pylist()
    except Exception as err:  # pyarrow raises many types for a corrupt file
        raise UserError("err.data.parquet", reason=str(err)[:200], hint="err.data.parquet.hint") from None
    return ReadResult([(i, r) for i, r in enumerate(rows, 1)], [], "parquet")


# ----------------------------------------------------------------------------- dataset_info.json


def read_dataset_info(path: Path | str) -> dict[str, dict]:
    """The entries of a LLaMA-Factory ``dataset_info.json`` (name -> entry).

    Raises:
        UserError: the file is missing or not a JSON object of entries.
    """
    result = read_path(path, "json")
    objs = [r for _, r in result.records]
    if len(objs) != 1 or not isinstance(objs[0], dict) or not all(isinstance(v, dict) for v in objs[0].values()):
        raise UserError("err.data.not_dataset_info", path=path, hint="err.data.not_dataset_info.hint")
    return objs[0]


def resolve_dataset_info_entry(path: Path | str, entry_name: str) -> tuple[dict, Path]:
    """One entry of a ``dataset_info.json`` and the data file it points to.

    Raises:
        UserError: unknown entry, or an entry that would download from a hub.
    """
    entries = read_dataset_info(path)
    if entry_name not in entries:
        raise UserError("err.data.no_entry", entry=entry_name, path=path, field="entry",
                        hint="err.data.entries", entries=", ".join(list(entries)[:20]))
    entry = entries[entry_name]
    if not entry.get("file_name"):
        raise UserError("err.data.entry_hub", entry=entry_name, hint="err.data.entry_hub.hint")
    data_path = Path(path).expanduser().parent / entry["file_name"]
    if data_path.is_dir():
        files = sorted(p for p in data_path.iterdir() if p.suffix.lower() in _EXTENSIONS)
        if not files:
            raise UserError("err.data.no_data_file", path=data_path)
        data_path = files[0]
    return entry, data_path
