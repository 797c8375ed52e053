"""Effective (non-padding) training tokens/s on the repeat-N set: packed vs padded to max_length.

Both in one run, on a ~106M-parameter Llama built from config (16-bit LoRA r=16 on all linear
layers, fp32 on CPU, max_length 512, one row per step): padded = one ~50-token sample padded to
512; packed = TRL best-fit-decreasing padding-free rows (samples isolated, see
core/train/packing.py). Prints one JSON line and writes bench/out/train_packing.json.

    python bench/bench_train_packing.py [--steps 4] [--max-length 512]
"""
from __future__ import annotations

import argparse
import json

from bench_train_common import BIG, OUT, StepTimer, assistant_rows, build_model, rate, tokenized, workspace


def measure(model_path, tokenizer, dataset, packing: bool, max_length: int, steps: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM
    from trl import SFTTrainer

    from core.train.config import TrainConfig
    from core.train.worker import lora_config, sft_config

    cfg = TrainConfig(quantization="none", lora_r=16, lora_alpha=32, lora_dropout=0.0, max_length=max_length,
                      packing=packing, batch_size=1, grad_accum=1, max_steps=steps + 1, logging_steps=1,
                      save_steps=10_000, gradient_checkpointing=False, warmup_ratio=0.0)
    args = sft_config(cfg, OUT / "tmp-packing", False, report_to=[])
    if not packing:
        args.pad_to_multiple_of = max_length  # every row padded to max_length
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32, attn_implementation="sdpa")
    timer = StepTimer()
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=lora_config(cfg), callbacks=[timer])
    batch = next(iter(trainer.get_train_dataloader()))
    row_tokens = int(batch["input_ids"].numel())
    trainer.train()
    tokens_per_s, s_per_step = rate(timer.points, skip=1)  # the first step is warm-up
    return {"packing": packing, "tokens_per_s": round(tokens_per_s, 1), "seconds_per_step": round(s_per_step, 2),
            "row_tokens": row_tokens, "effective_tokens_per_row": round(tokens_per_s * s_per_step, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args()
    import torch

    from core.models.checks import load_tokenizer

    home = workspace("packing")
    path = build_model(home, "bench-106m", **BIG)
    tokenizer = load_tokenizer(path)
    dataset = tokenized(tokenizer, assistant_rows(400))
    from transformers import AutoConfig

    n_params = sum(p.numel() for p in __import__("transformers").AutoModelForCausalLM.from_config(
        AutoConfig.from_pretrained(path)).parameters())
    lengths = [len(r["input_ids"]) for r in dataset]
    padded = measure(path, tokenizer, dataset, False, args.max_length, args.steps)
    packed = measure(path, tokenizer, dataset, True, args.max_length, args.steps)
    result = {"model_params": n_params, "threads": torch.get_num_threads(), "max_length": args.max_length,
              "mean_sample_tokens": round(sum(lengths) / len(lengths), 1), "padded": padded, "packed": packed,
              "speedup": round(packed["tokens_per_s"] / padded["tokens_per_s"], 2)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "train_packing.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
