"""Wall time of the "CPU demo" preset on demo-tiny: the personal-assistant loop as a user runs it.

Measures, on this machine: `train start --preset cpu-demo --wait` from the command to the
finished run (process start, imports, 4-bit load, 150 QLoRA steps, checkpoints, adapter), and
the training part alone from the run's status timestamps.

    python bench/bench_cpu_demo.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere: python bench/<script>.py


def main() -> None:
    home = Path(tempfile.mkdtemp()) / "workspace"
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT))

    def cli(*args):
        out = subprocess.run([sys.executable, "-m", "core", *args, "--json"], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)

    t = time.perf_counter()
    cli("demo-model")
    build_s = time.perf_counter() - t
    cli("data", "assistant", "--name", "小智", "--author", "张三", "--n", "10000", "--out", "assistant")
    t = time.perf_counter()
    status = cli("train", "start", "--model", "demo-tiny", "--dataset", "assistant", "--preset", "cpu-demo", "--wait")
    wall_s = time.perf_counter() - t
    raw = json.loads((home / "runs" / status["run_id"] / "status.json").read_text())
    metrics = [json.loads(line) for line in (home / "runs" / status["run_id"] / "metrics.jsonl").read_text().splitlines()]
    print(f"demo model build: {build_s:.1f} s")
    print(f"cpu-demo run: status={status['status']} steps={status['step']} wall={wall_s:.1f} s "
          f"(worker start to finish {raw['finished'] - raw['started']:.1f} s)")
    print(f"loss: first {metrics[0]['loss']:.3f} -> last {metrics[-1]['loss']:.3f}; cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
