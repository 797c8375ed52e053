"""Trainer callbacks that write the run folder: metrics, status, probe answers, stop requests.

They are the only way the worker talks to the UI: append-only JSON lines and an atomically
replaced status.json (see core/train/runs.py for the file contract).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from transformers import TrainerCallback

from core.train import runs

METRIC_KEYS = {"loss": "loss", "learning_rate": "lr", "grad_norm": "grad_norm", "eval_loss": "eval_loss"}


def _append_jsonl(path: Path, row: dict) -> None:
    # One write() per line with O_APPEND: a reader sees whole lines (or skips a torn last one).
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def memory_in_use_bytes() -> int:
    """Peak GPU memory allocated, or this process's resident memory on CPU."""
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    import psutil

    return int(psutil.Process().memory_info().rss)


class RunFolderCallback(TrainerCallback):
    """metrics.jsonl + status.json step/total, and the STOP file as a graceful stop request."""

    def __init__(self, folder: Path, status: runs.RunStatus):
        self.folder = Path(folder)
        self.status = status
        self._last_tokens: float | None = None
        self._last_time: float | None = None
        self.stop_requested = False

    def on_train_begin(self, args, state, control, **kwargs):
        self.status.total_steps = int(state.max_steps)
        self.status.step = int(state.global_step)
        runs.write_status(self.status)
        self._last_time = time.time()

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        row: dict = {"step": int(state.global_step), "epoch": round(float(state.epoch or 0), 4),
                     "time": time.time()}
        for key, name in METRIC_KEYS.items():
            if key in logs:
                row[name] = float(logs[key])
        if "num_tokens" in logs:
            now, tokens = time.time(), float(logs["num_tokens"])
            if self._last_tokens is not None and now > (self._last_time or now):
                row["tokens_per_s"] = (tokens - self._last_tokens) / (now - self._last_time)
            self._last_tokens, self._last_time = tokens, now
            row["num_tokens"] = tokens
        if len(row) <= 3:  # train_runtime summaries etc. carry none of ours
            return
        row["gpu_mem"] = memory_in_use_bytes()
        _append_jsonl(self.folder / runs.METRICS_FILE, row)
        print(json.dumps({"log": row}), flush=True)

    def on_step_end(self, args, state, control, **kwargs):
        self.status.step = int(state.global_step)
        self.status.epoch = float(state.epoch or 0)
        if self.stop_requested or (self.folder / runs.STOP_FILE).exists():
            self.stop_requested = True
            self.status.status = "stopping"
            control.should_training_stop = True
            control.should_save = True
        runs.write_status(self.status)
        return control


class ProbeCallback(TrainerCallback):
    """Answer the user's probe prompts greedily every ``every`` steps -> samples.jsonl."""

    def __init__(self, folder: Path, tokenizer, prompts: list[str], every: int, max_new_tokens: int = 64):
        self.folder, self.tokenizer, self.prompts = Path(folder), tokenizer, prompts
        self.every, self.max_new_tokens = max(1, every), max_new_tokens

    def _answer_all(self, model, step: int) -> None:
        import torch

        from core.chat.templates import build_prompt

        was_training = model.training
        model.eval()
        try:
            for prompt in self.prompts:
                text = build_prompt(self.tokenizer, [{"role": "user", "content": prompt}])
                inputs = self.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model.device)
                with torch.inference_mode():
                    out = model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                         pad_token_id=self.tokenizer.pad_token_id, use_cache=True)
                answer = self.tokenizer.decode(out[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
                _append_jsonl(self.folder / runs.SAMPLES_FILE,
                              {"step": step, "prompt": prompt, "answer": answer, "time": time.time()})
        finally:
            if was_training:
                model.train()

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.prompts and model is not None and state.global_step % self.every == 0:
            self._answer_all(model, int(state.global_step))

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self.prompts and model is not None and state.global_step % self.every != 0:
            self._answer_all(model, int(state.global_step))
