"""Pages stay light: opening every page (in one fresh process, a workspace with the demo model and
a dataset) imports none of torch, transformers, faiss, sentence-transformers, PEFT, TRL or
DeepSpeed; those load only when a button needs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_page_render import HEAVY, PAGES  # noqa: E402

PROBE = r"""
import json, sys
from streamlit.testing.v1 import AppTest
problems = {}
for page in sys.argv[2:]:
    at = AppTest.from_file(sys.argv[1] + "/" + page, default_timeout=60).run()
    if at.exception:
        problems[page] = [str(e.value)[:300] for e in at.exception]
print(json.dumps({"heavy": [m for m in %r if m in sys.modules], "exceptions": problems}))
""" % (HEAVY,)


def test_no_page_imports_heavy_libraries(workbench_home):
    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=50), "assistant")
    env = dict(os.environ, WORKBENCH_HOME=str(workbench_home), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), *PAGES], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == {}
    assert result["heavy"] == []
