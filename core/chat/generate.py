"""Generate replies: streamed token by token (for the page) or all at once (CLI, compare).

Streaming uses transformers' TextIteratorStreamer with ``generate`` in a thread; a
``threading.Event`` checked by a StoppingCriteria lets the Stop button end a reply early.
Greedy decoding when temperature is 0.

    settings = GenerationSettings(max_new_tokens=64, temperature=0)
    text = generate_reply(lm, [{"role": "user", "content": "Who are you?"}], settings)
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

from core.chat.templates import build_prompt
from core.errors import UserError
from core.models.loading import LoadedModel


@dataclass
class GenerationSettings:
    max_new_tokens: int = 256
    temperature: float = 0.7  # 0 -> greedy
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.1
    system: str = ""

    def validate(self) -> "GenerationSettings":
        if not 1 <= self.max_new_tokens <= 32768:
            raise UserError("err.chat.max_new_tokens", field="max_new_tokens")
        if not 0 <= self.temperature <= 5:
            raise UserError("err.chat.temperature", field="temperature")
        if not 0 < self.top_p <= 1:
            raise UserError("err.chat.top_p", field="top_p")
        if self.top_k < 0:
            raise UserError("err.chat.top_k", field="top_k")
        if not 0.5 <= self.repetition_penalty <= 3:
            raise UserError("err.chat.repetition_penalty", field="repetition_penalty")
        return self

    def generate_kwargs(self) -> dict:
        kwargs = {"max_new_tokens": self.max_new_tokens, "repetition_penalty": self.repetition_penalty}
        if self.temperature > 0:
            kwargs.update(do_sample=True, temperature=self.temperature, top_p=self.top_p, top_k=self.top_k)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        return kwargs

    def to_dict(self) -> dict:
        return asdict(self)


GREEDY = GenerationSettings(temperature=0.0, repetition_penalty=1.0)


def _inputs(lm: LoadedModel, messages: list[dict], system: str):
    prompt = build_prompt(lm.tokenizer, messages, system)
    encoded = lm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    return {k: v.to(lm.device) for k, v in encoded.items()}


def stop_criteria(stop: threading.Event | None):
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _OnEvent(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return bool(stop and stop.is_set())

    return StoppingCriteriaList([_OnEvent()])


def stream_reply(
    lm: LoadedModel,
    messages: list[dict],
    settings: GenerationSettings,
    adapter: Path | str | None = None,
    stop: threading.Event | None = None,
) -> Iterator[str]:
    """Yield the reply's text pieces as they are generated (adapter None = base model)."""
    from transformers import TextIteratorStreamer

    settings.validate()
    inputs = _inputs(lm, messages, settings.system)
    streamer = TextIteratorStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
    errors: list[BaseException] = []

    def run():
        import torch

        try:
            with lm.using(adapter) as model, torch.inference_mode():
                model.generate(**inputs, **settings.generate_kwargs(), streamer=streamer,
                               stopping_criteria=stop_criteria(stop),
                               pad_token_id=lm.tokenizer.pad_token_id)
        except BaseException as err:  # surfaced to the caller below
            errors.append(err)
            streamer.end()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for piece in streamer:
        if piece:
            yield piece
    thread.join()
    if errors:
        raise errors[0]


def generate_reply(
    lm: LoadedModel,
    messages: list[dict],
    settings: GenerationSettings = GREEDY,
    adapter: Path | str | None = None,
) -> str:
    """The whole reply at once (greedy by default)."""
    import torch

    settings.validate()
    inputs = _inputs(lm, messages, settings.system)
    with lm.using(adapter) as model, torch.inference_mode():
        out = model.generate(**inputs, **settings.generate_kwargs(), pad_token_id=lm.tokenizer.pad_token_id)
    new_tokens = out[0][inputs["input_ids"].shape[1]:]
    return lm.tokenizer.decode(new_tokens, skip_special_tokens=True)
