"""Row-level validation: is this canonical row safe to train on, and if not, why.

A bad row is reported as ``BadRow(line, code, reason)``: ``line`` is the line of a JSON/JSONL/
TXT file or the row number of a CSV/Parquet sheet (1-based), ``code`` is a stable key from
``REASONS`` (pages translate it as ``datasets.reason.<code>``), ``reason`` the English text.
``detail`` says where (English); when it is one of the texts below, ``detail_msg`` is the same
detail as a ``Msg`` (keys ``datasets.detail.*``) for a page to say in its language.

Rules for chat rows (what breaks chat templates or teaches nothing):
roles are system/user/assistant/tool; a system message only comes first; the first other
message is from the user; user and assistant take turns (tool results follow an assistant
call); every message has text and the assistant's replies are not empty; the conversation
ends with the assistant; the row is not longer than ``max_chars`` characters.
A preference row also has a non-empty rejected reply that differs from the chosen one; a KTO
row's label is true or false; at least one assistant reply is learnt (``loss_weight`` not 0).

    >>> check_row({"messages": [{"role": "user", "content": "hi"}]})
    ('not_ending_with_assistant', '')
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.data.formats import ROLES
from core.i18n import Msg

DEFAULT_MAX_CHARS = 100_000

REASONS: dict[str, str] = {
    "malformed_json": "malformed JSON",
    "not_an_object": "the row is not a JSON object",
    "bad_csv_row": "the row has more cells than the header",
    "missing_messages": "no conversation found",
    "bad_message": "a message is not an object",
    "missing_role": "a message has no role",
    "missing_content": "a message has no content",
    "bad_type": "a field has the wrong type",
    "unknown_role": "unknown role",
    "bad_history": "history is not a list of [question, answer] pairs",
    "bad_tools": "the tools field is not valid JSON",
    "empty_assistant": "empty assistant reply",
    "empty_user": "empty user message",
    "empty_text": "empty text",
    "no_user": "no user message",
    "system_not_first": "a system message that is not the first message",
    "bad_order": "roles out of order (user and assistant must take turns)",
    "not_ending_with_assistant": "the conversation does not end with the assistant",
    "over_long": "over-long row",
    "preference": "preference data (chosen/rejected), not a single reply",
    "unknown_format": "unknown format",
    "bad_pair": "the chosen and rejected replies are not one assistant reply each",
    "same_pair": "the chosen and the rejected reply are the same",
    "bad_label": "the KTO label is not true/false",
    "bad_loss_weight": "loss_weight is not a number from 0 to 1",
    "nothing_to_learn": "every assistant reply has loss_weight 0",
}


@dataclass(frozen=True)
class BadRow:
    line: int
    code: str
    reason: str
    detail: str = ""
    detail_msg: Msg | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        out = asdict(self)
        out.pop("detail_msg")
        return out

    def detail_text(self, lang: str = "en") -> str:
        return self.detail_msg.render(lang) if self.detail_msg is not None else self.detail


def bad_row(line: int, code: str, detail: "str | Msg" = "") -> BadRow:
    """A BadRow whose reason is the English text for ``code`` plus the detail (text or Msg).

    Example:
        >>> bad_row(3, "unknown_role", "bot").reason
        'unknown role: bot'
    """
    text = REASONS.get(code, code)
    msg = detail if isinstance(detail, Msg) else None
    detail = str(detail)
    return BadRow(int(line), code, f"{text}: {detail}" if detail else text, detail, msg)


def row_chars(row: dict) -> int:
    if "messages" in row:
        return sum(len(m.get("content") or "") for m in row["messages"] if isinstance(m, dict))
    return len(row.get("text") or "")


def check_row(row: Any, max_chars: int | None = DEFAULT_MAX_CHARS) -> tuple[str, "str | Msg"] | None:
    """The first problem with a canonical row as ``(code, detail)``, or None when it is good.

    ``detail`` is a ``Msg`` (``str()`` is English) or a plain value such as the unknown role.

    Args:
        row: a canonical chat row (``messages`` [+ ``tools``]) or text row (``text``).
        max_chars: longest allowed row in characters (None: no limit).

    Example:
        >>> check_row({"messages": [{"role": "user", "content": "hi"},
        ...                         {"role": "assistant", "content": " "}]})
        ('empty_assistant', Msg('datasets.detail.message', **{'n': 2}))
    """
    if not isinstance(row, dict):
        return "not_an_object", type(row).__name__
    if "messages" not in row:
        text = row.get("text")
        if not isinstance(text, str):
            return "missing_messages", ""
        if not text.strip():
            return "empty_text", ""
        return None
    messages = row["messages"]
    if not isinstance(messages, list) or not messages:
        return "missing_messages", ""
    prev = None
    total = 0
    seen_user = False
    for i, msg in enumerate(messages, 1):
        if not isinstance(msg, dict):
            return "bad_message", Msg("datasets.detail.message", n=i)
        role, content = msg.get("role"), msg.get("content")
        if not role:
            return "missing_role", Msg("datasets.detail.message", n=i)
        if role not in ROLES:
            return "unknown_role", str(role)[:40]
        if not isinstance(content, str):
            return "missing_content", Msg("datasets.detail.message", n=i)
        total += len(content)
        if role == "system":
            if i != 1:
                return "system_not_first", Msg("datasets.detail.message", n=i)
        elif role == "user":
            if prev == "user":
                return "bad_order", Msg("datasets.detail.two_user", n=i)
            if prev in ("assistant", "tool") and not seen_user:
                return "bad_order", Msg("datasets.detail.message", n=i)
            if not content.strip():
                return "empty_user", Msg("datasets.detail.message", n=i)
            seen_user = True
        elif role == "assistant":
            if prev in (None, "system"):
                return "bad_order", Msg("datasets.detail.user_first")
            if prev == "assistant":
                return "bad_order", Msg("datasets.detail.two_assistant", n=i)
            if not content.strip():
                return "empty_assistant", Msg("datasets.detail.message", n=i)
        elif role == "tool":
            if prev not in ("assistant", "tool"):
                return "bad_order", Msg("datasets.detail.tool_order", n=i)
        prev = role
    if not seen_user:
        return "no_user", ""
    if prev != "assistant":
        return "not_ending_with_assistant", ""
    if all(m.get("loss_weight") == 0 for m in messages if m.get("role") == "assistant"):
        return "nothing_to_learn", ""
    if "rejected" in row:
        rejected = row["rejected"]
        if not isinstance(rejected, dict) or rejected.get("role") != "assistant" \
                or not isinstance(rejected.get("content"), str):
            return "bad_pair", ""
        if not rejected["content"].strip():
            return "empty_assistant", "rejected"
        if rejected["content"].strip() == messages[-1]["content"].strip():
            return "same_pair", ""
        total += len(rejected["content"])
    if "label" in row and not isinstance(row["label"], bool):
        return "bad_label", str(row["label"])[:40]
    if max_chars and total > max_chars:
        return "over_long", Msg("datasets.detail.over_long", total=total, max=max_chars)
    return None


def validate_rows(rows: list[tuple[int, dict]], max_chars: int | None = DEFAULT_MAX_CHARS
                  ) -> tuple[list[dict], list[BadRow]]:
    """Split ``(line, row)`` pairs into good rows and BadRows."""
    good, bad = [], []
    for line, row in rows:
        problem = check_row(row, max_chars)
        if problem is None:
            good.append(row)
        else:
            bad.append(bad_row(line, *problem))
    return good, bad
