"""Explain why a training worker failed: disk full, out of memory, CUDA, data, killed — with what to try.

Used by the worker on an exception, and by readers (core.train.runs.read_status, via core.jobs.reconcile) when a live
run's process is gone, from the exception text or the log tail and the exit code if known.

    explain("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ...")
    -> ("out of memory", "Lower batch size or max_length, ...")
"""
from __future__ import annotations

import signal

from core.jobs import DISK_FULL_NEEDLES

OOM_HINT = ("Lower batch size or max_length, turn on gradient checkpointing, or use 4-bit quantization; "
            "the memory estimate on the Train page shows what fits.")
KILLED_HINT = ("The process was killed (SIGKILL), often by the out-of-memory killer: lower batch size or "
               "max_length, then resume from the last checkpoint.")

# Checked in order; the first rule with a matching needle wins.
_RULES = [
    (DISK_FULL_NEEDLES, "disk full",
     "Free space on the workspace's disk (old checkpoints, exports), or lower save_total_limit; then resume "
     "from the last checkpoint."),
    (("CUDA out of memory", "OutOfMemoryError", "DefaultCPUAllocator: can't allocate", "Cannot allocate memory",
      "std::bad_alloc", "MemoryError"),
     "out of memory", OOM_HINT),
    (("CUDA error", "cuDNN", "NCCL", "device-side assert", "no CUDA GPUs are available", "CUDA driver",
      "invalid device ordinal"),
     "CUDA error",
     "Check `nvidia-smi`, the driver and the GPU selection; a device-side assert often means a token id "
     "beyond the vocabulary."),
    (("Signal 9 (SIGKILL)", "exitcode  : -9", "SIGKILL", "\nKilled"),
     "killed (SIGKILL)", KILLED_HINT),
    (("KeyError: 'messages'", "JSONDecodeError", "Dataset '", "chat_template", "empty after loading",
      "assistant_masks", "no assistant turns", "index out of range in self"),
     "data problem",
     "Open the dataset on the Datasets page and re-import it; check it has user/assistant turns and that it "
     "was made for this model's tokenizer."),
    # Not every failure whose log mentions DeepSpeed: a DeepSpeed run's log always does.
    (("No module named 'deepspeed'",),
     "DeepSpeed missing",
     "Reinstall the workbench's requirements (`pip install -r requirements.txt` includes deepspeed) or turn "
     "DeepSpeed off."),
    (("Error building extension", "Ninja is required", "ninja: build stopped", "op_builder"),
     "DeepSpeed could not compile an op",
     "DeepSpeed compiles its ops on first use: it needs ninja, a C++ compiler (g++) and, for CUDA ops, nvcc "
     "matching torch's CUDA. Install them, or turn DeepSpeed off."),
]


def explain(text: str, returncode: int | None = None) -> tuple[str, str]:
    """(short reason, what to try) for an exception message or log tail, and an exit code if known."""
    text = text or ""
    if returncode is not None and returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            return f"killed ({name})", KILLED_HINT
        return f"terminated by {name}", "Start the run again, or resume from its last checkpoint."
    for needles, reason, hint in _RULES:
        if any(n in text for n in needles):
            return reason, hint
    return "training error", "Read the log tail below; fix the cause and resume from the last checkpoint."
