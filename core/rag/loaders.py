"""Read one document file into clean plain text, whatever its format and encoding.

Formats: txt / md / any other text file (encoding detected: BOM, UTF-8, GBK/GB18030, then
charset-normalizer), pdf (pypdf), docx (python-docx), html (BeautifulSoup), csv/tsv (one line
per row, ``column: value``), jsonl/json (one line per record; chat ``messages`` are flattened).
A file that cannot give text raises :class:`LoadError` (a ``UserError``) with the reason —
empty, binary, corrupt PDF, password-protected — so an ingest can report it and go on.

    >>> doc = load_file("notes/faq.txt")        # doctest: +SKIP
    >>> doc.text[:40], doc.format, doc.encoding
    ('What is albedo? Albedo is the measure', 'text', 'gb18030')

``expand_paths`` turns files and folders (recursively, hidden entries skipped) into a file list.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from core import limits
from core.errors import UserError

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown", ".rst", ".log"}
FORMAT_BY_SUFFIX = {
    ".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html",
    ".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".json": "json",
    ".md": "markdown", ".markdown": "markdown",
}
# Extensions shown in upload widgets; any other file is still tried as text.
SUPPORTED_SUFFIXES = sorted(TEXT_SUFFIXES | set(FORMAT_BY_SUFFIX))

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# Text keys of common dataset rows, in the order they read naturally.
_ROW_TEXT_KEYS = ("title", "instruction", "question", "prompt", "input", "text", "content",
                  "output", "answer", "response", "chosen")


class LoadError(UserError):
    """This one file gives no usable text; ``str(err)`` says why."""


@dataclass
class LoadedText:
    text: str
    format: str          # text | markdown | pdf | docx | html | csv | jsonl | json
    encoding: str | None  # for byte formats decoded by us; None for pdf/docx


def clean_text(text: str) -> str:
    """Normalize newlines and spaces, drop control characters, squeeze blank lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def _looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with BOM is text
        return False
    if b"\x00" in head:
        return True
    # Many C0 control bytes other than tab/newline/formfeed: not a text file.
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > len(head) * 0.05


def _plausible_chinese(text: str) -> bool:
    """Mostly common Chinese characters, punctuation and ASCII: a GB decode that makes sense."""
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return False
    common = sum(1 for c in non_ascii if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f"
                 or "\uff00" <= c <= "\uffef" or c in "“”‘’…—·")
    return common >= 0.9 * len(non_ascii)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Bytes of a text file -> (text, encoding). Raises LoadError for binary data.

    Order: BOM (UTF-8/16), strict UTF-8, GB18030 (a superset of GBK/GB2312) when the result
    reads as Chinese — short GBK files fool statistical detectors — then charset-normalizer.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    if _looks_binary(data):
        raise LoadError("err.rag.load.binary", hint="err.rag.load.binary.hint")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
        if _plausible_chinese(text):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise LoadError("err.rag.load.encoding", hint="err.rag.load.encoding.hint")
    return str(best), best.encoding


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError("err.rag.load.pdf_password", hint="err.rag.load.pdf_password.hint")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except LoadError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError, EOFError) as err:
        raise LoadError("err.rag.load.pdf_corrupt", reason=f"{type(err).__name__}: {err}",
                        hint="err.rag.load.pdf_corrupt.hint") from None
    text = "\n\n".join(pages)
    if not text.strip():
        raise LoadError("err.rag.load.pdf_no_text", hint="err.rag.load.pdf_no_text.hint")
    return text


def _read_docx(path: Path) -> str:
    import zipfile

    from docx import Document

    limits.check_unpacked_size(path)  # before the parser unpacks anything
    try:
        document = Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as err:
        raise LoadError("err.rag.load.docx_corrupt", reason=type(err).__name__,
                        hint="err.rag.load.docx_corrupt.hint") from None
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells]
            parts.append(" | ".join(c for c in cells if c))
    return "\n".join(parts)


def _read_html(data: bytes) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    raw, encoding = decode_bytes(data)
    soup = BeautifulSoup(raw, "lxml")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    return soup.get_text("\n"), encoding


def _row_to_text(row) -> str:
    if isinstance(row, str):
        return row
    if isinstance(row, dict):
        messages = row.get("messages") or row.get("conversations")
        if isinstance(messages, list):
            lines = []
            for m in messages:
                if isinstance(m, dict):
                    role = m.get("role") or m.get("from") or ""
                    content = m.get("content") or m.get("value") or ""
                    lines.append(f"{role}: {content}" if role else str(content))
            return "\n".join(lines)
        picked = [str(row[k]) for k in _ROW_TEXT_KEYS if isinstance(row.get(k), str) and row[k].strip()]
        if picked:
            return "\n".join(picked)
        return "; ".join(f"{k}: {v}" for k, v in row.items() if isinstance(v, (str, int, float)))
    if isinstance(row, list):
        return "\n".join(_row_to_text(r) for r in row)
    return "" if row is None else str(row)


def _read_jsonl(text: str) -> str:
    records, bad = [], 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            records.append(_row_to_text(json.loads(line)))
        except ValueError:
            bad += 1
    if bad and not records:
        raise LoadError("err.rag.load.jsonl", hint="err.rag.load.jsonl.hint")
    return "\n\n".join(r for r in records if r.strip())


def _read_json(text: str) -> str:
    try:
        obj = json.loads(text)
    except ValueError as err:
        try:  # many ".json" files are really JSON lines
            return _read_jsonl(text)
        except LoadError:
            raise LoadError("err.rag.load.json", reason=str(err), hint="err.rag.load.json.hint") from None
    rows = obj if isinstance(obj, list) else [obj]
    return "\n\n".join(t for t in (_row_to_text(r) for r in rows) if t.strip())


def _read_csv(text: str, suffix: str) -> str:
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
    except csv.Error:
        dialect = csv.excel_tab if suffix == ".tsv" else csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return ""
    header = [h.strip() for h in rows[0]]
    has_header = len(rows) > 1 and all(header) and len(set(header)) == len(header)
    body = rows[1:] if has_header else rows
    lines = []
    for r in body:
        if has_header:
            lines.append("; ".join(f"{h}: {c.strip()}" for h, c in zip(header, r) if c.strip()))
        else:
            lines.append("; ".join(c.strip() for c in r if c.strip()))
    return "\n".join(lines)


def load_bytes(data: bytes, filename: str) -> LoadedText:
    """Like :func:`load_file` for bytes in memory (an upload); ``filename`` gives the format.

    An upload larger than the cap (``core.limits``) is refused with a message about this file.
    """
    import tempfile

    limits.check_upload(Path(filename).name, len(data))
    suffix = Path(filename).suffix.lower()
    if suffix in (".pdf", ".docx"):  # the parsers want a file
        with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
            tmp.write(data)
            tmp.flush()
            return load_file(Path(tmp.name))
    return _load(data, suffix)


def load_file(path: Path | str) -> LoadedText:
    """Read ``path`` into cleaned text. Raises LoadError (why it was skipped) or UserError."""
    path = Path(path)
    if not path.is_file():
        raise LoadError("err.rag.load.not_found", path=path)
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise LoadError("err.rag.load.empty")
    if suffix == ".pdf":
        return _finish(_read_pdf(path), "pdf", None)
    if suffix == ".docx":
        return _finish(_read_docx(path), "docx", None)
    return _load(path.read_bytes(), suffix)


def _load(data: bytes, suffix: str) -> LoadedText:
    if not data:
        raise LoadError("err.rag.load.empty")
    fmt = FORMAT_BY_SUFFIX.get(suffix, "text")
    if fmt == "html":
        text, encoding = _read_html(data)
        return _finish(text, fmt, encoding)
    if fmt in ("pdf", "docx"):
        raise LoadError("err.rag.load.bytes_only", fmt=fmt.upper())  # load_bytes handles these
    text, encoding = decode_bytes(data)
    if fmt == "csv":
        text = _read_csv(text, suffix)
    elif fmt == "jsonl":
        text = _read_jsonl(text)
    elif fmt == "json":
        text = _read_json(text)
    return _finish(text, fmt, encoding)


def _finish(text: str, fmt: str, encoding: str | None) -> LoadedText:
    limits.check_document_chars(text)
    text = clean_text(text)
    if not text:
        raise LoadError("err.rag.load.no_text")
    return LoadedText(text=text, format=fmt, encoding=encoding)


def expand_paths(paths) -> list[Path]:
    """Files and folders -> a sorted list of files (folders walked recursively, hidden skipped).

    A path that does not exist is kept, so the caller reports it per file.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(part.startswith(".") for part in rel.parts):
                    files.append(child)
        else:
            files.append(path)
    return files
