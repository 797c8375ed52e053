"""Put retrieved passages into the chat: a grounded prompt with zh and en default templates.

A template is plain text with two placeholders, ``{context}`` (the numbered passages) and
``{question}`` (the user's last message). ``build_grounded_messages`` returns a copy of the
conversation whose last user turn is replaced by the filled template; the Chat page calls it
once per question and gives the same messages to every side-by-side pane, so base+RAG and
fine-tuned+RAG see identical passages.

    >>> msgs = [{"role": "user", "content": "What is albedo?"}]
    >>> out = build_grounded_messages(msgs, ["Albedo is the fraction of light reflected."], "")
    >>> out[-1]["content"].splitlines()[0]
    'Learn the following passages and answer the user\\'s question. If they do not contain the answer, answer on your own.'
    >>> msgs[-1]["content"]          # the input is not modified
    'What is albedo?'
"""
from __future__ import annotations

from typing import Iterable

from core.errors import UserError
from core.i18n import Joined, Msg

DEFAULT_TEMPLATES = {
    "en": (
        "Learn the following passages and answer the user's question. If they do not contain "
        "the answer, answer on your own.\n\n"
        "Passages:\n{context}\n\n"
        "Question: {question}"
    ),
    "zh": (
        "学习以下文段，用文段相关内容回答用户的问题。如果无法从中得到答案，请根据你自己的知识回答。\n\n"
        "文段：\n{context}\n\n"
        "问题：{question}"
    ),
}
PLACEHOLDERS = ("{context}", "{question}")


def default_template(lang: str = "en") -> str:
    return DEFAULT_TEMPLATES.get(lang, DEFAULT_TEMPLATES["en"])


def check_template(template: str) -> str:
    """Return ``template`` (the English default when empty) or refuse one missing a placeholder."""
    template = template or DEFAULT_TEMPLATES["en"]
    missing = [p for p in PLACEHOLDERS if p not in template]
    if missing:
        raise UserError("err.rag.template_lacks", missing=Joined(missing, sep=Msg("err.rag.and")), field="template",
                        hint="err.rag.template_lacks.hint")
    return template


def _passage_text(passage) -> tuple[str, str]:
    """(text, source label) from a Hit, a dict with ``text`` or a plain string."""
    if isinstance(passage, str):
        return passage, ""
    if isinstance(passage, dict):
        return str(passage.get("text", "")), str(passage.get("name") or passage.get("source") or "")
    return str(getattr(passage, "text", "")), str(getattr(passage, "name", "") or getattr(passage, "source", ""))


def format_passages(passages: Iterable) -> str:
    """Numbered passages, each with its source: ``[1] (faq.txt) text``."""
    lines = []
    for number, passage in enumerate(passages, 1):
        text, label = _passage_text(passage)
        lines.append(f"[{number}] ({label}) {text.strip()}" if label else f"[{number}] {text.strip()}")
    return "\n\n".join(lines)


def build_grounded_prompt(question: str, passages: Iterable, template: str = "") -> str:
    """The template filled with the passages and the question (str.replace: braces in text are safe)."""
    template = check_template(template)
    return template.replace("{context}", format_passages(passages)).replace("{question}", question)


def build_grounded_messages(messages: list[dict], passages: Iterable, template: str = "") -> list[dict]:
    """A copy of ``messages`` whose last user message carries the passages.

    Args:
        messages: the conversation, ``[{"role": ..., "content": ...}, ...]``, ending with the
            user's new question (earlier turns stay as they were asked, without passages).
        passages: ``Hit`` objects (``retrieval.search``), hit dicts or strings.
        template: a template with ``{context}`` and ``{question}``; "" = English default.
    Returns:
        New list of new dicts; with no passages the messages are returned unchanged (copied),
        so a question the base knows nothing about is asked plainly.
    """
    passages = list(passages)
    out = [dict(m) for m in messages]
    template = check_template(template)
    if not passages:
        return out
    for message in reversed(out):
        if message.get("role") == "user":
            message["content"] = build_grounded_prompt(str(message.get("content", "")), passages, template)
            return out
    raise UserError("err.rag.no_question", hint="err.rag.no_question.hint")
