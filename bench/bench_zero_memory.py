"""Per-process peak memory of a two-process run: plain DDP vs DeepSpeed ZeRO-2 vs ZeRO-3.

Each mode is a real run started like the Train page starts one (launcher -> worker -> torchrun,
two ranks over gloo on CPU) on a ~106M-parameter Llama built from config, 16-bit LoRA r=16
all-linear, fp32, batch 1 x 128, 4 steps. Every rank's VmHWM is read from /proc while it runs
(peak RSS is monotone, so the last reading is the peak); glibc gives every tensor >= 64 KiB its
own mmap (MALLOC_MMAP_THRESHOLD_) so RSS follows live memory. The same process also holds torch
and the libraries, so the figure to read is the difference between modes, set against what the
memory estimate (core/train/memory.py, per GPU) says that difference is.

    python bench/bench_zero_memory.py
"""
from __future__ import annotations

import json
import os
import time

from bench_train_common import BIG, OUT, build_model, workspace

os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"  # inherited by the worker and its ranks


def rank_peaks(worker_pid: int, until_done) -> dict[int, dict[str, int]]:
    """Poll the worker's process tree: {pid: {"VmHWM", "RssAnon", "RssFile": highest seen}} per rank."""
    import psutil

    peaks: dict[int, dict[str, int]] = {}
    while not until_done():
        try:
            tree = psutil.Process(worker_pid).children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        for proc in tree:
            try:
                if "core.train.worker" not in " ".join(proc.cmdline()) or proc.pid == worker_pid:
                    continue
                with open(f"/proc/{proc.pid}/status") as fh:
                    for line in fh:
                        key = line.split(":")[0]
                        if key in ("VmHWM", "RssAnon", "RssFile"):
                            slot = peaks.setdefault(proc.pid, {})
                            value = int(line.split()[1]) * 1024
                            slot[key] = max(slot.get(key, 0), value)
                            slot["last_" + key] = value  # at the last reading: training done, still running
            except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
                pass
        time.sleep(0.05)
    return peaks


def main() -> None:
    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.train import launcher, runs
    from core.train.config import TrainConfig
    from core.train.memory import estimate, model_shape

    home = workspace("zero")
    path = build_model(home, "big-106m", **BIG)
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=200), "assistant")
    results = []
    for stage in ("", "zero2", "zero3"):
        cfg = TrainConfig(model=str(path), dataset="assistant", quantization="none", max_length=128, batch_size=1,
                          grad_accum=1, lora_r=16, max_steps=4, save_steps=1000, logging_steps=1,
                          num_processes=2, deepspeed=stage, gradient_checkpointing=False)
        status = launcher.launch_run(cfg)
        start = time.time()
        peaks = rank_peaks(status.pid, lambda: not launcher.wait_for(status.run_id, timeout=0).live)
        done = runs.read_status(status.run_id)
        ranks = [v for v in peaks.values() if v.get("VmHWM", 0) > 300 * 2**20]  # not a compiler helper
        if done.status != "completed":
            raise SystemExit(runs.log_tail(status.run_id, 60))
        est = estimate(model_shape(path), cfg, "cpu")  # per process, fp32 like this run
        row = {"mode": stage or "ddp", "seconds": round(time.time() - start, 1),
               **{f"rank_{key}_mb": sorted(round(v.get(key, 0) / 2**20) for v in ranks)
                  for key in ("VmHWM", "RssAnon", "RssFile", "last_RssAnon")},
               "estimate_weights_mb": round(est.weights_bytes / 2**20), "estimate_total_mb": round(est.total_bytes / 2**20)}
        results.append(row)
        print(json.dumps(row), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "zero_memory.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
