"""Text that came from outside — dataset rows, model answers, retrieved passages, probe answers —
made safe to show on a page or to write into a CSV file.

``inert_markdown`` keeps the Markdown (lists, code, tables, links) but takes out what would make
the browser fetch something when the page draws it: an image (``![x](http://…)`` would load
that URL as soon as the answer is shown) and raw HTML (escaped as text). Every page shows such
text through it (``ui.common.show_untrusted``). ``csv_cell`` neutralises a spreadsheet formula
(``=HYPERLINK(…)``) at the start of a cell, for every CSV we write.

    >>> inert_markdown("see ![logo](http://x.example/a.png)")
    'see !\\\\[logo](http://x.example/a.png)'
    >>> csv_cell("=1+2")
    "'=1+2"
"""
from __future__ import annotations

import html
import re

# A fence that opens at the start of a line (no indentation: then it is surely a top-level block,
# not one inside a list item or quote that could close earlier than it seems).
_FENCE_OPEN = re.compile(r"^(`{3,}|~{3,})(.*)$")
_CODE_SPAN = re.compile(r"(`+)(?:.+?)(?<!`)\1(?!`)")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_LINE_TAG_START = re.compile(r"^( {0,3})<")
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _outside_code_spans(line: str) -> str:
    """Escape ``<`` that could open a tag, except inside inline code (shown literally there)."""
    parts, last = [], 0
    for match in _CODE_SPAN.finditer(line):
        parts.append(_TAG_START.sub(r"\\<", line[last:match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_TAG_START.sub(r"\\<", line[last:]))
    return _LINE_TAG_START.sub(r"\1\\<", "".join(parts))  # an HTML block never starts


def inert_markdown(text: str) -> str:
    """``text`` as Markdown that draws without the browser fetching anything.

    ``![alt](url)`` (and ``![alt][ref]``) becomes ``!\\[alt](url)``: the ``!`` and the link text
    show, nothing loads. ``<tag`` outside code becomes ``\\<tag``: shown as typed, never HTML.
    Fenced code blocks are left exactly as they are; elsewhere the escapes are only visible
    inside inline code, which is the price of never missing an image.
    """
    out: list[str] = []
    fence: str | None = None
    for line in str(text or "").splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if fence is not None:
            out.append(line)
            stripped = body.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence) and len(body) - len(body.lstrip(" ")) <= 3:
                fence = None
            continue
        opening = _FENCE_OPEN.match(body)
        if opening and not (opening.group(1)[0] == "`" and "`" in opening.group(2)):
            fence = opening.group(1)
            out.append(line)
            continue
        ending = line[len(body):]
        out.append(_outside_code_spans(body.replace("![", "!\\[")) + ending)
    return "".join(out)


def inert_html(text: str) -> str:
    """``text`` for inside an HTML element drawn with ``unsafe_allow_html``: escaped, and on one line.

    A literal newline (``white-space: pre-wrap`` shows ``&#10;`` as one) would end the HTML block at
    a blank line and let the rest be read as Markdown, images included; ``![`` is broken up too.
    """
    return html.escape(str(text or "")).replace("![", "!&#91;").replace("\r", "").replace("\n", "&#10;")


def csv_cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading ``= + - @``, TAB or CR gets a ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_START) else text
