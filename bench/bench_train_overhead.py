"""Overhead of our callbacks and logging vs a bare SFTTrainer, on the same data and model.

"ours" = the worker's RunFolderCallback (metrics.jsonl, throttled status.json, STOP polling, tokens/s
and memory), CheckpointMarkerCallback and TensorBoard event files; "bare" = SFTTrainer with
report_to=[] and no callbacks. Both: demo-tiny-sized model, 16-bit LoRA, logging every 5 steps,
no checkpoints, no probes (probe answers are a feature the user asks for, not overhead).
Runs alternate bare/ours ``--rounds`` times; the best time of each counts. Because an A/B
wall-clock difference of a few percent drowns in noise on a shared machine, the time spent
inside our callbacks and the TensorBoard writer is also measured directly (``callback_pct`` =
that time / the training time of the same run).

    python bench/bench_train_overhead.py [--steps 120] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import time

from bench_train_common import OUT, assistant_rows, build_model, tokenized, workspace


CALLBACK_SECONDS = [0.0]


def timed(callback):
    """Wrap every event method of a callback to add its wall time to CALLBACK_SECONDS."""
    for name in ("on_log", "on_step_end", "on_save", "on_train_begin", "on_train_end", "on_step_begin",
                 "on_evaluate", "on_epoch_end", "on_substep_end", "on_pre_optimizer_step", "on_optimizer_step"):
        method = getattr(callback, name, None)
        if method is None:
            continue

        def wrapper(*a, _m=method, **k):
            start = time.perf_counter()
            try:
                return _m(*a, **k)
            finally:
                CALLBACK_SECONDS[0] += time.perf_counter() - start

        setattr(callback, name, wrapper)
    return callback


def run_once(model_path, tokenizer, dataset, ours: bool, steps: int, folder) -> float:
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.integrations import TensorBoardCallback
    from trl import SFTTrainer

    from core.train import runs
    from core.train.callbacks import CheckpointMarkerCallback, RunFolderCallback
    from core.train.config import TrainConfig
    from core.train.worker import lora_config, sft_config

    folder.mkdir(parents=True, exist_ok=True)
    cfg = TrainConfig(quantization="none", lora_r=16, max_length=256, batch_size=4, grad_accum=1, max_steps=steps,
                      logging_steps=5, save_steps=100_000, gradient_checkpointing=False)
    args = sft_config(cfg, folder, False, report_to=["tensorboard"] if ours else [])
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    callbacks = []
    if ours:
        status = runs.RunStatus(run_id=folder.name, status="running")
        runs.write_status(status)
        callbacks = [timed(RunFolderCallback(folder, status)), timed(CheckpointMarkerCallback(folder))]
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=lora_config(cfg), callbacks=callbacks)
    if ours:
        tb = trainer.pop_callback(TensorBoardCallback)
        trainer.add_callback(timed(tb))
    CALLBACK_SECONDS[0] = 0.0
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from core import workspace as ws
    from core.models.checks import load_tokenizer

    home = workspace("overhead")
    path = build_model(home, "demo-tiny")
    tokenizer = load_tokenizer(path)
    dataset = tokenized(tokenizer, assistant_rows(2000))
    times = {"bare": [], "ours": []}
    shares = []
    for i in range(args.rounds):
        for kind in ("bare", "ours"):
            seconds = run_once(path, tokenizer, dataset, kind == "ours", args.steps, ws.runs_dir() / f"{kind}-{i}")
            times[kind].append(seconds)
            if kind == "ours":
                shares.append(100 * CALLBACK_SECONDS[0] / seconds)
    bare, ours = min(times["bare"]), min(times["ours"])
    result = {"steps": args.steps, "bare_s": round(bare, 2), "ours_s": round(ours, 2),
              "overhead_pct": round(100 * (ours / bare - 1), 2),
              "callback_pct": [round(x, 2) for x in shares], "load_avg": __import__("os").getloadavg(),
              "all": {k: [round(t, 2) for t in v] for k, v in times.items()}}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "train_overhead.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
