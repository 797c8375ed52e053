"""Batched generation with mixed-adapter batches answers exactly like one prompt and one model at a time."""
from __future__ import annotations

import threading

import pytest

from adapter_fixtures import random_adapters

PROMPTS = ["Who are you?", "你是谁？", "请做一下自我介绍", "What is your name?",
           "Tell me a long story about the sea and the mountains, please.", "1+1=?"]


@pytest.fixture(scope="module")
def loaded(tiny_model_path, tmp_path_factory):
    from core.models.loading import load_base

    adapters = random_adapters(tmp_path_factory, tiny_model_path)
    return load_base(tiny_model_path), adapters


def _requests(adapters):
    from core.chat.batch import Request

    return [Request([{"role": "user", "content": p}], a) for a in [None, *adapters] for p in PROMPTS]


def test_batched_greedy_equals_one_at_a_time(loaded):
    from core.chat.batch import generate_many
    from core.chat.generate import GenerationSettings, generate_reply

    lm, adapters = loaded
    settings = GenerationSettings(max_new_tokens=12, temperature=0, repetition_penalty=1.0)
    requests = _requests(adapters)
    batched = generate_many(lm, requests, settings, batch_rows=24)
    single = [generate_reply(lm, r.messages, settings, adapter=r.adapter) for r in requests]
    assert batched == single
    # the adapters really answer differently from the base (non-zero LoRA B)
    by_model = [tuple(batched[i:i + len(PROMPTS)]) for i in range(0, len(batched), len(PROMPTS))]
    assert len(set(by_model)) == 4


def test_one_model_per_batch_when_mixing_is_refused(loaded, monkeypatch):
    from core.chat import batch
    from core.chat.generate import GenerationSettings

    lm, adapters = loaded
    settings = GenerationSettings(max_new_tokens=8, temperature=0, repetition_penalty=1.0)
    requests = _requests(adapters)
    mixed = batch.generate_many(lm, requests, settings)
    monkeypatch.setattr(batch, "mixed_batches_supported", lambda lm: False)
    calls = []
    real = batch._generate_rows
    monkeypatch.setattr(batch, "_generate_rows", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    assert batch.generate_many(lm, requests, settings) == mixed
    assert len(calls) == 4 and all(names is None for names in calls)


def test_stream_many_rows_fill_together_and_equal_batched(loaded):
    from core.chat.batch import generate_many, stream_many
    from core.chat.generate import GenerationSettings

    lm, adapters = loaded
    settings = GenerationSettings(max_new_tokens=10, temperature=0, repetition_penalty=1.0)
    requests = _requests(adapters)[::len(PROMPTS)]  # the first prompt, base + 3 adapters: an arena
    texts = ["" for _ in requests]
    order, done = [], {}
    for event in stream_many(lm, requests, settings):
        if event.done:
            done[event.row] = event.cut
        else:
            texts[event.row] += event.text
            order.append(event.row)
    assert texts == generate_many(lm, requests, settings)
    assert sorted(done) == [0, 1, 2, 3]
    # interleaved: some row's piece comes after another row's piece and before its own last one
    first_rows = order[:len(set(order))]
    assert len(set(first_rows)) > 1


def test_stop_ends_every_row_and_marks_it_cut(loaded):
    from core.chat.batch import stream_many
    from core.chat.generate import GenerationSettings

    lm, adapters = loaded
    settings = GenerationSettings(max_new_tokens=200, temperature=0, repetition_penalty=1.0)
    requests = _requests(adapters)[::len(PROMPTS)]
    stop = threading.Event()
    stop.set()  # pressed before the first token: nothing beyond it is generated
    events = list(stream_many(lm, requests, settings, stop))
    finished = {e.row: e.cut for e in events if e.done}
    assert finished == {0: True, 1: True, 2: True, 3: True}
    assert sum(len(e.text) for e in events) < 40


def test_training_probes_answer_in_one_batch_like_one_at_a_time(loaded, tmp_path, monkeypatch):
    """The trainer's probe callback batches its prompts (one generate) and writes the same greedy
    answers the chat gives one prompt at a time, for the base and for a model with an adapter."""
    import json

    from core.chat import batch
    from core.chat.generate import GenerationSettings, generate_reply
    from core.train import runs
    from core.train.callbacks import ProbeCallback

    lm, adapters = loaded
    settings = GenerationSettings(max_new_tokens=10, temperature=0, repetition_penalty=1.0)
    calls = []
    real = batch.generate_tokens
    monkeypatch.setattr(batch, "generate_tokens", lambda m, t, prompts, **k: calls.append(len(prompts)) or real(m, t, prompts, **k))
    for step, adapter in ((0, None), (5, adapters[0])):
        with lm.using(adapter):
            ProbeCallback(tmp_path, lm.tokenizer, PROMPTS, every=5, max_new_tokens=10)._answer_all(lm.model, step)
        written = [json.loads(line) for line in (tmp_path / runs.SAMPLES_FILE).read_text().splitlines()]
        answers = [r["answer"] for r in written if r["step"] == step]
        single = [generate_reply(lm, [{"role": "user", "content": p}], settings, adapter=adapter) for p in PROMPTS]
        assert answers == single
    assert calls == [len(PROMPTS), len(PROMPTS)]
