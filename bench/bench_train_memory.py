"""Memory estimate (core/train/memory.py) vs the measured peak of real training steps on CPU.

Each case runs in a fresh process: import everything, tokenize, then reset the kernel's peak-RSS
counter (``/proc/self/clear_refs``), load the model, build the trainer and train a few steps;
measured = peak RSS (VmHWM) − RSS before loading. Rows are padded to max_length so the batch is
exactly batch × max_length, what the estimate is for. The estimate is taken for device "cpu"
(fp32 compute, no CUDA context). Prints one JSON line; writes bench/out/train_memory.json.

By default the child runs with MALLOC_MMAP_THRESHOLD_=65536: glibc then serves every tensor from
its own mmap and returns it to the kernel when freed, so RSS follows the live bytes the way
torch.cuda.max_memory_allocated does on a GPU. With --glibc-default, freed memory stays in the
heap and the peak RSS overstates what was live at once (the first published figures).

    python bench/bench_train_memory.py [--glibc-default] [--only NAME]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench_train_common import OUT, ROOT, build_model, workspace

MID = dict(hidden_size=512, intermediate_size=1536, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=4)
CASES = [
    # almost no activations: what a training process holds besides tensors (the fixed CPU cost)
    ("demo-tiny", {}, dict(quantization="none", batch_size=1, max_length=128, gradient_checkpointing=False)),
    ("demo-tiny", {}, dict(quantization="4bit", batch_size=4, max_length=256, gradient_checkpointing=False)),  # cpu-demo
    ("demo-tiny", {}, dict(quantization="none", batch_size=4, max_length=256, gradient_checkpointing=False)),
    ("mid-30m", MID, dict(quantization="none", batch_size=4, max_length=512, gradient_checkpointing=False)),
    ("mid-30m", MID, dict(quantization="none", batch_size=4, max_length=512, gradient_checkpointing=True)),
    ("mid-30m", MID, dict(quantization="4bit", batch_size=4, max_length=512, gradient_checkpointing=False)),
]

CHILD = r'''
import json, os, sys
sys.path.insert(0, sys.argv[1])
import torch, transformers, trl, peft
from transformers import AutoModelForCausalLM
from trl import SFTTrainer
from core.models.checks import load_tokenizer
from core.models.loading import quantization_config
from core.train.config import TrainConfig
from core.train.worker import lora_config, sft_config
sys.path.insert(0, os.path.join(sys.argv[1], "bench"))
from bench_train_common import assistant_rows, tokenized

path, settings = sys.argv[2], json.loads(sys.argv[3])
cfg = TrainConfig(lora_r=64, lora_alpha=16, lora_dropout=0.05, grad_accum=1, max_steps=3, logging_steps=1,
                  save_steps=10_000, **settings)
tok = load_tokenizer(path)
data = tokenized(tok, assistant_rows(64))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
base = status("VmRSS:")
kwargs = {"dtype": torch.float32}
q = quantization_config(cfg.quantization)
if q is not None:
    kwargs["quantization_config"] = q
model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
args = sft_config(cfg, __import__("pathlib").Path(sys.argv[4]), False, report_to=[])
args.pad_to_multiple_of = cfg.max_length
trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok, peft_config=lora_config(cfg))
trainer.train()
print("RESULT " + json.dumps({"measured": status("VmHWM:") - base}))
'''


def main() -> None:
    from core.train.config import TrainConfig
    from core.train.memory import estimate, model_shape

    parser = argparse.ArgumentParser()
    parser.add_argument("--glibc-default", action="store_true", help="measure with glibc's default malloc settings")
    parser.add_argument("--only", help="run only the cases of this model name")
    args = parser.parse_args()
    env = dict(os.environ)
    if not args.glibc_default:
        env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    home = workspace("memory")
    results = []
    for name, shape, settings in CASES:
        if args.only and name != args.only:
            continue
        path = build_model(home, name, **shape)
        out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(path), json.dumps(settings),
                              str(home / "runs" / "mem")], capture_output=True, text=True, timeout=900, env=env)
        line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(out.stderr[-3000:])
        measured = json.loads(line[7:])["measured"]
        cfg = TrainConfig(lora_r=64, lora_alpha=16, lora_dropout=0.05, grad_accum=1, **settings)
        est = estimate(model_shape(path), cfg, "cpu")
        results.append({"model": name, "params_m": round(est.params / 1e6, 1), **settings,
                        "malloc": "glibc default" if args.glibc_default else "mmap >= 64 KiB",
                        "estimate_mb": round(est.total_bytes / 2**20, 1), "measured_mb": round(measured / 2**20, 1),
                        "error_pct": round(100 * (est.total_bytes - measured) / measured, 1)})
        print(json.dumps(results[-1]), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "train_memory.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
