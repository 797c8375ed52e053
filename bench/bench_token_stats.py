"""Benchmark: token-length statistics over 100,000 rows with a fast tokenizer (target <= 10 s).

    PYTHONPATH=. python bench/bench_token_stats.py [--rows 100000] [--model PATH]

Without ``--model`` it uses the offline demo tokenizer (byte-level BPE, 1k vocab, ChatML chat
template; built in a second, no download). Each row is rendered with the chat template and
tokenized in batches by the Rust tokenizer, exactly as ``core.data.stats.token_lengths`` does.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    words = ("the model learns from data " * 3 + "微调 让 预训练 语言 模型 适应 新的 任务 ").split()
    return [{"messages": [{"role": "user", "content": " ".join(rng.choices(words, k=rng.randint(5, 40)))},
                          {"role": "assistant", "content": " ".join(rng.choices(words, k=rng.randint(20, 120)))}]}
            for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--model", help="local model folder (default: the offline demo tokenizer)")
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args()
    from core.data import stats

    if args.model:
        tokenizer = stats.load_tokenizer(args.model)
    else:
        from core.models.demo import build_tokenizer

        tokenizer = build_tokenizer()
    rows = make_rows(args.rows)
    t0 = time.perf_counter()
    lengths = stats.token_lengths(rows, tokenizer)
    t1 = time.perf_counter()
    summary = stats.length_summary(lengths, args.max_length)
    t2 = time.perf_counter()
    print(json.dumps({"rows": args.rows, "tokenizer": args.model or "demo-tiny (BPE 1k, ChatML)",
                      "token_lengths_s": round(t1 - t0, 2), "summary_s": round(t2 - t1, 3),
                      "total_tokens": summary["total"], "p50": summary["p50"], "p95": summary["p95"],
                      "max": summary["max"], "over_max_length": summary["over"]}))


if __name__ == "__main__":
    main()
