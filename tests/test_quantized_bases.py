"""Chat and compare on a real bitsandbytes 4-bit NF4 and 8-bit base (on the CPU): greedy replies are
produced, repeat exactly, and batched compare with LoRA adapters on the quantized base answers like
one prompt and one model at a time."""
from __future__ import annotations

import csv
import io
import math

import pytest

from adapter_fixtures import random_adapters

PROMPTS = ["Who are you?", "你是谁？", "1+1=?"]
SETTINGS = dict(max_new_tokens=8, temperature=0, repetition_penalty=1.0)
LAYER_CLASS = {"4bit": "Linear4bit", "8bit": "Linear8bitLt"}


@pytest.fixture(scope="module", params=["4bit", "8bit"])
def quantized(request, tiny_model_path, tmp_path_factory):
    from core.models.loading import load_base

    adapters = random_adapters(tmp_path_factory, tiny_model_path)[:2]
    return request.param, load_base(tiny_model_path, quantization=request.param), adapters


def test_greedy_chat_on_a_quantized_base_repeats_and_streams_the_same(quantized):
    from core.chat.generate import GenerationSettings, generate_reply, stream_reply

    quantization, lm, adapters = quantized
    # the weights really are bitsandbytes layers, not a silently unquantized model
    assert type(lm.model.model.layers[0].self_attn.q_proj).__name__ == LAYER_CLASS[quantization]
    assert lm.quantization == quantization
    settings = GenerationSettings(**SETTINGS)
    messages = [{"role": "user", "content": "Who are you?"}]
    first = generate_reply(lm, messages, settings)
    assert first.strip()
    assert generate_reply(lm, messages, settings) == first
    assert "".join(stream_reply(lm, messages, settings)) == first
    with_adapter = generate_reply(lm, messages, settings, adapter=adapters[0])
    assert with_adapter.strip() and with_adapter != first  # the adapter answers on the quantized base
    assert generate_reply(lm, messages, settings, adapter=adapters[0]) == with_adapter


def test_compare_on_a_quantized_base_gives_one_answer_per_prompt_and_model(quantized):
    from core.chat.compare import run_compare
    from core.chat.generate import GenerationSettings, generate_reply
    from core.chat.prompts import PromptItem

    quantization, lm, adapters = quantized
    settings = GenerationSettings(**SETTINGS)
    eval_rows = [{"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": "我是小智。"}]}
                 for p in PROMPTS]
    result = run_compare(lm, [PromptItem(p) for p in PROMPTS], adapters, settings, eval_rows=eval_rows,
                         batch_rows=16)
    assert result.complete and result.quantization == quantization
    assert len(result.labels) == 3  # base + 2 adapters, in one mixed batch
    again = run_compare(lm, [PromptItem(p) for p in PROMPTS], adapters, settings, batch_rows=16)
    assert again.answers == result.answers  # deterministic
    for label, adapter in zip(result.labels, [None, *adapters]):
        single = [generate_reply(lm, [{"role": "user", "content": p}], settings, adapter=adapter) for p in PROMPTS]
        assert all(answer.strip() for answer in result.answers[label])
        if quantization == "4bit" or adapter is None:
            assert result.answers[label] == single
        # 8-bit + LoRA in a batch of several rows is not bit-identical to one row at a time: the
        # LoRA sum rounds differently per batch shape and the random tiny model's near-tied
        # logits flip after a few tokens (measured; one row per batch matches exactly).
        assert math.isfinite(result.metrics[label]["eval_loss"])
    rows = list(csv.reader(io.StringIO(result.to_csv())))
    assert rows[0] == ["prompt", rows[0][1], *result.labels]
    assert [row[0] for row in rows[1:]] == PROMPTS
    assert [row[2:] for row in rows[1:]] == [[result.answers[label][i] for label in result.labels]
                                             for i in range(len(PROMPTS))]
