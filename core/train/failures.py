"""Explain why a training worker failed: out of memory, CUDA, data, killed — with what to try.

Used by the worker on an exception and by readers on a dead process, from the exception text
and the log tail.
"""
from __future__ import annotations

import signal

_RULES = [
    (("CUDA out of memory", "OutOfMemoryError", "DefaultCPUAllocator: can't allocate", "Cannot allocate memory"),
     "out of memory",
     "Lower batch size or max_length, turn on gradient checkpointing, or use 4-bit quantization."),
    (("CUDA error", "cuDNN", "NCCL", "device-side assert"),
     "CUDA error",
     "Check `nvidia-smi`, the driver and the GPU selection; a device-side assert often means a token id beyond the vocabulary."),
    (("KeyError: 'messages'", "JSONDecodeError", "Dataset '", "chat_template", "empty after loading",
      "assistant_masks"),
     "data problem",
     "Open the dataset on the Datasets page and re-import it; check it has user/assistant turns."),
]


def explain(text: str, returncode: int | None = None) -> tuple[str, str]:
    """(short reason, what to try) for an exception message or log tail."""
    if returncode is not None and returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            return (f"killed ({name})",
                    "The process was killed, often by the out-of-memory killer: lower batch size or max_length.")
        return (f"terminated by {name}", "Start the run again, or resume from its last checkpoint.")
    for needles, reason, hint in _RULES:
        if any(n in text for n in needles):
            return reason, hint
    return "training error", "Read the log tail below; fix the cause and resume from the last checkpoint."
