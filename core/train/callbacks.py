"""Trainer callbacks that write the run folder: metrics, status, probe answers, stop requests.

They are the only way the worker talks to the UI: append-only JSON lines and an atomically
replaced status.json (see core/train/runs.py for the file contract). Under DDP only rank 0
writes; a stop request is agreed by all ranks (all-reduce) so they leave the loop together.
Status writes are throttled (at most one a second, plus every state change) to keep the
overhead of watching a run negligible next to the training itself.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from transformers import TrainerCallback

from core.train import runs

METRIC_KEYS = {"loss": "loss", "learning_rate": "lr", "grad_norm": "grad_norm", "eval_loss": "eval_loss",
               # DPO / ORPO / KTO (core/train/stages): implicit rewards of the chosen and rejected replies
               "rewards/chosen": "rewards_chosen", "rewards/rejected": "rewards_rejected",
               "rewards/margins": "rewards_margins", "rewards/accuracies": "rewards_accuracy"}
STATUS_EVERY_SECONDS = 1.0


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


def _distributed() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _any_rank(flag: bool) -> bool:
    """True on every rank if ``flag`` is True on any rank (no-op on one process)."""
    if not _distributed():
        return flag
    import torch
    import torch.distributed as dist

    value = torch.tensor([1 if flag else 0], dtype=torch.int32)
    if dist.get_backend() == "nccl":
        value = value.cuda()
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


class RunFolderCallback(TrainerCallback):
    """metrics.jsonl + status.json step/total, and the STOP file as a graceful stop request.

    Put it before TensorBoardCallback: ``on_log`` adds tokens/s and memory to the logs dict,
    so TensorBoard records them too.
    """

    def __init__(self, folder: Path, status: runs.RunStatus, is_main: bool = True):
        self.folder = Path(folder)
        self.status = status
        self.is_main = is_main
        self._last_tokens: float | None = None
        self._last_time: float | None = None
        self._last_status_write = 0.0
        self._parent_pid = os.getppid()
        self.stop_requested = False

    def _write_status(self, force: bool = False) -> None:
        now = time.time()
        if self.is_main and (force or now - self._last_status_write >= STATUS_EVERY_SECONDS):
            runs.write_status(self.status)
            self._last_status_write = now

    def on_train_begin(self, args, state, control, **kwargs):
        self.status.total_steps = int(state.max_steps)
        self.status.step = self.status.start_step = int(state.global_step)
        self.status.train_started = time.time()
        self._write_status(force=True)
        self._last_time = time.time()

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs if logs is not None else {}
        row: dict = {"step": int(state.global_step), "epoch": round(float(state.epoch or 0), 4),
                     "time": time.time()}
        for key, name in METRIC_KEYS.items():
            if key in logs:
                row[name] = float(logs[key])
        if "num_tokens" in logs:
            now, tokens = time.time(), float(logs["num_tokens"])
            if self._last_tokens is not None and now > (self._last_time or now) and tokens >= self._last_tokens:
                row["tokens_per_s"] = (tokens - self._last_tokens) / (now - self._last_time)
            self._last_tokens, self._last_time = tokens, now
            row["num_tokens"] = tokens
        if len(row) <= 3:  # train_runtime summaries etc. carry none of ours
            return
        row["gpu_mem"] = memory_in_use_bytes()
        # Into the logs dict as well, so the TensorBoard callback (run after this one) writes them.
        if "tokens_per_s" in row:
            logs["tokens_per_s"] = row["tokens_per_s"]
        if "loss" in row:
            logs["memory_gb"] = row["gpu_mem"] / 2**30
        if self.is_main:
            _append_jsonl(self.folder / runs.METRICS_FILE, row)
            print(json.dumps({"log": row}), flush=True)

    def on_step_end(self, args, state, control, **kwargs):
        self.status.step = int(state.global_step)
        self.status.epoch = float(state.epoch or 0)
        self.status.last_step_at = time.time()  # the watchdog's "still making progress"
        if _distributed() and os.getppid() != self._parent_pid:
            # torchrun (our parent) is gone: the run is already reported failed; do not train on orphaned.
            print("torchrun is gone; this rank exits", flush=True)
            os._exit(1)
        requested = self.stop_requested or (self.folder / runs.STOP_FILE).exists()
        if _any_rank(requested):
            self.stop_requested = True
            self.status.status = "stopping"
            control.should_training_stop = True
            control.should_save = True
            self._write_status(force=True)
        else:
            self._write_status()
        return control

    def on_train_end(self, args, state, control, **kwargs):
        self.status.step = int(state.global_step)
        self._write_status(force=True)


class CheckpointMarkerCallback(TrainerCallback):
    """After the trainer has fully written checkpoint-N (weights, optimizer, RNG of every rank,
    trainer state), write its COMPLETE marker: only then is it listed or offered for resume.
    Then rotate: keep the newest ``keep`` checkpoints, each deleted marker first (the trainer's own
    rotation is off, since it deletes files in any order)."""

    def __init__(self, folder: Path, is_main: bool = True, keep: int | None = None):
        self.folder, self.is_main, self.keep = Path(folder), is_main, keep

    def on_save(self, args, state, control, **kwargs):
        if _distributed():
            import torch.distributed as dist

            dist.barrier()
        path = self.folder / f"checkpoint-{state.global_step}"
        if self.is_main and path.is_dir():
            runs.mark_checkpoint_complete(path)
            if self.keep:
                runs.rotate_checkpoints(self.folder, self.keep)


class ProbeCallback(TrainerCallback):
    """Answer the user's probe prompts greedily every ``every`` steps -> samples.jsonl.

    Usually only rank 0 has one. Under DeepSpeed ZeRO-3 each rank holds a shard of the weights, so
    every rank must run the same forward passes (``synced=True``; a rank generating alone would
    wait forever for the others' shards); only the main one writes.
    """

    def __init__(self, folder: Path, tokenizer, prompts: list[str], every: int, max_new_tokens: int = 64,
                 is_main: bool = True, synced: bool = False):
        self.folder, self.tokenizer, self.prompts = Path(folder), tokenizer, prompts
        self.every, self.max_new_tokens = max(1, every), max_new_tokens
        self.is_main, self.synced = is_main, synced
        self._done_steps: set[int] = set()

    def _answer_all(self, model, step: int) -> None:
        """Every probe prompt answered in one left-padded batch (core.chat.batch), not one by one."""
        from core.chat.batch import answer_text, eos_ids, generate_tokens
        from core.chat.templates import build_prompt

        if step in self._done_steps:
            return
        self._done_steps.add(step)
        was_training = model.training
        model.eval()
        try:
            texts = [build_prompt(self.tokenizer, [{"role": "user", "content": p}]) for p in self.prompts]
            rows = generate_tokens(model, self.tokenizer, texts, max_new_tokens=self.max_new_tokens, do_sample=False,
                                   use_cache=True, synced_gpus=self.synced)
            if self.is_main:
                eos = eos_ids(model, self.tokenizer)
                for prompt, tokens in zip(self.prompts, rows):
                    _append_jsonl(self.folder / runs.SAMPLES_FILE,
                                  {"step": step, "prompt": prompt, "answer": answer_text(self.tokenizer, tokens, eos),
                                   "time": time.time()})
        finally:
            if was_training:
                model.train()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        # The answers before any (further) training: the baseline the later answers are read against.
        if self.prompts and model is not None and state.global_step == 0:
            self._answer_all(model, 0)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if self.prompts and model is not None and state.global_step % self.every == 0:
            self._answer_all(model, int(state.global_step))

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self.prompts and model is not None:
            self._answer_all(model, int(state.global_step))
