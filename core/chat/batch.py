"""Answer many (prompt, model) pairs at once: prompts batched with left padding, the base and any
number of LoRA checkpoints in the same batch on one copy of the base weights.

PEFT's mixed-adapter batches do the model part: ``model.generate(..., adapter_names=[...])``
gives every row its own adapter (``"__base__"`` = no adapter), so base + 4 checkpoints × 8
prompts is one ``generate`` of 40 rows instead of 40 calls with adapter switches between them.
PEFT refuses mixed batches while an adapter is merged into the weights or uses DoRA; then each
model gets its own batch (prompts still batched). 4-bit and 8-bit bitsandbytes bases work: PEFT's
bnb LoRA layers have their own mixed-batch forward, which casts each sub-batch to the LoRA dtype.

    answers = generate_many(lm, [Request(msgs, None), Request(msgs, "RUN/checkpoint-20")], GREEDY)
    for event in stream_many(lm, requests, settings, stop):   # side-by-side chat / arena
        panes[event.row].write(event.text)                     # each row has its own streamer

Greedy answers equal those of one prompt and one model at a time (tests/test_batch_generate.py).
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from core.chat.generate import GREEDY, GenerationSettings, stop_criteria
from core.chat.templates import build_prompt
from core.models.loading import LoadedModel

BASE_ADAPTER_NAME = "__base__"  # PEFT's name for "no adapter" in adapter_names
DEFAULT_BATCH_ROWS = 16  # rows per generate call; more rows pad more and hold more KV cache


@dataclass
class Request:
    """One answer to produce: the chat ``messages`` (ending with the user turn) and the adapter
    folder to answer with (None = the base)."""

    messages: list[dict]
    adapter: str | Path | None = None


@dataclass
class StreamEvent:
    """A piece of row ``row``'s answer; ``done`` once that row has finished (``cut`` when it ended
    because of Stop or the token limit rather than the model's own end of answer)."""

    row: int
    text: str = ""
    done: bool = False
    cut: bool = False


def mixed_batches_supported(lm: LoadedModel) -> bool:
    """Whether one batch can mix adapters: PEFT refuses while any adapter is merged or uses DoRA."""
    model = lm.model
    if not lm.adapters or not hasattr(model, "peft_config"):
        return True
    if any(getattr(config, "use_dora", False) for config in model.peft_config.values()):
        return False
    return not any(getattr(module, "merged", False) for module in model.modules()
                   if hasattr(module, "lora_A"))


def _adapter_names(lm: LoadedModel, requests: list[Request]) -> list[str]:
    return [lm.attach(r.adapter) if r.adapter is not None else BASE_ADAPTER_NAME for r in requests]


def eos_ids(model, tokenizer) -> set[int]:
    """Every token id that ends an answer: the generation config's and the tokenizer's."""
    ids = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids = ids if isinstance(ids, (list, tuple)) else [ids]
    found = {int(i) for i in ids if i is not None}
    if tokenizer.eos_token_id is not None:
        found.add(int(tokenizer.eos_token_id))
    return found


def _answer_tokens(tokens: list[int], eos: set[int]) -> tuple[list[int], bool]:
    """The row's tokens up to its first end-of-answer token, and whether it had one."""
    for i, token in enumerate(tokens):
        if token in eos:
            return tokens[:i], True
    return tokens, False


def answer_text(tokenizer, tokens: list[int], eos: set[int]) -> str:
    """A row's answer: its new tokens up to the end of the answer (the batch pads finished rows)."""
    return tokenizer.decode(_answer_tokens(tokens, eos)[0], skip_special_tokens=True)


def generate_tokens(model, tokenizer, prompts: list[str], **generate_kwargs) -> list[list[int]]:
    """One ``generate`` over rendered ``prompts``, left-padded into one batch: each row's new tokens.

    Any model with ``generate``: the chat's loaded model, or the model being trained (the probes).
    """
    import torch

    encoded = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left",
                        add_special_tokens=False)
    inputs = {k: v.to(model.device) for k, v in encoded.items()}
    with torch.inference_mode():
        out = model.generate(**inputs, pad_token_id=tokenizer.pad_token_id, **generate_kwargs)
    return out[:, inputs["input_ids"].shape[1]:].tolist()


def _generate_rows(lm: LoadedModel, prompts: list[str], names: list[str] | None,
                   settings: GenerationSettings, stop: threading.Event | None, streamer=None):
    """One ``generate`` over ``prompts``; ``names`` = per-row adapter names (None: the active one)."""
    kwargs = dict(settings.generate_kwargs(), stopping_criteria=stop_criteria(stop))
    if names is not None and lm.adapters:
        kwargs["adapter_names"] = names
    if streamer is not None:
        kwargs["streamer"] = streamer
    return generate_tokens(lm.model, lm.tokenizer, prompts, **kwargs)


def _chunks(order: list[int], size: int) -> list[list[int]]:
    return [order[i:i + size] for i in range(0, len(order), size)]


def generate_many(
    lm: LoadedModel,
    requests: list[Request],
    settings: GenerationSettings = GREEDY,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str | None]:
    """Every request's whole answer, in the order given (None for rows not reached before a stop).

    Rows of similar prompt length go together (less padding); with mixed batches a batch holds
    any models, else each model's rows are batched separately under ``lm.using(adapter)``.
    ``progress(done_rows, total_rows)`` is called after each batch; ``should_stop`` before each.
    """
    settings.validate()
    answers: list[str | None] = [None] * len(requests)
    if not requests:
        return answers
    eos = eos_ids(lm.model, lm.tokenizer)
    with lm.lock:
        names = _adapter_names(lm, requests)
        prompts = [build_prompt(lm.tokenizer, r.messages, settings.system) for r in requests]
        by_length = sorted(range(len(requests)), key=lambda i: len(prompts[i]))
        mixed = mixed_batches_supported(lm)
        if mixed:
            groups = [(None, _chunks(by_length, batch_rows))]
        else:
            per_model: dict[str, list[int]] = {}
            for i in by_length:
                per_model.setdefault(names[i], []).append(i)
            groups = [(requests[rows[0]].adapter, _chunks(rows, batch_rows)) for rows in per_model.values()]
        done = 0
        for adapter, batches in groups:
            for rows in batches:
                if should_stop and should_stop():
                    return answers
                batch = [prompts[i] for i in rows]
                if mixed:
                    outputs = _generate_rows(lm, batch, [names[i] for i in rows], settings, None)
                else:
                    with lm.using(adapter):
                        outputs = _generate_rows(lm, batch, None, settings, None)
                for i, tokens in zip(rows, outputs):
                    answers[i] = answer_text(lm.tokenizer, tokens, eos)
                done += len(rows)
                if progress:
                    progress(done, len(requests))
    return answers


class _RowStreamer:
    """Row ``row``'s own text streamer: transformers' TextStreamer decoding (whole words, CJK as
    they come), its pieces sent to the shared event queue."""

    def __init__(self, tokenizer, row: int, events: queue.Queue):
        from transformers import TextStreamer

        outer = self

        class _Text(TextStreamer):
            def on_finalized_text(self, text: str, stream_end: bool = False):
                if text:
                    events.put(StreamEvent(outer.row, text))

        self.row, self.events, self.finished = row, events, False
        self.text = _Text(tokenizer, skip_prompt=False, skip_special_tokens=True)

    def put(self, token: int) -> None:
        import torch

        self.text.put(torch.tensor([token]))

    def finish(self, cut: bool) -> None:
        if not self.finished:
            self.finished = True
            self.text.end()
            self.events.put(StreamEvent(self.row, done=True, cut=cut))


def _batch_streamer(rows: list[_RowStreamer], eos: set[int]):
    """A generate() streamer for a whole batch that hands each row's new token to that row's
    streamer, and finishes a row at its end-of-answer token (the rest of the batch goes on)."""
    from transformers.generation.streamers import BaseStreamer

    class _Batch(BaseStreamer):
        prompt_seen = False

        def put(self, value):
            if not self.prompt_seen:  # generate() first hands over the prompts
                self.prompt_seen = True
                return
            for streamer, token in zip(rows, value.reshape(-1).tolist()):
                if streamer.finished:
                    continue
                if token in eos:
                    streamer.finish(cut=False)
                else:
                    streamer.put(token)

        def end(self):
            for streamer in rows:
                streamer.finish(cut=True)  # still going at the end: the limit or Stop cut it

    return _Batch()


def stream_many(
    lm: LoadedModel,
    requests: list[Request],
    settings: GenerationSettings,
    stop: threading.Event | None = None,
) -> Iterator[StreamEvent]:
    """Answer every request at once and yield each row's pieces as they come (one streamer per row).

    All rows are one ``generate`` (a mixed-adapter batch), so side-by-side panes fill together
    instead of one after the other. Setting ``stop`` ends every row; rows still going are marked
    ``cut``. Every row ends with one ``done`` event.
    """
    settings.validate()
    events: queue.Queue = queue.Queue()
    finished = object()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with lm.lock:
                eos = eos_ids(lm.model, lm.tokenizer)
                names = _adapter_names(lm, requests)
                prompts = [build_prompt(lm.tokenizer, r.messages, settings.system) for r in requests]
                streamers = [_RowStreamer(lm.tokenizer, i, events) for i in range(len(requests))]
                mixed = mixed_batches_supported(lm)
                if mixed:
                    groups = [(None, list(range(len(requests))))]
                else:
                    per_model: dict[str, list[int]] = {}
                    for i, name in enumerate(names):
                        per_model.setdefault(name, []).append(i)
                    groups = [(requests[rows[0]].adapter, rows) for rows in per_model.values()]
                for adapter, rows in groups:
                    streamer = _batch_streamer([streamers[i] for i in rows], eos)
                    batch = [prompts[i] for i in rows]
                    if mixed:
                        _generate_rows(lm, batch, [names[i] for i in rows], settings, stop, streamer)
                    else:
                        with lm.using(adapter):
                            _generate_rows(lm, batch, None, settings, stop, streamer)
        except BaseException as err:  # handed to the reader below
            errors.append(err)
        finally:
            events.put(finished)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while True:
        event = events.get()
        if event is finished:
            break
        yield event
    thread.join()
    if errors:
        raise errors[0]
