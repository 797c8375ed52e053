"""Explain why a training worker failed: disk full, out of memory, CUDA, data, killed — with what to try.

Used by the worker on an exception, and by readers (core.train.runs.read_status, via core.jobs.reconcile) when a live
run's process is gone, from the exception text or the log tail and the exit code if known.
``status.json`` keeps the English text (the CLI prints it); ``localize`` says a stored reason or
hint in the page's language (the texts live in core/i18n/failures.py).

    explain("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ...")
    -> ("out of memory", "Lower batch size or max_length, ...")
"""
from __future__ import annotations

import signal
from functools import lru_cache

from core.i18n import Msg
from core.jobs import DISK_FULL_NEEDLES

# Checked in order; the first rule with a matching needle wins. Each code has the texts
# fail.<code> (the short reason) and fail.<code>.hint (what to try).
_RULES = [
    (DISK_FULL_NEEDLES, "disk_full"),
    # A multi-node run whose other machines never joined (the master's TCPStore), or whose master
    # never answered (the other machines): torchrun's static rendezvous timed out.
    (("waiting for clients", "clients joined", "client socket has timed out",
      "socket has timed out while trying to connect"), "nodes_never_joined"),
    (("CUDA out of memory", "OutOfMemoryError", "DefaultCPUAllocator: can't allocate", "Cannot allocate memory",
      "std::bad_alloc", "MemoryError"), "oom"),
    (("CUDA error", "cuDNN", "NCCL", "device-side assert", "no CUDA GPUs are available", "CUDA driver",
      "invalid device ordinal"), "cuda"),
    (("Signal 9 (SIGKILL)", "exitcode  : -9", "SIGKILL", "\nKilled"), "killed"),
    (("KeyError: 'messages'", "JSONDecodeError", "Dataset '", "chat_template", "empty after loading",
      "assistant_masks", "no assistant turns", "index out of range in self"), "data"),
    # Not every failure whose log mentions DeepSpeed: a DeepSpeed run's log always does.
    (("No module named 'deepspeed'",), "deepspeed_missing"),
    (("Error building extension", "Ninja is required", "ninja: build stopped", "op_builder"), "deepspeed_build"),
]
# Every code a stored reason or hint can come from (localize() looks them up by their English text).
CODES = tuple(code for _, code in _RULES) + ("error", "vanished")


def explain_msgs(text: str, returncode: int | None = None) -> tuple[Msg, Msg]:
    """(short reason, what to try) as texts to render in any language."""
    text = text or ""
    if returncode is not None and returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            return Msg("fail.killed"), Msg("fail.killed.hint")
        return Msg("fail.terminated", signal=name), Msg("fail.terminated.hint")
    for needles, code in _RULES:
        if any(n in text for n in needles):
            return Msg(f"fail.{code}"), Msg(f"fail.{code}.hint")
    return Msg("fail.error"), Msg("fail.error.hint")


def explain(text: str, returncode: int | None = None) -> tuple[str, str]:
    """(short reason, what to try) in English for an exception message or log tail, and an exit code if known."""
    reason, hint = explain_msgs(text, returncode)
    return str(reason), str(hint)


@lru_cache(maxsize=1)
def _known_texts() -> tuple[tuple[str, Msg], ...]:
    """(English, Msg) of every reason and hint explain() and core.jobs.explain_exit() can store,
    longest first."""
    texts = [Msg(f"fail.{code}{part}") for code in CODES for part in ("", ".hint")]
    texts += [Msg("fail.terminated", signal=s.name) for s in signal.Signals] + [Msg("fail.terminated.hint")]
    texts += [Msg(f"fail.job.{what}") for what in ("disk_full.hint", "killed.hint", "terminated.hint",
                                                    "exited.hint", "vanished.hint", "no_report")]
    texts += [Msg("fail.job.exited", code=code) for code in range(1, 256)]
    texts.append(Msg("fail.no_report"))
    return tuple(sorted(((str(m), m) for m in texts), key=lambda pair: -len(pair[0])))


def localize(text: str | None, lang: str) -> str:
    """A reason or hint stored in English in status.json, said in ``lang``.

    A whole known text is translated; an error that starts with a known reason gets that reason
    translated and keeps the rest (the exception text stays as the library wrote it).

        >>> localize("out of memory: CUDA out of memory.", "zh")   # doctest: +SKIP
        '内存不足：CUDA out of memory.'
    """
    if not text or lang == "en":
        return text or ""
    known = _known_texts()
    for english, msg in known:
        if text == english:
            return msg.render(lang)
    for english, msg in known:
        if text.startswith(english) and text[len(english):len(english) + 1] in (":", " "):
            rest = text[len(english):]
            for tail_english, tail in known:
                if rest == f": {tail_english}":
                    return f"{msg.render(lang)}：{tail.render(lang)}"
            return msg.render(lang) + rest
    return text
