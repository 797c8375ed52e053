"""GPU speed-ups a run uses when it can: Liger kernels and flash-attention, with a note when missing.

On CUDA with ``TrainConfig.gpu_kernels`` (on by default), the trainer gets ``use_liger_kernel``
(fused linear cross-entropy, RMSNorm, RoPE, SwiGLU) when the ``liger-kernel`` package is
installed (``requirements-gpu.txt``), and packed rows use flash-attention when ``flash-attn`` is
installed (core/train/packing.py picks it; the packing isolation self-check still runs). On a
CPU neither applies. Whatever is missing falls back to the standard path and says so in the log.

    plan = speed_plan(config, on_gpu=True)
    plan.trainer_arguments()   # {"use_liger_kernel": True} or {}
    plan.notes                 # ["Liger kernels: not installed (pip install -r requirements-gpu.txt); ..."]
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field


@dataclass
class SpeedPlan:
    liger: bool = False
    flash_attention: bool = False
    notes: list[str] = field(default_factory=list)

    def trainer_arguments(self) -> dict:
        return {"use_liger_kernel": True} if self.liger else {}


def speed_plan(config, on_gpu: bool) -> SpeedPlan:
    """What this run will use, and a line for the log about anything it falls back from."""
    plan = SpeedPlan()
    if not on_gpu or not config.gpu_kernels:
        return plan
    if importlib.util.find_spec("liger_kernel") is not None:
        plan.liger = True
        plan.notes.append("Liger kernels: on (fused linear cross-entropy, RMSNorm, RoPE, SwiGLU)")
    else:
        plan.notes.append("Liger kernels: not installed, using the standard kernels "
                          "(pip install -r requirements-gpu.txt to speed up and save memory)")
    if config.packing:
        plan.flash_attention = importlib.util.find_spec("flash_attn") is not None
        plan.notes.append("packed rows: flash-attention" if plan.flash_attention else
                          "packed rows: flash-attention not installed, using SDPA (samples are still isolated)")
    return plan
