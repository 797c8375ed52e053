"""Peak memory of side-by-side chat (base + fine-tuned) vs one model alone.

Builds a ~0.5B-parameter Llama from config (random weights, so weights dominate memory), makes
a LoRA adapter for it (r=64, all linear layers), then in separate fresh processes measures peak
RSS of:
  alone        - load the base, answer one prompt
  side-by-side - load the base once, attach the adapter, answer with adapter disabled (base) and
                 enabled (fine-tuned): what the Chat page does
  two-copies   - the naive way: a second full model for the fine-tuned pane (for reference)
Target: side-by-side <= 1.15 x alone.

    python bench/bench_side_by_side_memory.py [--hidden 1024 --layers 28 --intermediate 4096]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere: python bench/<script>.py

PROBE = r"""
import json, resource, sys
from core.chat.generate import GREEDY, GenerationSettings, generate_reply
from core.models.loading import load_base
mode, model, adapter = sys.argv[1], sys.argv[2], sys.argv[3]
settings = GenerationSettings(max_new_tokens=16, temperature=0, repetition_penalty=1.0)
msgs = [{"role": "user", "content": "Who are you?"}]
lm = load_base(model)
generate_reply(lm, msgs, settings)
if mode == "side-by-side":
    generate_reply(lm, msgs, settings, adapter=adapter)
    generate_reply(lm, msgs, settings, adapter=None)
elif mode == "two-copies":
    other = load_base(model)
    other.attach(adapter)
    generate_reply(other, msgs, settings, adapter=adapter)
print(json.dumps({"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def build(folder: Path, hidden: int, layers: int, intermediate: int) -> tuple[Path, Path, int]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from core.models.demo import build_demo_model

    model_path = build_demo_model(folder / "base", hidden_size=hidden, num_hidden_layers=layers,
                                  intermediate_size=intermediate, num_attention_heads=16, num_key_value_heads=16)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    params = sum(p.numel() for p in model.parameters())
    peft_model = get_peft_model(model, LoraConfig(r=64, lora_alpha=16, target_modules="all-linear",
                                                  task_type="CAUSAL_LM"))
    adapter = folder / "adapter"
    peft_model.save_pretrained(adapter)
    del model, peft_model
    return model_path, adapter, params


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=28)
    parser.add_argument("--intermediate", type=int, default=4096)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    model_path, adapter, params = build(folder, args.hidden, args.layers, args.intermediate)
    print(f"model: {params/1e6:.0f}M parameters (fp32 on CPU) at {model_path}")
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_HOME=str(folder / "ws"))
    peaks = {}
    for mode in ("alone", "side-by-side", "two-copies"):
        out = subprocess.run([sys.executable, "-c", PROBE, mode, str(model_path), str(adapter)], env=env,
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        peaks[mode] = json.loads(out.strip().splitlines()[-1])["peak_rss_bytes"]
        print(f"{mode:13s} peak RSS {peaks[mode]/2**30:6.2f} GiB  ({peaks[mode]/peaks['alone']:.3f} x alone)")
    ratio = peaks["side-by-side"] / peaks["alone"]
    print(f"side-by-side / alone = {ratio:.3f} (target <= 1.15)")


if __name__ == "__main__":
    main()
