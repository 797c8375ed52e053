"""Benchmark: import + validate a 100,000-row JSONL file (target <= 5 s on 2 cores).

    PYTHONPATH=. python bench/bench_data_import.py [--rows 100000] [--format alpaca|openai]

Writes a synthetic file (mixed English/Chinese rows, ~1% bad rows) to a temp folder, then times
the same pipeline the page and CLI use: ``analyze_path`` (read + decode + detect + convert +
validate) and ``save_import`` (atomic save) into a throw-away WORKBENCH_HOME.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_file(path: Path, rows: int, fmt: str, seed: int = 0) -> int:
    rng = random.Random(seed)
    words = ("the model learns from data " * 3 + "微调 让 预训练 语言 模型 适应 新的 任务 ").split()
    bad = 0
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(rows):
            q = " ".join(rng.choices(words, k=rng.randint(5, 40)))
            a = " ".join(rng.choices(words, k=rng.randint(20, 120)))
            if i % 100 == 99:  # ~1% bad rows: malformed JSON or an empty reply
                bad += 1
                fh.write('{"instruction": "broken\n' if i % 200 == 199 else
                         json.dumps({"instruction": q, "input": "", "output": ""}, ensure_ascii=False) + "\n")
                continue
            if fmt == "alpaca":
                rec = {"instruction": q, "input": "", "output": a}
            else:
                rec = {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=("alpaca", "openai"), default="alpaca")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["WORKBENCH_HOME"] = str(Path(tmp) / "ws")
        from core.data.importer import analyze_path, save_import

        src = Path(tmp) / f"bench.{args.format}.jsonl"
        bad = make_file(src, args.rows, args.format)
        size_mb = src.stat().st_size / 1e6
        t0 = time.perf_counter()
        report = analyze_path(src)
        t1 = time.perf_counter()
        info = save_import(report, "bench", on_error="skip")
        t2 = time.perf_counter()
        assert report.good == args.rows - bad and len(report.bad_rows) == bad, report.summary(3)
        result = {"rows": args.rows, "format": args.format, "file_mb": round(size_mb, 1),
                  "good": report.good, "bad": len(report.bad_rows),
                  "read_validate_s": round(t1 - t0, 2), "save_s": round(t2 - t1, 2),
                  "total_s": round(t2 - t0, 2), "saved_rows": info.rows}
        print(json.dumps(result))


if __name__ == "__main__":
    main()
