"""Size limits on what users hand the workbench: uploads, packed documents, extracted text.

Each limit ends in a message about the one file that broke it, so the other files of an
ingest or import go on.

- ``max_upload_bytes()``: an upload through a page. The one setting is Streamlit's own
  ``server.maxUploadSize`` (MB) in ``.streamlit/config.toml``, or the environment variable
  ``STREAMLIT_SERVER_MAX_UPLOAD_SIZE`` that Streamlit also reads; the browser widget and this
  check then agree.
- ``MAX_UNPACKED_BYTES``: a DOCX (a zip) whose parts unpack to more than this is refused before
  it is opened (a "zip bomb" of a few KB can unpack to gigabytes).
- ``MAX_DOCUMENT_CHARS``: text extracted from one document; more is refused rather than cut.

    check_upload("big.pdf", 5 * 1024**3)   # raises UserError("err.limit.upload", ...)
"""
from __future__ import annotations

import os
import tomllib
import zipfile
from pathlib import Path

from core.errors import UserError

STREAMLIT_CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"
DEFAULT_UPLOAD_MB = 200
MAX_UNPACKED_BYTES = int(os.environ.get("WORKBENCH_MAX_UNPACKED_MB", "512")) * 1024 * 1024
MAX_DOCUMENT_CHARS = int(os.environ.get("WORKBENCH_MAX_DOCUMENT_CHARS", "20000000"))
MB = 1024 * 1024


def max_upload_bytes() -> int:
    """The upload cap in bytes: Streamlit's ``server.maxUploadSize`` (env first, then config.toml)."""
    raw = os.environ.get("STREAMLIT_SERVER_MAX_UPLOAD_SIZE")
    if raw is None:
        try:
            raw = tomllib.loads(STREAMLIT_CONFIG.read_text(encoding="utf-8"))["server"]["maxUploadSize"]
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            raw = DEFAULT_UPLOAD_MB
    try:
        return int(float(raw) * MB)
    except ValueError:
        return DEFAULT_UPLOAD_MB * MB


def check_upload(filename: str, size: int) -> None:
    """Refuse one uploaded file larger than the cap."""
    limit = max_upload_bytes()
    if size > limit:
        raise UserError("err.limit.upload", file=filename, size=round(size / MB, 2), limit=round(limit / MB, 2),
                        hint="err.limit.upload.hint")


def check_unpacked_size(path: Path) -> None:
    """Refuse a zip-based document (DOCX) whose parts unpack to more than ``MAX_UNPACKED_BYTES``.

    The sizes come from the zip's directory; Python's zipfile never unpacks a part beyond the
    size its directory states, so this bound holds when the parser reads it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # the parser reports a corrupt file in its own words
    if total > MAX_UNPACKED_BYTES:
        raise UserError("err.limit.unpacked", size=total // MB, limit=MAX_UNPACKED_BYTES // MB,
                        hint="err.limit.unpacked.hint")


def check_document_chars(text: str) -> None:
    """Refuse a document whose extracted text is longer than ``MAX_DOCUMENT_CHARS``."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise UserError("err.limit.chars", chars=len(text), limit=MAX_DOCUMENT_CHARS,
                        hint="err.limit.chars.hint")
