"""Random LoRA adapters on demo-tiny, built once per session, for tests that need models that
answer differently from the base without a training run (B initialised non-zero).

``random_adapters(tmp_path_factory, tiny_model_path)`` returns three adapter folders.
"""
from __future__ import annotations

from pathlib import Path

_CACHE: dict[str, list[Path]] = {}


def random_adapters(tmp_path_factory, model_path: Path, count: int = 3) -> list[Path]:
    key = f"{model_path}:{count}"
    if key in _CACHE:
        return _CACHE[key]
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("adapters")
    folders = []
    for seed in range(count):
        torch.manual_seed(100 + seed)
        base = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=torch.float32)
        config = LoraConfig(r=8, lora_alpha=32, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
                            init_lora_weights=False, task_type="CAUSAL_LM")
        model = get_peft_model(base, config)
        folder = root / f"random-{seed}"
        model.save_pretrained(str(folder))
        folders.append(folder)
    _CACHE[key] = folders
    return folders
