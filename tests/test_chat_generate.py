"""core.chat.generate and core.chat.templates by their values: a streamed greedy reply equals the
one-shot one, the Stop event ends a reply early, every settings limit is refused, and the named
fallback chat templates lay out a conversation exactly."""
from __future__ import annotations

import threading

import pytest

from core.chat.generate import GREEDY, GenerationSettings, generate_reply, stream_reply
from core.chat.templates import FALLBACK_TEMPLATES, build_prompt, ensure_chat_template
from core.errors import UserError

MESSAGES = [{"role": "user", "content": "Tell me a long story about a cat."}]
LONG = GenerationSettings(max_new_tokens=48, temperature=0, repetition_penalty=1.0)


@pytest.fixture(scope="module")
def loaded(tiny_model_path):
    from core.models.loading import load_base

    return load_base(tiny_model_path)


def test_streamed_greedy_reply_equals_the_one_shot_reply(loaded):
    one_shot = generate_reply(loaded, MESSAGES, LONG)
    streamed = "".join(stream_reply(loaded, MESSAGES, LONG))
    assert one_shot.strip() and streamed == one_shot


def test_stop_event_ends_a_streamed_reply_early(loaded):
    full_ids = loaded.tokenizer(generate_reply(loaded, MESSAGES, LONG), add_special_tokens=False)["input_ids"]
    assert len(full_ids) >= 40  # the tiny random model runs to max_new_tokens: room to stop early
    stop = threading.Event()
    pieces = []
    for piece in stream_reply(loaded, MESSAGES, LONG, stop=stop):
        pieces.append(piece)
        stop.set()  # the page's Stop button sets this event while tokens arrive
    partial = "".join(pieces)
    partial_ids = loaded.tokenizer(partial, add_special_tokens=False)["input_ids"]
    assert partial and len(partial_ids) < len(full_ids) // 2
    assert generate_reply(loaded, MESSAGES, LONG).startswith(partial.rstrip())


def test_stop_event_set_before_the_start_gives_at_most_one_token(loaded):
    stop = threading.Event()
    stop.set()
    text = "".join(stream_reply(loaded, MESSAGES, LONG, stop=stop))
    assert len(loaded.tokenizer(text, add_special_tokens=False)["input_ids"]) <= 1


@pytest.mark.parametrize("field, value", [
    ("max_new_tokens", 0), ("max_new_tokens", 32769), ("temperature", -0.1), ("temperature", 5.1),
    ("top_p", 0), ("top_p", 1.01), ("top_k", -1), ("repetition_penalty", 0.4), ("repetition_penalty", 3.1),
])
def test_every_settings_limit_is_refused_naming_its_field(field, value):
    with pytest.raises(UserError) as caught:
        GenerationSettings(**{field: value}).validate()
    assert caught.value.field == field


def test_settings_at_their_limits_are_accepted():
    GenerationSettings(max_new_tokens=1, temperature=0, top_p=1, top_k=0, repetition_penalty=0.5).validate()
    GenerationSettings(max_new_tokens=32768, temperature=5, top_p=0.01, repetition_penalty=3).validate()
    assert GREEDY.generate_kwargs()["do_sample"] is False


@pytest.fixture()
def bare_tokenizer(tiny_model_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    tokenizer.chat_template = None
    return tokenizer


CONVERSATION = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "Who are you?"}]


def test_chatml_fallback_layout(bare_tokenizer):
    assert ensure_chat_template(bare_tokenizer).chat_template == FALLBACK_TEMPLATES["chatml"]
    assert build_prompt(bare_tokenizer, CONVERSATION, system="Be brief.") == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n"
        "<|im_start|>assistant\n")


def test_alpaca_fallback_layout(bare_tokenizer):
    ensure_chat_template(bare_tokenizer, fallback="alpaca")
    assert build_prompt(bare_tokenizer, CONVERSATION, system="Be brief.") == (
        "Be brief.\n\n### Instruction:\nHi\n\n### Response:\nHello!\n\n### Instruction:\nWho are you?\n\n"
        "### Response:\n")


def test_a_tokenizers_own_template_is_kept(tiny_model_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    own = tokenizer.chat_template
    assert own and own not in FALLBACK_TEMPLATES.values()
    assert ensure_chat_template(tokenizer, fallback="alpaca").chat_template == own
