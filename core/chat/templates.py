"""Turn messages into a prompt string.

The tokenizer's own chat template is always preferred (it is what the model was trained
with). Named templates exist only as a fallback for tokenizers that ship none.
"""
from __future__ import annotations

FALLBACK_TEMPLATES = {
    # ChatML: Qwen, Yi, InternLM2 and many fine-tunes.
    "chatml": (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    ),
    # A plain "### Instruction / ### Response" layout for base models with no chat tokens.
    "alpaca": (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] + '\n\n' }}"
        "{% elif m['role'] == 'user' %}{{ '### Instruction:\n' + m['content'] + '\n\n' }}"
        "{% else %}{{ '### Response:\n' + m['content'] + '\n\n' }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ '### Response:\n' }}{% endif %}"
    ),
}


def ensure_chat_template(tokenizer, fallback: str = "chatml"):
    """Give a tokenizer without a chat template the named fallback; returns the tokenizer."""
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_TEMPLATES[fallback]
    return tokenizer


def with_system(messages: list[dict], system: str | None) -> list[dict]:
    """Messages with ``system`` as the first message (replacing any given one) when non-empty."""
    rest = [m for m in messages if m.get("role") != "system"]
    if system and system.strip():
        return [{"role": "system", "content": system.strip()}] + rest
    return list(messages)


def build_prompt(tokenizer, messages: list[dict], system: str | None = None) -> str:
    """The prompt for the next reply; a template that raises or runs too long is a UserError naming its file."""
    from core.models.checks import render_chat_template

    return render_chat_template(tokenizer, with_system(messages, system), add_generation_prompt=True)
