"""Cold render time of every page, and whether a page load imported torch/transformers/faiss.

Each page runs in a fresh Python process (cold imports) through Streamlit's AppTest, against a
workspace with the demo model, a dataset and a finished run. Target: < 1 s per page, and no
heavy import at page load.

    python bench/bench_page_render.py [--home DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from anywhere: python bench/<script>.py
PAGES = ["Home.py", "views/1_Datasets.py", "views/2_Train.py", "views/3_Monitor.py", "views/4_Compare.py",
         "views/5_Knowledge.py", "views/6_Chat.py", "views/7_Models.py", "views/8_Serve.py"]
HEAVY = ("torch", "transformers", "faiss", "sentence_transformers", "peft", "trl", "deepspeed")

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
t1 = time.perf_counter()
at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.run()
t2 = time.perf_counter()
heavy = [m for m in %r if m in sys.modules]
print(json.dumps({"render_s": t2 - t1, "streamlit_import_s": t1 - t0, "heavy": heavy,
                  "exception": [str(e.value)[:200] for e in at.exception]}))
""" % (HEAVY,)


def populate(home: Path) -> None:
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT))
    run = lambda *a: subprocess.run([sys.executable, "-m", "core", *a, "--json"], env=env, cwd=ROOT,  # noqa: E731
                                    check=True, capture_output=True)
    run("demo-model")
    run("data", "assistant", "--name", "小智", "--author", "张三", "--n", "200", "--out", "assistant")
    run("train", "start", "--model", "demo-tiny", "--dataset", "assistant", "--preset", "cpu-demo",
        "--max-steps", "10", "--save-steps", "5", "--wait")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", help="an existing workspace (default: a fresh populated one)")
    args = parser.parse_args()
    home = Path(args.home) if args.home else Path(tempfile.mkdtemp()) / "workspace"
    if not args.home:
        populate(home)
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT))
    rows = []
    for page in PAGES:
        out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / page)], env=env, cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        rows.append({"page": page, **result})
        print(f"{page:24s} render {result['render_s']*1000:7.0f} ms   heavy imports: "
              f"{','.join(result['heavy']) or 'none'}   exception: {result['exception'] or 'none'}")
    worst = max(r["render_s"] for r in rows)
    print(f"slowest page: {worst*1000:.0f} ms (target < 1000 ms); "
          f"pages importing heavy libraries: {sum(1 for r in rows if r['heavy'])}")


if __name__ == "__main__":
    main()
