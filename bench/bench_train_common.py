"""Shared pieces of the training benchmarks: a workspace with the repeat-N set, models built from
config (never downloaded), and an SFTTrainer set up exactly as the worker does it.

    python bench/bench_train_packing.py     # packed vs padded effective tokens/s
    python bench/bench_train_overhead.py    # our callbacks + logging vs a bare SFTTrainer
    python bench/bench_train_memory.py      # memory estimate vs measured peak
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
OUT = ROOT / "bench" / "out"

# ~106M parameters: big enough that matmuls, not Python, dominate a step on CPU.
BIG = dict(hidden_size=768, intermediate_size=2560, num_hidden_layers=14, num_attention_heads=12,
           num_key_value_heads=4)


def workspace(name: str) -> Path:
    home = Path(os.environ.get("BENCH_HOME") or tempfile.mkdtemp(prefix=f"bench-{name}-"))
    os.environ["WORKBENCH_HOME"] = str(home)
    return home


def assistant_rows(n: int = 2000) -> list[dict]:
    from core.data.assistant import AssistantSpec, generate_assistant_rows

    return generate_assistant_rows(AssistantSpec(name="小智", author="张三", n=n, lang="zh"))


def build_model(home: Path, name: str, **shape) -> Path:
    from core.models.demo import build_demo_model

    path = home / "models" / name
    if not (path / "config.json").exists():
        build_demo_model(path, **shape)
    return path


def tokenized(tokenizer, rows):
    from datasets import Dataset

    from core.train.tokenize import tokenize_row

    cache = {}
    out = []
    for row in rows:
        key = repr(row)
        if key not in cache:
            cache[key] = tokenize_row(tokenizer, row)
        out.append(cache[key])
    return Dataset.from_list(out)


class StepTimer:
    """A TrainerCallback recording (time, num_tokens) at every log; tokens/s over the measured steps."""

    def __new__(cls, *a, **k):
        from transformers import TrainerCallback

        class _Timer(TrainerCallback):
            def __init__(self):
                self.points: list[tuple[int, float, float]] = []

            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs and "num_tokens" in logs:
                    self.points.append((state.global_step, time.perf_counter(), float(logs["num_tokens"])))

        return _Timer()


def rate(points, skip: int = 1) -> tuple[float, float]:
    """(tokens/s, seconds/step) between the ``skip``-th logged step and the last one."""
    (s0, t0, n0), (s1, t1, n1) = points[skip - 1], points[-1]
    return (n1 - n0) / (t1 - t0), (t1 - t0) / (s1 - s0)
