"""Property-based tests: arbitrary and malformed rows and bytes never make an importer raise
anything but a UserError (whole file) — every row is either imported or reported with a reason."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data import formats
from core.data.formats import Mapping, RowError
from core.data.importer import FORMAT_CHOICES, ImportOptions, ImportReport, analyze_bytes
from core.data.validate import REASONS, check_row
from core.errors import UserError
from core.i18n import Msg

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXTENSIONS = ["x.json", "x.jsonl", "x.csv", "x.tsv", "x.txt", "x.parquet", "noext", "x.md"]

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=15)
roles = st.sampled_from(["human", "gpt", "user", "assistant", "system", "tool", "observation",
                         "function_call", "bot", "", None, 3])
message = st.fixed_dictionaries({}, optional={
    "from": roles, "role": roles, "value": scalars, "content": scalars | st.lists(json_values, max_size=2),
    "tool_calls": json_values})
shaped_record = st.one_of(
    st.fixed_dictionaries({}, optional={"instruction": scalars, "input": scalars, "output": scalars,
                                        "system": scalars, "history": json_values, "tools": json_values}),
    st.fixed_dictionaries({"conversations": st.lists(message, max_size=5)},
                          optional={"system": scalars, "tools": scalars | json_values, "images": json_values}),
    st.fixed_dictionaries({"messages": st.lists(message, max_size=5)}, optional={"tools": json_values}),
    st.fixed_dictionaries({"chat": st.dictionaries(st.text(max_size=8), json_values, max_size=3)},
                          optional={"meta_instruction": scalars}),
    st.fixed_dictionaries({"plain_text": st.text(max_size=60).map(lambda t: "<|Human|>: " + t)}),
    st.fixed_dictionaries({"text": scalars}),
    json_values,
)


def _check_report(report: ImportReport) -> None:
    assert isinstance(report, ImportReport)
    assert all(b.code in REASONS for b in report.bad_rows)
    for row in report.rows:
        assert check_row(row, None) is None
        if "messages" in row:
            assert {m["role"] for m in row["messages"]} <= set(formats.ROLES)
            for fmt in formats.EXPORT_FORMATS:
                formats.export_records([row], fmt)


def _analyze(data: bytes, filename: str, fmt: str) -> None:
    try:
        report = analyze_bytes(data, filename, ImportOptions(format=fmt))
    except UserError as err:
        assert str(err)
        return
    _check_report(report)


@SETTINGS
@given(data=st.binary(max_size=400), filename=st.sampled_from(EXTENSIONS), fmt=st.sampled_from(FORMAT_CHOICES))
def test_arbitrary_bytes(data, filename, fmt):
    _analyze(data, filename, fmt)


@SETTINGS
@given(text=st.text(max_size=300), filename=st.sampled_from(EXTENSIONS), fmt=st.sampled_from(FORMAT_CHOICES),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_arbitrary_text(text, filename, fmt, encoding):
    _analyze(text.encode(encoding), filename, fmt)


@SETTINGS
@given(records=st.lists(shaped_record, min_size=1, max_size=6), fmt=st.sampled_from(FORMAT_CHOICES),
       as_array=st.booleans(), corrupt=st.integers(min_value=-1, max_value=40))
def test_arbitrary_records_as_json(records, fmt, as_array, corrupt):
    if as_array:
        text = json.dumps(records, indent=1, ensure_ascii=False)
    else:
        text = "\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    if 0 <= corrupt < len(text):  # knock one character out: malformed JSON somewhere
        text = text[:corrupt] + text[corrupt + 1:]
    _analyze(text.encode(), "x.json" if as_array else "x.jsonl", fmt)


@SETTINGS
@given(header=st.lists(st.text(max_size=8), min_size=1, max_size=4),
       cells=st.lists(st.lists(st.text(max_size=12), max_size=5), max_size=6))
def test_arbitrary_csv(header, cells):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(cells)
    for fmt in ("auto", "csv", "alpaca"):
        _analyze(buf.getvalue().encode(), "x.csv", fmt)


@SETTINGS
@given(record=shaped_record, fmt=st.sampled_from(formats.FORMATS))
def test_converters_raise_only_row_errors(record, fmt):
    try:
        row = formats.to_canonical(record, Mapping.default(fmt))
    except RowError as err:
        assert err.code in REASONS
        return
    problem = check_row(row)
    assert problem is None or (problem[0] in REASONS and isinstance(problem[1], (str, Msg)))
    if problem is None:  # a row called good has something to train on
        assert (row.get("text") or "").strip() or any((m.get("content") or "").strip() for m in row["messages"])


@SETTINGS
@given(row=json_values | st.fixed_dictionaries({"messages": st.lists(json_values, max_size=4)}))
def test_check_row_never_raises(row):
    result = check_row(row)
    assert result is None or result[0] in REASONS
