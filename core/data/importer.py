"""The one import pipeline, used by the Datasets page and ``python -m core data import``.

read (readers) -> detect or take the mapping (formats) -> convert each record -> fill
``{{name}}``/``{{author}}`` placeholders -> validate (validate) -> ``ImportReport``.
Nothing is written until ``save_import`` is called with the report; with ``on_error="abort"``
a report that has bad rows saves nothing. Saving goes through ``store.save_dataset``, which is
atomic, so a failed or aborted import leaves every saved dataset byte-identical.

    report = analyze_path("/data/alpaca.json", ImportOptions(placeholders={"name": "Aria"}))
    print(report.summary())             # counts, bad rows with line + reason
    info = save_import(report, "alpaca", on_error="skip")
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data import formats, readers, store
from core.data.formats import Mapping, RowError
from core.data.validate import DEFAULT_MAX_CHARS, BadRow, bad_row, check_row
from core.errors import UserError

ON_ERROR = ("skip", "abort")
# --format values: the row formats plus "csv" (a sheet with question/answer columns).
FORMAT_CHOICES = ("auto", *formats.FORMATS, "csv")
# Note codes an ImportReport can carry (pages translate ``datasets.note.<code>``).
NOTE_TEXTS = {
    "encoding": "Decoded as {encoding}.",
    "json_key": "Rows were read from the {key!r} list in the file.",
    "media_ignored": "{count} rows had images/audio/video: their text is kept, the media are not used.",
    "placeholders_filled": "Filled placeholders: {names}.",
    "placeholders_unfilled": "Placeholders left unfilled: {names}. Fill them before saving if they should not stay.",
    "tools": "{count} rows carry tool definitions (kept as the row's 'tools').",
    "text_rows": "Plain text for continued pre-training: rows are stored as {{\"text\": ...}}.",
    "preference_rows": "Preference pairs (chosen/rejected) for DPO or ORPO training.",
    "kto_rows": "Replies labelled good ({good}) or bad ({bad}) for KTO training.",
    "kto_one_label": "Every reply is labelled {label}: KTO needs good and bad examples.",
    "loss_weight_zero": "{count} assistant replies have loss_weight 0: they are context, not learnt.",
}


@dataclass
class ImportOptions:
    """How to read and map a file. Every field has a working default (auto-detect everything).

    Args:
        format: ``auto`` or one of ``FORMAT_CHOICES``.
        mapping: an explicit mapping (dict in our or dataset_info.json shape, or a Mapping);
            overrides ``format``.
        placeholders: values for ``{{key}}`` placeholders, e.g. ``{"name": "Aria", "author": "Lab"}``.
        max_chars: longest row accepted (characters).
        file_type: force a file type (json, jsonl, csv, tsv, parquet, txt).
        text_split: for TXT files: line | paragraph | file (default: line, or paragraph for MOSS).
        entry: the entry to use when the path is a dataset_info.json.
    """

    format: str = "auto"
    mapping: Mapping | dict | None = None
    placeholders: dict[str, str] = field(default_factory=dict)
    max_chars: int | None = DEFAULT_MAX_CHARS
    file_type: str | None = None
    text_split: str | None = None
    entry: str | None = None


@dataclass
class ImportReport:
    """Everything the user needs to decide: save the good rows, or abort."""

    source: str
    file_type: str
    encoding: str | None
    mapping: Mapping
    total: int
    rows: list[dict]
    bad_rows: list[BadRow]
    notes: list[dict] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """sft, pt, preference or kto (formats.KINDS)."""
        return self.mapping.kind

    @property
    def good(self) -> int:
        return len(self.rows)

    def summary(self, max_bad: int | None = None) -> dict:
        bad = self.bad_rows if max_bad is None else self.bad_rows[:max_bad]
        return {
            "source": self.source, "file_type": self.file_type, "encoding": self.encoding,
            "format": self.mapping.format, "mapping": self.mapping.to_dict(), "kind": self.kind,
            "total": self.total, "rows": self.good, "bad": len(self.bad_rows),
            "bad_rows": [{"line": b.line, "reason": b.reason, "code": b.code} for b in bad],
            "notes": [note_text(n) for n in self.notes],
        }


def note_text(note: dict) -> str:
    """A note in English (pages use their own translations of ``datasets.note.<code>``)."""
    params = {k: v for k, v in note.items() if k != "code"}
    try:
        return NOTE_TEXTS[note["code"]].format(**params)
    except (KeyError, IndexError, ValueError):
        return str(note)


def _mapping_for(options: ImportOptions, records: list) -> Mapping:
    if options.mapping:
        m = options.mapping if isinstance(options.mapping, Mapping) else Mapping.from_dict(options.mapping)
        return m
    fmt = options.format or "auto"
    if fmt not in FORMAT_CHOICES:
        raise UserError("err.data.unknown_format", fmt=fmt, field="format",
                        hint="err.common.use_one_of", choices=", ".join(FORMAT_CHOICES))
    objs = [r for _, r in records[:200]]
    if fmt in ("auto", "csv"):
        mapping = formats.detect_format(objs)
        if fmt == "csv" and mapping.format != "alpaca":
            raise UserError("err.data.no_columns", field="mapping", hint="err.data.no_columns.hint")
        return mapping
    mapping = Mapping.default(fmt)
    if fmt not in ("sharegpt", "openai", "alpaca", "moss"):
        return mapping
    try:  # keep the forced format but learn the keys / role names the file actually uses
        seen = formats.detect_format(objs)
    except UserError:
        return mapping
    chat_formats = ("sharegpt", "openai")
    if fmt in chat_formats and seen.format in chat_formats:
        mapping.columns["messages"] = seen.columns["messages"]
        mapping.tags.update(seen.tags)
    elif seen.format == fmt:
        mapping = seen
    return mapping


def _file_type_for(options: ImportOptions) -> str | None:
    if options.file_type:
        return options.file_type
    if options.format == "csv":
        return "csv"
    return None


def analyze_bytes(data: bytes, filename: str = "", options: ImportOptions | None = None) -> ImportReport:
    """Read, map, convert, fill and validate a file's bytes; writes nothing.

    Raises:
        UserError: only for problems with the whole file (empty, binary, unknown format,
            preference data); problems with single rows are in ``report.bad_rows``.
    """
    options = options or ImportOptions()
    split = options.text_split or "line"
    file_type = _file_type_for(options)
    if options.format == "text" and file_type is None:
        file_type = readers.sniff_file_type(filename, data)
    result = readers.read_bytes(data, filename, file_type, split)
    if (result.file_type == "txt" and options.text_split is None and options.format in ("auto", "moss")
            and any(formats._MOSS_MARK.search(r.get("text", "")) for _, r in result.records[:50])):
        result = readers.read_bytes(data, filename, "txt", "paragraph")  # a MOSS dialogue spans lines
    return _analyze(result, filename or "upload", options)


def analyze_path(path: Path | str, options: ImportOptions | None = None) -> ImportReport:
    """Like ``analyze_bytes`` for a file on the server; a ``dataset_info.json`` needs ``options.entry``."""
    options = options or ImportOptions()
    path = Path(path).expanduser()
    if path.is_dir() and (path / "dataset_info.json").exists():
        path = path / "dataset_info.json"
    if path.name == "dataset_info.json" or options.entry:
        info_path = path
        if not options.entry:
            names = list(readers.read_dataset_info(info_path))
            raise UserError("err.data.pick_entry", field="entry",
                            hint="err.data.entries", entries=", ".join(names[:20]))
        entry, data_path = readers.resolve_dataset_info_entry(info_path, options.entry)
        options = ImportOptions(**{**options.__dict__, "mapping": Mapping.from_dataset_info(entry), "entry": None})
        path = data_path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError("err.common.file_not_found", path=path, field="path", hint="err.common.check_path") from None
    except IsADirectoryError:
        raise UserError("err.common.path_is_folder", path=path, field="path", hint="err.common.give_one_file") from None
    except OSError as err:
        raise UserError("err.common.cannot_read", path=path, reason=err.strerror or str(err), field="path") from None
    report = analyze_bytes(data, path.name, options)
    report.source = str(path)
    return report


def _analyze(result: readers.ReadResult, source: str, options: ImportOptions) -> ImportReport:
    records = result.records
    if not records and not result.errors:
        raise UserError("err.data.no_rows", hint="err.data.no_rows.hint")
    bad: list[BadRow] = list(result.errors)
    notes = list(result.notes)
    if not records:
        mapping = Mapping.from_dict(options.mapping) if isinstance(options.mapping, dict) else (
            options.mapping or Mapping.default("alpaca" if options.format in ("auto", "csv") else options.format))
        return ImportReport(source, result.file_type, result.encoding, mapping, len(bad), [], bad, notes)
    mapping = _mapping_for(options, records)
    values = {k: v for k, v in (options.placeholders or {}).items() if v}
    converted: list[tuple[int, dict]] = []
    media = tools = 0
    for line, record in records:
        try:
            row, had_media = formats.convert(record, mapping)
        except RowError as err:
            bad.append(bad_row(line, err.code, err.detail))
            continue
        except (RecursionError, TypeError, ValueError, AttributeError, KeyError) as err:
            bad.append(bad_row(line, "bad_type", str(err)[:120]))  # a shape no converter foresaw
            continue
        media += had_media
        tools += "tools" in row
        converted.append((line, row))
    found = sorted(formats.find_placeholders(r for _, r in converted))
    good: list[dict] = []
    for line, row in converted:
        if values:
            row = formats.fill_placeholders(row, values)
        problem = check_row(row, options.max_chars)
        if problem is None:
            good.append(row)
        else:
            bad.append(bad_row(line, *problem))
    bad.sort(key=lambda b: b.line)
    if media:
        notes.append({"code": "media_ignored", "count": media})
    if tools:
        notes.append({"code": "tools", "count": tools})
    if mapping.format == "text":
        notes.append({"code": "text_rows"})
    notes.extend(_kind_notes(mapping.kind, good))
    filled = [n for n in found if n in values]
    unfilled = [n for n in found if n not in values]
    if filled:
        notes.append({"code": "placeholders_filled", "names": ", ".join(filled)})
    if unfilled:
        notes.append({"code": "placeholders_unfilled", "names": ", ".join("{{%s}}" % n for n in unfilled)})
    total = len(records) + len(result.errors)
    return ImportReport(source, result.file_type, result.encoding, mapping, total, good, bad, notes, found)


def _kind_notes(kind: str, rows: list[dict]) -> list[dict]:
    """What the user should know about preference/KTO rows and unlearnt turns."""
    notes: list[dict] = []
    if kind == "preference":
        notes.append({"code": "preference_rows"})
    if kind == "kto" and rows:
        good = sum(1 for r in rows if r.get("label") is True)
        notes.append({"code": "kto_rows", "good": good, "bad": len(rows) - good})
        if good in (0, len(rows)):
            notes.append({"code": "kto_one_label", "label": str(bool(good)).lower()})
    zero = sum(1 for r in rows for m in r.get("messages") or () if m.get("loss_weight") == 0)
    if zero:
        notes.append({"code": "loss_weight_zero", "count": zero})
    return notes


def check_dataset_name(name: str) -> str:
    """``name`` stripped, or UserError saying what a valid dataset name looks like."""
    from core.workspace import check_name

    return check_name(name, "dataset name")  # BadName: a UserError naming the field


class ImportAborted(UserError):
    """The import was aborted (bad rows with on_error=abort, or no good rows); nothing was saved."""


def save_import(report: ImportReport, name: str, *, on_error: str = "skip", overwrite: bool = False
                ) -> store.DatasetInfo:
    """Save the report's good rows as dataset ``name`` (atomically), or abort.

    Args:
        report: from ``analyze_bytes``/``analyze_path``.
        name: the dataset's name.
        on_error: ``skip`` saves the good rows; ``abort`` saves nothing when any row is bad.
        overwrite: replace an existing dataset of that name.

    Raises:
        ImportAborted: aborted; nothing on disk changed.
        UserError: invalid name, or the name exists and ``overwrite`` is False.
    """
    if on_error not in ON_ERROR:
        raise UserError("err.data.on_error", choices=", ".join(ON_ERROR))
    if on_error == "abort" and report.bad_rows:
        raise ImportAborted("err.data.aborted_bad_rows", n=len(report.bad_rows),
                            hint="err.data.aborted_bad_rows.hint")
    if not report.rows:
        raise ImportAborted("err.data.aborted_no_rows", hint="err.data.aborted_no_rows.hint")
    name = check_dataset_name(name)
    extra: dict[str, Any] = {
        "kind": report.kind, "format": report.mapping.format, "mapping": report.mapping.to_dict(),
        "file_type": report.file_type, "encoding": report.encoding,
        "bad_rows": len(report.bad_rows), "source_rows": report.total,
    }
    return store.save_dataset(name, report.rows, source=report.source, extra=extra, overwrite=overwrite)


def import_path(path: Path | str, name: str, options: ImportOptions | None = None, *,
                on_error: str = "skip", overwrite: bool = False) -> tuple[ImportReport, store.DatasetInfo]:
    """``analyze_path`` then ``save_import`` in one call (the CLI's path)."""
    report = analyze_path(path, options)
    return report, save_import(report, name, on_error=on_error, overwrite=overwrite)
