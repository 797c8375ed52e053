"""Detect a dataset's format and convert each record to the canonical row, and back.

The canonical row (DESIGN.md) is OpenAI/XTuner style::

    {"messages": [{"role": "system"|"user"|"assistant"|"tool", "content": str}, ...],
     "tools": [...]}                      # optional, only when the source had tools

Decisions, so that training can feed every row straight into ``tokenizer.apply_chat_template``:

- **Tool calls.** A ShareGPT ``function_call`` turn becomes an ``assistant`` message whose
  content is the call exactly as written (the JSON string ``{"name": ..., "arguments": ...}``);
  an ``observation`` turn becomes a ``tool`` message. OpenAI ``tool_calls`` (content ``null``)
  are written the same way: the assistant's content is the JSON of the call(s). Most chat
  templates accept role ``tool``; an assistant call as plain content needs no template support.
- **Tools.** The row's tool schemas are kept as an optional top-level ``"tools"`` key holding a
  *list* of JSON-schema dicts (a JSON string in the source is parsed), which is the shape
  ``apply_chat_template(..., tools=...)`` takes. A tools string that is not JSON is a bad row.
- **Plain text** (continued pre-training) becomes ``{"text": str}`` — TRL's language-modelling
  row — because wrapping raw text in a chat template would teach the template, not the text.
  A dataset is either all chat rows or all text rows (``meta.extra["kind"]``).
- **Multimodal** rows keep their text; ``<image>``/``<video>``/``<audio>`` placeholders are
  removed and media columns ignored (the importer says so in a note).
- **Preference** pairs (DPO/ORPO) keep the SFT shape with the chosen reply as the last
  assistant message and the rejected reply beside it: ``{"messages": [...prompt, chosen],
  "rejected": {"role": "assistant", "content": str}}``. Sources: ``chosen``/``rejected`` next to
  Alpaca or ShareGPT fields (LLaMA-Factory's ``ranking`` sets), TRL's ``prompt``/``chosen``/
  ``rejected`` (text or messages; without ``prompt`` the shared start is the prompt), and
  LLaMA-Factory v1's ``chosen_messages``/``rejected_messages``.
- **KTO** rows are one conversation plus a verdict on its last reply: ``{"messages": [...],
  "label": bool}`` (LLaMA-Factory's ``kto_tag``, or TRL's ``prompt``/``completion``/``label``).
- **LLaMA-Factory v1**: message ``content`` as a list of ``{"type": "text", "value": ...}``
  parts is joined to text; an assistant message with ``loss_weight`` 0 keeps
  ``"loss_weight": 0`` and is not learnt (core/train/tokenize.py).
- A dataset has one **kind** (``KINDS``: sft, pt, preference, kto), from its rows' shape
  (``row_kind``) and saved in ``meta.extra["kind"]``; it decides which training stages fit.

Column/role mappings follow LLaMA-Factory's ``dataset_info.json`` (``formatting``,
``columns``, ``tags``), so such an entry can be used as-is (see ``Mapping.from_dataset_info``).
Every function here is pure; a problem with one record raises ``RowError`` (a code plus a
detail), never anything else, so the importer can report it by line.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from core.errors import UserError
from core.i18n import Msg

ROLES = ("system", "user", "assistant", "tool")
# What a dataset is for: supervised chat (sft), plain text (continued pre-training, pt),
# chosen/rejected pairs (DPO/ORPO) or single replies judged good/bad (KTO).
KINDS = ("sft", "pt", "preference", "kto")
_LEGACY_KINDS = {"chat": "sft", "text": "pt"}  # what meta.json said before kinds had these names
PREFERENCE_KEYS = (("chosen", "rejected"), ("chosen_messages", "rejected_messages"))
KTO_LABEL_KEYS = ("label", "kto_tag")
FORMATS = ("alpaca", "sharegpt", "openai", "moss", "text")
EXPORT_FORMATS = ("alpaca", "sharegpt", "openai")

# Column/tag defaults per format, in LLaMA-Factory's vocabulary.
DEFAULT_COLUMNS: dict[str, dict[str, str]] = {
    "alpaca": {"prompt": "instruction", "query": "input", "response": "output",
               "system": "system", "history": "history", "tools": "tools"},
    "sharegpt": {"messages": "conversations", "system": "system", "tools": "tools"},
    "openai": {"messages": "messages", "system": "system", "tools": "tools"},
    "moss": {"chat": "chat", "system": "meta_instruction", "text": "plain_text"},
    "text": {"text": "text"},
}
DEFAULT_TAGS: dict[str, dict[str, str]] = {
    "sharegpt": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                 "assistant_tag": "gpt", "observation_tag": "observation",
                 "function_tag": "function_call", "system_tag": "system"},
    "openai": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
               "assistant_tag": "assistant", "observation_tag": "tool",
               "function_tag": "function_call", "system_tag": "system"},
}
# Column names seen in the wild for "question" / "answer" sheets and pair files.
PROMPT_NAMES = ("instruction", "input", "prompt", "question", "query", "q", "human", "user",
                "问题", "提问", "输入", "指令", "问")
RESPONSE_NAMES = ("output", "response", "answer", "completion", "target", "a", "assistant",
                  "gpt", "回答", "答案", "输出", "回复", "答")
MEDIA_KEYS = ("images", "image", "videos", "video", "audios", "audio")
_MEDIA_TOKEN = re.compile(r"<(?:image|video|audio)>")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
_MOSS_MARK = re.compile(
    r"(?:<\|(Human|MOSS|Inner Thoughts|Commands|Results|Tool Responses)\|>|\[(Human|MOSS)\])\s*:\s*"
)
_MOSS_END = re.compile(r"\s*<e[a-z]{1,3}>\s*$")
_MOSS_ROLE = {"Human": "user", "MOSS": "assistant", "Commands": "assistant",
              "Results": "tool", "Tool Responses": "tool", "Inner Thoughts": None}


class RowError(ValueError):
    """One record cannot become a canonical row. ``code`` names the reason (see validate.REASONS);
    ``detail`` says what is wrong: a ``Msg`` (``datasets.detail.*``) or a plain value from the record."""

    def __init__(self, code: str, detail: "str | Msg" = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail = code, detail


@dataclass
class Mapping:
    """How a source's columns and role tags map to canonical rows (LLaMA-Factory style).

    Args:
        format: one of ``FORMATS``.
        columns: canonical column name -> the source's key (e.g. ``{"prompt": "question"}``).
        tags: for sharegpt/openai, the keys and values naming roles in a message.

    Example:
        >>> Mapping.default("sharegpt").tags["user_tag"]
        'human'
    """

    format: str
    columns: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def default(cls, fmt: str) -> "Mapping":
        if fmt not in FORMATS:
            raise UserError("err.data.unknown_format", fmt=fmt, field="format",
                            hint="err.common.use_one_of", choices=", ".join(FORMATS))
        return cls(fmt, dict(DEFAULT_COLUMNS[fmt]), dict(DEFAULT_TAGS.get(fmt, {})))

    @property
    def kind(self) -> str:
        """The dataset kind this mapping produces (one of ``KINDS``)."""
        if self.columns.get("chosen") and self.columns.get("rejected"):
            return "preference"
        if self.columns.get("kto_tag"):
            return "kto"
        return "pt" if self.format == "text" else "sft"

    def to_dict(self) -> dict:
        return {"format": self.format, "columns": dict(self.columns), "tags": dict(self.tags)}

    def to_dataset_info(self) -> dict:
        """This mapping as a ``dataset_info.json`` entry (without ``file_name``)."""
        formatting = "alpaca" if self.format == "alpaca" else "sharegpt"
        entry: dict[str, Any] = {"formatting": formatting, "columns": dict(self.columns)}
        if self.tags:
            entry["tags"] = dict(self.tags)
        if self.format in ("moss", "text"):
            entry["formatting"] = self.format  # ours; LLaMA-Factory has no such formatting
        return entry

    @classmethod
    def from_dict(cls, data: dict) -> "Mapping":
        """Read either our own ``to_dict`` shape or a ``dataset_info.json`` entry.

        Raises:
            UserError: when it is not a mapping we can use (wrong types, preference data, hub URL).
        """
        if not isinstance(data, dict):
            raise UserError("err.data.mapping_not_object", field="mapping")
        if "formatting" in data or "file_name" in data or "ranking" in data:
            return cls.from_dataset_info(data)
        fmt = data.get("format", "alpaca")
        base = cls.default(fmt)
        cols, tags = data.get("columns") or {}, data.get("tags") or {}
        if not isinstance(cols, dict) or not isinstance(tags, dict):
            raise UserError("err.data.mapping_parts", field="mapping")
        base.columns.update({str(k): str(v) for k, v in cols.items() if v})
        base.tags.update({str(k): str(v) for k, v in tags.items() if v})
        return base

    @classmethod
    def from_dataset_info(cls, entry: dict) -> "Mapping":
        """A LLaMA-Factory ``dataset_info.json`` entry -> Mapping.

        Example:
            >>> m = Mapping.from_dataset_info({"file_name": "g.json", "formatting": "sharegpt",
            ...     "columns": {"messages": "conversations", "tools": "tools"}})
            >>> (m.format, m.columns["messages"])
            ('sharegpt', 'conversations')
        """
        formatting = entry.get("formatting", "alpaca")
        if formatting not in ("alpaca", "sharegpt", "openai", "moss", "text"):
            raise UserError("err.data.unknown_formatting", formatting=formatting)
        cols = dict(entry.get("columns") or {})
        tags = dict(entry.get("tags") or {})
        if formatting == "sharegpt" and tags.get("role_tag") == "role":
            fmt = "openai"
        else:
            fmt = formatting
        mapping = cls.default(fmt)
        if fmt == "alpaca" and cols:
            mapping.columns = {k: v for k, v in mapping.columns.items() if k in ("system", "history", "tools")}
        if entry.get("ranking") and fmt != "text":  # preference pairs; the columns default as LLaMA-Factory's
            mapping.columns.update(chosen="chosen", rejected="rejected")
            mapping.columns.pop("response", None)
        mapping.columns.update({str(k): str(v) for k, v in cols.items() if v})
        mapping.tags.update({str(k): str(v) for k, v in tags.items() if v})
        return mapping


# ----------------------------------------------------------------------------- detection


def _is_preference(rec: dict) -> bool:
    return any(a in rec and b in rec for a, b in PREFERENCE_KEYS)


def _is_kto(rec: dict) -> bool:
    return any(isinstance(rec.get(k), bool) for k in KTO_LABEL_KEYS)


def _detect_preference(dicts: list[dict]) -> Mapping:
    """Preference records: the mapping of their prompt part, plus the chosen/rejected columns."""
    chosen, rejected = next(((a, b) for a, b in PREFERENCE_KEYS if a in dicts[0] and b in dicts[0]),
                            PREFERENCE_KEYS[0])
    rest = [{k: v for k, v in r.items() if k not in (chosen, rejected)} for r in dicts]
    try:
        mapping = detect_format(rest) if any(rest) else None
    except UserError:
        mapping = None
    if mapping is None or mapping.format not in ("alpaca", "sharegpt", "openai"):
        mapping = Mapping.default("alpaca")  # TRL's prompt/chosen/rejected, or no prompt at all
        keys = {k for r in rest for k in r}
        mapping.columns = {k: v for k, v in mapping.columns.items() if k in ("system", "tools")}
        if "prompt" in keys:
            mapping.columns["prompt"] = "prompt"
    mapping.columns.pop("response", None)
    mapping.columns.update(chosen=chosen, rejected=rejected)
    return mapping


def _detect_kto(dicts: list[dict]) -> Mapping:
    """KTO records: the mapping of the conversation, plus the label column."""
    label = next(k for k in KTO_LABEL_KEYS if any(isinstance(r.get(k), bool) for r in dicts))
    mapping = detect_format([{k: v for k, v in r.items() if k != label} for r in dicts])
    mapping.columns["kto_tag"] = label
    return mapping


def _pick(keys: Iterable[str], names: tuple[str, ...]) -> str | None:
    lowered = {k.strip().lower(): k for k in keys if isinstance(k, str)}
    for name in names:
        if name in lowered:
            return lowered[name]
    return None


def detect_format(records: list, sample: int = 200) -> Mapping:
    """Guess the format of ``records`` from their keys and return a ready mapping.

    Args:
        records: parsed source records (dicts; anything else is ignored while guessing).
        sample: how many records to look at.

    Returns:
        A ``Mapping`` whose columns/tags name the keys actually seen.

    Raises:
        UserError: no format fits (the message lists the keys seen).

    Example:
        >>> detect_format([{"instruction": "hi", "input": "", "output": "hello"}]).format
        'alpaca'
        >>> detect_format([{"question": "1+1?", "answer": "2"}]).columns["prompt"]
        'question'
    """
    dicts = [r for r in records[:sample] if isinstance(r, dict)]
    if not dicts:
        raise UserError("err.data.no_records", hint="err.data.no_records.hint")
    if sum(_is_preference(r) for r in dicts) * 2 > len(dicts):
        return _detect_preference(dicts)
    if sum(_is_kto(r) for r in dicts) * 2 > len(dicts):
        return _detect_kto(dicts)
    keys: dict[str, int] = {}
    for r in dicts:
        for k in r:
            keys[k] = keys.get(k, 0) + 1
    common = [k for k, n in keys.items() if n * 2 >= len(dicts)]

    for col in ("conversations", "messages", "conversation", "dialog", "dialogue"):
        if col in common and isinstance(next((r[col] for r in dicts if col in r), None), list):
            return _detect_chat_tags(dicts, col)
    if "chat" in common and isinstance(dicts[0].get("chat"), dict):
        m = Mapping.default("moss")
        m.columns["system"] = "meta_instruction"
        return m
    for key in common:
        value = next((r[key] for r in dicts if isinstance(r.get(key), str)), None)
        if value and _MOSS_MARK.search(value):
            m = Mapping.default("moss")
            m.columns["text"] = key
            return m
    if "instruction" in common:
        m = Mapping.default("alpaca")
        resp = _pick(common, RESPONSE_NAMES)
        if resp:
            m.columns["response"] = resp
        return m
    prompt = _pick(common, PROMPT_NAMES)
    response = _pick([k for k in common if k != prompt], RESPONSE_NAMES)
    if prompt and response:
        m = Mapping.default("alpaca")
        m.columns.update(prompt=prompt, response=response)
        m.columns.pop("query", None)
        return m
    text_col = _pick(common, ("text", "content", "document", "body", "文本", "内容"))
    if text_col and len(common) <= 3:
        m = Mapping.default("text")
        m.columns["text"] = text_col
        return m
    raise UserError("err.data.unrecognised", keys=", ".join(map(str, list(keys)[:12])), field="format",
                    hint="err.data.unrecognised.hint")


def _detect_chat_tags(dicts: list[dict], col: str) -> Mapping:
    first = next((m for r in dicts for m in (r.get(col) or []) if isinstance(m, dict)), {})
    fmt = "openai" if "role" in first and "from" not in first else "sharegpt"
    mapping = Mapping.default(fmt)
    mapping.columns["messages"] = col
    role_tag = mapping.tags["role_tag"] if mapping.tags["role_tag"] in first else next(
        (k for k in ("from", "role", "speaker", "sender") if k in first), mapping.tags["role_tag"])
    content_tag = mapping.tags["content_tag"] if mapping.tags["content_tag"] in first else next(
        (k for k in ("value", "content", "text", "message") if k in first), mapping.tags["content_tag"])
    mapping.tags.update(role_tag=role_tag, content_tag=content_tag)
    seen = {m.get(role_tag) for r in dicts for m in (r.get(col) or []) if isinstance(m, dict)}
    aliases = {
        "user_tag": ("human", "user", "USER", "Human", "User", "HUMAN"),
        "assistant_tag": ("gpt", "assistant", "bot", "chatgpt", "model", "ASSISTANT", "Assistant", "gpt4"),
        "system_tag": ("system", "SYSTEM", "System"),
        "observation_tag": ("observation", "tool", "function", "ipython"),
        "function_tag": ("function_call", "tool_call"),
    }
    for tag, names in aliases.items():
        for name in names:
            if name in seen:
                mapping.tags[tag] = name
                break
    return mapping


# ----------------------------------------------------------------------------- to canonical


def _text(value: Any, what: str) -> str:
    """A cell as text: None -> '', numbers -> str, lists/dicts -> RowError."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        if value != value:  # NaN from a spreadsheet's empty cell
            return ""
        return str(value)
    raise RowError("bad_type", Msg("datasets.detail.not_text", field=what, type=type(value).__name__))


def _strip_media(text: str) -> tuple[str, bool]:
    if "<" in text and _MEDIA_TOKEN.search(text):
        return _MEDIA_TOKEN.sub("", text).strip(), True
    return text, False


def parse_tools(value: Any) -> list | None:
    """The ``tools`` cell as a list of schemas, or None when empty.

    Example:
        >>> parse_tools('[{"name": "f", "parameters": {}}]')[0]["name"]
        'f'
    """
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            raise RowError("bad_tools", str(err)) from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RowError("bad_tools", Msg("datasets.detail.tools_not_list"))
    return value or None


def _has_media(record: dict) -> bool:
    return any(record.get(k) for k in MEDIA_KEYS)


def alpaca_to_row(record: Any, columns: dict[str, str]) -> tuple[dict, bool]:
    """An Alpaca-style record (or a question/answer pair) -> (canonical row, had media).

    ``prompt`` and ``query`` are joined with a newline (as LLaMA-Factory does); ``history`` is a
    list of ``[question, answer]`` pairs placed before the last turn.

    Example:
        >>> alpaca_to_row({"instruction": "Sum", "input": "1 2", "output": "3"},
        ...               DEFAULT_COLUMNS["alpaca"])[0]["messages"][0]
        {'role': 'user', 'content': 'Sum\\n1 2'}
    """
    if not isinstance(record, dict):
        raise RowError("not_an_object", type(record).__name__)
    resp_col = columns.get("response", "output")
    if resp_col not in record:
        raise RowError("missing_content", Msg("datasets.detail.no_field", field=resp_col))
    response = record[resp_col]
    if isinstance(response, list):
        raise RowError("preference", Msg("datasets.detail.ranked"))
    parts = [_text(record.get(columns[c]), columns[c]) for c in ("prompt", "query") if columns.get(c)]
    user = "\n".join(p for p in parts if p.strip())
    user, media = _strip_media(user)
    messages: list[dict] = []
    system = _text(record.get(columns.get("system", "")), "system") if columns.get("system") else ""
    if system.strip():
        messages.append({"role": "system", "content": system})
    history = record.get(columns.get("history", "")) if columns.get("history") else None
    if history:
        if not isinstance(history, list):
            raise RowError("bad_history", Msg("datasets.detail.history"))
        for pair in history:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise RowError("bad_history", Msg("datasets.detail.history"))
            messages.append({"role": "user", "content": _text(pair[0], "history")})
            messages.append({"role": "assistant", "content": _text(pair[1], "history")})
    messages.append({"role": "user", "content": user})
    messages.append({"role": "assistant", "content": _text(response, resp_col)})
    row: dict[str, Any] = {"messages": messages}
    tools = parse_tools(record.get(columns["tools"])) if columns.get("tools") else None
    if tools:
        row["tools"] = tools
    return row, media or _has_media(record)


def _message_content(msg: dict, content_tag: str) -> tuple[str, bool]:
    if content_tag not in msg:
        if msg.get("tool_calls"):
            return _tool_calls_json(msg["tool_calls"]), False
        if msg.get("function_call"):
            return _tool_calls_json([{"function": msg["function_call"]}]), False
        raise RowError("missing_content", Msg("datasets.detail.message_lacks", field=content_tag))
    value = msg[content_tag]
    if value is None and (msg.get("tool_calls") or msg.get("function_call")):
        calls = msg.get("tool_calls") or [{"function": msg["function_call"]}]
        return _tool_calls_json(calls), False
    if isinstance(value, list):  # OpenAI / LLaMA-Factory v1 content parts: keep the text, note the media
        texts, media = [], False
        for part in value:
            if isinstance(part, dict) and part.get("type") in ("text", "tool_call"):
                texts.append(_text(part["text"] if "text" in part else part.get("value"), "text part"))
            elif isinstance(part, dict) and part.get("type") == "reasoning":
                continue  # a model's hidden reasoning: not part of the reply to learn
            elif isinstance(part, str):
                texts.append(part)
            else:
                media = True
        return "\n".join(texts), media
    if value is None:
        raise RowError("missing_content", Msg("datasets.detail.content_null"))
    return _strip_media(_text(value, content_tag))


def _tool_calls_json(calls: Any) -> str:
    out = []
    for call in calls if isinstance(calls, list) else [calls]:
        fn = call.get("function", call) if isinstance(call, dict) else {}
        if not isinstance(fn, dict):
            raise RowError("bad_type", Msg("datasets.detail.tool_call"))
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                pass
        out.append({"name": fn.get("name"), "arguments": args})
    return json.dumps(out[0] if len(out) == 1 else out, ensure_ascii=False)


def chat_to_row(record: Any, columns: dict[str, str], tags: dict[str, str]) -> tuple[dict, bool]:
    """A ShareGPT or OpenAI record -> (canonical row, had media).

    ShareGPT ``function_call`` -> ``assistant`` (content = the call's JSON string),
    ``observation`` -> ``tool``. Unknown role values raise ``RowError("unknown_role")``.

    Example:
        >>> chat_to_row({"conversations": [{"from": "human", "value": "hi"},
        ...                                 {"from": "gpt", "value": "hello"}]},
        ...             DEFAULT_COLUMNS["sharegpt"], DEFAULT_TAGS["sharegpt"])[0]["messages"][1]
        {'role': 'assistant', 'content': 'hello'}
    """
    if not isinstance(record, dict):
        raise RowError("not_an_object", type(record).__name__)
    col = columns.get("messages", "conversations")
    msgs = record.get(col)
    if not isinstance(msgs, list) or not msgs:
        raise RowError("missing_messages", Msg("datasets.detail.no_list", field=col))
    role_tag, content_tag = tags.get("role_tag", "from"), tags.get("content_tag", "value")
    role_map = {"user": "user", "assistant": "assistant", "system": "system", "tool": "tool",
                "function": "tool"} if role_tag == "role" else {}
    for tag, role in (("user_tag", "user"), ("assistant_tag", "assistant"), ("system_tag", "system"),
                      ("observation_tag", "tool"), ("function_tag", "assistant")):
        if tags.get(tag):
            role_map[tags[tag]] = role
    messages: list[dict] = []
    media = _has_media(record)
    for msg in msgs:
        if not isinstance(msg, dict):
            raise RowError("bad_message", Msg("datasets.detail.message_type", type=type(msg).__name__))
        raw_role = msg.get(role_tag)
        if raw_role is None or raw_role == "":
            raise RowError("missing_role", Msg("datasets.detail.message_lacks", field=role_tag))
        role = role_map.get(raw_role) if isinstance(raw_role, str) else None
        if role is None:
            raise RowError("unknown_role", str(raw_role)[:40])
        content, had_media = _message_content(msg, content_tag)
        media = media or had_media
        message = {"role": role, "content": content}
        weight = msg.get("loss_weight")
        if role == "assistant" and weight is not None:
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
                raise RowError("bad_loss_weight", str(weight)[:20])
            if weight == 0:
                message["loss_weight"] = 0  # LLaMA-Factory v1: this reply is context, not learnt
        messages.append(message)
    system_col = columns.get("system")
    if system_col and record.get(system_col) and messages[0]["role"] != "system":
        system = _text(record.get(system_col), "system")
        if system.strip():
            messages.insert(0, {"role": "system", "content": system})
    row: dict[str, Any] = {"messages": messages}
    tools = parse_tools(record.get(columns["tools"])) if columns.get("tools") else None
    if tools:
        row["tools"] = tools
    return row, media


def parse_moss_text(text: str) -> list[dict]:
    """MOSS-style turns (``<|Human|>: …<eoh>`` / ``<|MOSS|>: …<eom>``) -> messages.

    Text before the first marker is the meta instruction (system). ``Inner Thoughts`` and
    turns whose body is ``None`` are dropped; ``Commands`` become assistant calls and
    ``Results`` tool messages.

    Example:
        >>> parse_moss_text("<|Human|>: Hi<eoh>\\n<|MOSS|>: Hello!<eom>\\n")
        [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello!'}]
    """
    pieces = _MOSS_MARK.split(text)
    messages: list[dict] = []
    head = _MOSS_END.sub("", pieces[0]).strip()
    if head:
        messages.append({"role": "system", "content": head})
    # split() yields: head, (group1, group2, body) * n
    for i in range(1, len(pieces) - 2, 3):
        name = pieces[i] or pieces[i + 1]
        body = _MOSS_END.sub("", pieces[i + 2]).strip()
        role = _MOSS_ROLE.get(name)
        if role is None or (name != "Human" and name != "MOSS" and body in ("", "None")):
            continue
        messages.append({"role": role, "content": body})
    return messages


def moss_to_row(record: Any, columns: dict[str, str]) -> tuple[dict, bool]:
    """A MOSS record -> (canonical row, False).

    Accepts MOSS-003 records (``chat`` = ``{"turn_1": {"Human": ..., "MOSS": ...}, ...}`` plus
    ``meta_instruction``) and records with one text field holding marked-up turns.
    """
    if isinstance(record, str):
        record = {columns.get("text", "plain_text"): record}
    if not isinstance(record, dict):
        raise RowError("not_an_object", type(record).__name__)
    chat = record.get(columns.get("chat", "chat"))
    messages: list[dict] = []
    if isinstance(chat, dict):
        system = _text(record.get(columns.get("system", "meta_instruction")), "meta_instruction").strip()
        if system:
            messages.append({"role": "system", "content": system})
        def turn_no(key: str) -> int:
            digits = re.sub(r"\D", "", str(key))
            return int(digits) if digits else 0
        for key in sorted(chat, key=turn_no):
            turn = chat[key]
            if not isinstance(turn, dict):
                raise RowError("bad_message", Msg("datasets.detail.not_object", field=key))
            text = "".join(_text(turn.get(k), k) for k in
                           ("Human", "Inner Thoughts", "Commands", "Tool Responses", "MOSS") if turn.get(k))
            messages.extend(m for m in parse_moss_text(text) if m["role"] != "system")
    else:
        col = columns.get("text", "plain_text")
        text = record.get(col)
        if not isinstance(text, str):
            raise RowError("missing_messages", Msg("datasets.detail.no_moss_text", field=col))
        messages = parse_moss_text(text)
    if not messages:
        raise RowError("missing_messages", Msg("datasets.detail.no_moss_turns"))
    return {"messages": messages}, False


def text_to_row(record: Any, columns: dict[str, str]) -> tuple[dict, bool]:
    """Plain text for continued pre-training -> ``{"text": str}``.

    Example:
        >>> text_to_row({"text": "Once upon a time"}, {"text": "text"})[0]
        {'text': 'Once upon a time'}
    """
    if isinstance(record, str):
        return {"text": record}, False
    if not isinstance(record, dict):
        raise RowError("not_an_object", type(record).__name__)
    col = columns.get("text", "text")
    if col not in record:
        raise RowError("missing_content", Msg("datasets.detail.no_field", field=col))
    return {"text": _text(record[col], col)}, False


def _loose_messages(value: Any, tags: dict[str, str], what: str) -> list[dict]:
    """A reply or prompt given as text, one message or a list of messages -> canonical messages.

    Text is a user prompt or an assistant reply by ``what``; messages may use ``role``/``content``
    or the mapping's ShareGPT tags.
    """
    if isinstance(value, str):
        return [{"role": "assistant" if what != "prompt" else "user", "content": value}]
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not value:
        raise RowError("missing_content", Msg("datasets.detail.no_part", field=what))
    first = value[0] if isinstance(value[0], dict) else {}
    use = DEFAULT_TAGS["openai"] if "role" in first else {**DEFAULT_TAGS["sharegpt"], **tags}
    return chat_to_row({"m": value}, {"messages": "m"}, use)[0]["messages"]


def _prompt_messages(record: dict, mapping: Mapping) -> list[dict]:
    """The prompt part of a preference/KTO record ([] when the record has none)."""
    cols = mapping.columns
    if mapping.format == "alpaca":
        prompt = record.get(cols.get("prompt", ""))
        if isinstance(prompt, (list, dict)):  # TRL conversational prompt
            return _loose_messages(prompt, mapping.tags, "prompt")
        if not any(cols.get(c) and record.get(cols[c]) not in (None, "") for c in ("prompt", "query")):
            return []
        dummy = {**cols, "response": "\0reply"}
        return alpaca_to_row({**record, "\0reply": ""}, dummy)[0]["messages"][:-1]
    if not record.get(cols.get("messages", "")):
        return []
    return chat_to_row(record, cols, mapping.tags)[0]["messages"]


def preference_to_row(record: Any, mapping: Mapping) -> tuple[dict, bool]:
    """A chosen/rejected record -> (canonical preference row, had media).

    Example:
        >>> m = detect_format([{"prompt": "2+2?", "chosen": "4", "rejected": "5"}])
        >>> preference_to_row({"prompt": "2+2?", "chosen": "4", "rejected": "5"}, m)[0]
        {'messages': [{'role': 'user', 'content': '2+2?'}, {'role': 'assistant', 'content': '4'}], \
'rejected': {'role': 'assistant', 'content': '5'}}
    """
    if not isinstance(record, dict):
        raise RowError("not_an_object", type(record).__name__)
    cols = mapping.columns
    prompt = _prompt_messages(record, mapping)
    chosen = _loose_messages(record.get(cols["chosen"]), mapping.tags, "chosen")
    rejected = _loose_messages(record.get(cols["rejected"]), mapping.tags, "rejected")
    if not prompt:  # implicit prompt: what both conversations share
        shared = 0
        while (shared < min(len(chosen), len(rejected)) - 1
               and chosen[shared] == rejected[shared]):
            shared += 1
        prompt, chosen, rejected = chosen[:shared], chosen[shared:], rejected[shared:]
    for what, reply in (("chosen", chosen), ("rejected", rejected)):
        if len(reply) != 1 or reply[0]["role"] != "assistant":
            raise RowError("bad_pair", Msg("datasets.detail.one_reply", field=what))
    row: dict[str, Any] = {"messages": prompt + chosen, "rejected": rejected[0]}
    tools = parse_tools(record.get(cols["tools"])) if cols.get("tools") else None
    if tools:
        row["tools"] = tools
    return row, _has_media(record)


def _label(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) or (isinstance(value, str) and value.strip().lower() in ("true", "false", "0", "1")):
        return str(value).strip().lower() in ("1", "true")
    raise RowError("bad_label", str(value)[:40])


def kto_to_row(record: Any, mapping: Mapping) -> tuple[dict, bool]:
    """A conversation + good/bad label -> (canonical KTO row, had media).

    Example:
        >>> m = detect_format([{"prompt": "Hi", "completion": "Hello!", "label": True}])
        >>> kto_to_row({"prompt": "Hi", "completion": "Hello!", "label": True}, m)[0]["label"]
        True
    """
    if not isinstance(record, dict):
        raise RowError("not_an_object", type(record).__name__)
    cols = mapping.columns
    label = _label(record.get(cols["kto_tag"]))
    prompt = record.get(cols.get("prompt", "")) if mapping.format == "alpaca" else None
    if isinstance(prompt, (list, dict)):  # TRL conversational: prompt and completion are messages
        messages = (_loose_messages(prompt, mapping.tags, "prompt")
                    + _loose_messages(record.get(cols.get("response", "completion")), mapping.tags, "completion"))
        row, media = {"messages": messages}, _has_media(record)
    else:
        plain = Mapping(mapping.format, {k: v for k, v in cols.items() if k != "kto_tag"}, mapping.tags)
        row, media = convert(record, plain)
    row["label"] = label
    return row, media


def row_kind(row: dict) -> str:
    """The kind (``KINDS``) of one canonical row.

    Example:
        >>> row_kind({"text": "Once upon a time"}), row_kind({"messages": [], "label": False})
        ('pt', 'kto')
    """
    if "rejected" in row:
        return "preference"
    if "label" in row:
        return "kto"
    return "pt" if is_text_row(row) else "sft"


def normalize_kind(kind: str | None) -> str:
    """A saved dataset's kind under today's names (older meta.json said chat/text)."""
    kind = _LEGACY_KINDS.get(kind or "sft", kind or "sft")
    return kind if kind in KINDS else "sft"


def convert(record: Any, mapping: Mapping) -> tuple[dict, bool]:
    """Any source record -> (canonical row, had media), per ``mapping``; raises RowError."""
    kind = mapping.kind
    if kind == "preference":
        return preference_to_row(record, mapping)
    if kind == "kto":
        return kto_to_row(record, mapping)
    if isinstance(record, dict) and _is_preference(record):
        raise RowError("preference", Msg("datasets.detail.has_pair"))
    fmt = mapping.format
    if fmt == "alpaca":
        return alpaca_to_row(record, mapping.columns)
    if fmt in ("sharegpt", "openai"):
        return chat_to_row(record, mapping.columns, mapping.tags)
    if fmt == "moss":
        return moss_to_row(record, mapping.columns)
    if fmt == "text":
        return text_to_row(record, mapping.columns)
    raise RowError("unknown_format", fmt)


def to_canonical(record: Any, mapping: Mapping) -> dict:
    """Any source record -> canonical row (see ``convert``)."""
    return convert(record, mapping)[0]


# ----------------------------------------------------------------------------- placeholders


def find_placeholders(rows: Iterable[dict]) -> set[str]:
    """Names of ``{{name}}``-style placeholders used anywhere in the rows' text.

    Example:
        >>> sorted(find_placeholders([{"messages": [{"role": "assistant", "content": "I am {{name}}"}]}]))
        ['name']
    """
    found: set[str] = set()
    for row in rows:
        for text in _row_texts(row):
            if "{{" in text:
                found.update(_PLACEHOLDER.findall(text))
    return found


def _row_texts(row: dict) -> Iterable[str]:
    if "text" in row and isinstance(row["text"], str):
        yield row["text"]
    for m in [*(row.get("messages") or ()), row.get("rejected")]:
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            yield m["content"]


def fill_placeholders(row: dict, values: dict[str, str]) -> dict:
    """Replace ``{{key}}`` with ``values[key]`` in every message (keys not given stay as they are).

    Example:
        >>> fill_placeholders({"messages": [{"role": "assistant", "content": "I am {{name}}."}]},
        ...                   {"name": "Aria"})["messages"][0]["content"]
        'I am Aria.'
    """
    values = {k: v for k, v in values.items() if v}
    if not values:
        return row

    def sub(text: str) -> str:
        if "{{" not in text:
            return text
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)

    out = dict(row)
    if isinstance(row.get("text"), str):
        out["text"] = sub(row["text"])
    if "messages" in row:
        out["messages"] = [dict(m, content=sub(m["content"])) for m in row["messages"]]
    if isinstance(row.get("rejected"), dict):
        out["rejected"] = dict(row["rejected"], content=sub(row["rejected"]["content"]))
    return out


# ----------------------------------------------------------------------------- export


def is_text_row(row: dict) -> bool:
    return "messages" not in row and isinstance(row.get("text"), str)


def to_openai(row: dict) -> dict:
    """Canonical -> OpenAI/XTuner ``{"messages": [...]}`` (the canonical form itself, copied)."""
    if is_text_row(row):
        return {"text": row["text"]}
    out: dict[str, Any] = {"messages": [dict(m) for m in row["messages"]]}
    if row.get("tools"):
        out["tools"] = row["tools"]
    for key in ("rejected", "label"):
        if key in row:
            out[key] = row[key]
    return out


def to_sharegpt(row: dict) -> dict:
    """Canonical -> ShareGPT (``conversations`` with ``from``/``value``; tools as a JSON string).

    An assistant message directly followed by a ``tool`` message is written as ``function_call``.

    Example:
        >>> to_sharegpt({"messages": [{"role": "user", "content": "hi"},
        ...              {"role": "assistant", "content": "yo"}]})
        {'conversations': [{'from': 'human', 'value': 'hi'}, {'from': 'gpt', 'value': 'yo'}]}
    """
    if is_text_row(row):
        return {"text": row["text"]}
    msgs = row["messages"]
    out: dict[str, Any] = {}
    if msgs and msgs[0]["role"] == "system":
        out["system"] = msgs[0]["content"]
        msgs = msgs[1:]
    conv = []
    for i, m in enumerate(msgs):
        role = m["role"]
        if role == "assistant":
            nxt = msgs[i + 1]["role"] if i + 1 < len(msgs) else None
            tag = "function_call" if nxt == "tool" else "gpt"
        else:
            tag = {"user": "human", "tool": "observation", "system": "system"}.get(role, role)
        conv.append({"from": tag, "value": m["content"]})
    result = {"conversations": conv, **out}
    if "rejected" in row:  # LLaMA-Factory's ranking shape: the prompt, then the two replies
        result["chosen"] = conv.pop()
        result["rejected"] = {"from": "gpt", "value": row["rejected"]["content"]}
    if "label" in row:
        result["label"] = row["label"]
    if row.get("tools"):
        result["tools"] = json.dumps(row["tools"], ensure_ascii=False)
    return result


def to_alpaca(row: dict) -> dict | None:
    """Canonical -> Alpaca (``instruction``/``input``/``output`` + ``system``/``history``).

    Returns None for rows Alpaca cannot hold (tool turns, roles not alternating user/assistant).

    Example:
        >>> to_alpaca({"messages": [{"role": "user", "content": "hi"},
        ...            {"role": "assistant", "content": "yo"}]})
        {'instruction': 'hi', 'input': '', 'output': 'yo'}
    """
    if is_text_row(row):
        return {"text": row["text"]}
    msgs = row["messages"]
    out: dict[str, Any] = {}
    system = ""
    if msgs and msgs[0]["role"] == "system":
        system, msgs = msgs[0]["content"], msgs[1:]
    if len(msgs) < 2 or len(msgs) % 2:
        return None
    pairs = []
    for q, a in zip(msgs[::2], msgs[1::2]):
        if q["role"] != "user" or a["role"] != "assistant":
            return None
        pairs.append([q["content"], a["content"]])
    out = {"instruction": pairs[-1][0], "input": "", "output": pairs[-1][1]}
    if "rejected" in row:
        out = {"instruction": pairs[-1][0], "input": "", "chosen": pairs[-1][1],
               "rejected": row["rejected"]["content"]}
    if "label" in row:
        out["label"] = row["label"]
    if system:
        out["system"] = system
    if len(pairs) > 1:
        out["history"] = pairs[:-1]
    return out


def export_records(rows: Iterable[dict], fmt: str) -> tuple[list[dict], int]:
    """Convert canonical rows to ``fmt`` (alpaca | sharegpt | openai).

    Returns:
        (records, skipped) — skipped counts rows the format cannot hold.
    """
    if fmt not in EXPORT_FORMATS:
        raise UserError("err.data.cannot_export", fmt=fmt, field="format",
                        hint="err.common.use_one_of", choices=", ".join(EXPORT_FORMATS))
    fn = {"alpaca": to_alpaca, "sharegpt": to_sharegpt, "openai": to_openai}[fmt]
    records, skipped = [], 0
    for row in rows:
        rec = fn(row)
        if rec is None:
            skipped += 1
        else:
            records.append(rec)
    return records, skipped
