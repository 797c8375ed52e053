"""Canonical chat rows -> token ids with a mask of the tokens the loss is taken on.

Every assistant turn is learnt (as XTuner does), not only the last one. The mask comes from
the tokenizer's own chat template: render the conversation, find each assistant reply's
character span (the prefix rendered with a generation prompt ends where the reply begins),
and mark the tokens inside those spans via the fast tokenizer's offsets. Works for any
template, with no ``{% generation %}`` markers needed.

    tokenize_row(tok, {"messages": [{"role": "user", "content": "hi"},
                                    {"role": "assistant", "content": "hello"}]})
    -> {"input_ids": [...], "assistant_masks": [0, 0, ..., 1, 1, 1]}

A row ``{"text": ...}`` (continued pre-training) is learnt in full. An assistant message with
``"loss_weight": 0`` (LLaMA-Factory v1 data) is context only: its tokens are not learnt.
"""
from __future__ import annotations

from core.chat.templates import ensure_chat_template


def _render(tokenizer, messages: list[dict], generation_prompt: bool, tools: list | None = None) -> str:
    # Tool schemas go to the template (which places them, e.g. in the system turn); a template
    # that ignores ``tools`` simply renders without them.
    return tokenizer.apply_chat_template(messages, tools=tools or None, tokenize=False,
                                         add_generation_prompt=generation_prompt)


def assistant_spans(tokenizer, messages: list[dict], tools: list | None = None) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the (start, end) character span of each assistant reply."""
    text = _render(tokenizer, messages, False, tools)
    spans: list[tuple[int, int]] = []
    cursor = 0
    for i, message in enumerate(messages):
        if message.get("role") != "assistant" or message.get("loss_weight") == 0:
            continue
        before = _render(tokenizer, messages[:i], True, tools) if i else ""
        upto = _render(tokenizer, messages[: i + 1], False, tools)
        if text.startswith(before) and text.startswith(upto) and len(upto) > len(before):
            spans.append((len(before), len(upto)))
            cursor = len(upto)
        else:  # a template that renders history differently: find the reply text itself
            start = text.find(message["content"], cursor)
            if start >= 0:
                spans.append((start, start + len(message["content"])))
                cursor = start + len(message["content"])
    return text, spans


def tokenize_row(tokenizer, row: dict) -> dict:
    ensure_chat_template(tokenizer)
    if "text" in row and "messages" not in row:
        ids = tokenizer(row["text"], add_special_tokens=True)["input_ids"]
        if tokenizer.eos_token_id is not None:
            ids = ids + [tokenizer.eos_token_id]
        return {"input_ids": ids, "assistant_masks": [1] * len(ids)}
    text, spans = assistant_spans(tokenizer, row["messages"], row.get("tools"))
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = []
    for start, end in encoded["offset_mapping"]:
        inside = any(s <= start < e or (start < e and end > s and start >= s) for s, e in spans)
        mask.append(1 if inside and end > start else 0)
    return {"input_ids": encoded["input_ids"], "assistant_masks": mask}
