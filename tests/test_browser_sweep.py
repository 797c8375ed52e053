"""A real browser on a sweep: a 2-run sweep queued by the CLI completes; on Monitor, picking the sweep
overlays its runs and ranks them (English and Chinese); the Train page shows the stage choice and
the sweep form. Screenshots are saved under the test's tmp dir (printed at the end)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import (ROOT, body_text, browser_available, by_key, choose_option, chrome, page_problems,
                           skip_reason, streamlit_server, wait_for, wait_rendered)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not browser_available(), reason=skip_reason())]


def cli(home: Path, *args: str) -> dict:
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "core", *args, "--json"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=900, check=True).stdout
    return json.loads(out)


def test_sweep_on_monitor_in_english_and_chinese(tmp_path):
    home = tmp_path / "workspace"
    cli(home, "demo-model")
    cli(home, "data", "assistant", "--name", "小智", "--author", "张三", "--n", "64", "--out", "assistant")
    sweep = cli(home, "train", "sweep", "--model", "demo-tiny", "--dataset", "assistant", "--preset", "cpu-demo",
                "--grid", "lr=1e-4,3e-3", "--max-steps", "4", "--save-steps", "4", "--logging-steps", "1",
                "--quantization", "none", "--lora-r", "8", "--max-length", "64", "--wait")
    assert [r["status"] for r in sweep["ranking"]] == ["completed", "completed"]
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with streamlit_server(home, tmp_path / "streamlit.log") as url:
        driver = chrome()
        try:
            for lang, ranking_title in (("en", "Sweep ranking"), ("zh", "扫描排名")):
                driver.get(f"{url}/monitor?lang={lang}")
                wait_rendered(driver)
                wait_for(lambda: by_key(driver, "monitor_sweep", '[role="combobox"]'), 90)  # a loaded machine is slow
                driver.save_screenshot(str(shots / f"{lang}-monitor.png"))
                choose_option(driver, "monitor_sweep", sweep["sweep_id"])
                driver.save_screenshot(str(shots / f"{lang}-monitor-picked.png"))
                text = wait_for(lambda: (lambda t: t if ranking_title in t else None)(body_text(driver)), 90)
                # people see each run by its name ("demo-tiny-assistant-learning_rate0.003"), not its folder id
                names = [json.loads((home / "runs" / run_id / "config.json").read_text(encoding="utf-8"))["run_name"]
                         for run_id in sweep["run_ids"]]
                assert sorted(names) == ["demo-tiny-assistant-learning_rate0.0001",
                                         "demo-tiny-assistant-learning_rate0.003"]
                assert all(f"{name}:" in text for name in names)  # one status line per overlaid run
                chosen = by_key(driver, "monitor_runs").get_attribute("textContent")  # chips may scroll out of view
                assert all(name in chosen for name in names)
                # tables are drawn on a canvas; their cells are also in each grid's accessible table
                tables = [el.get_attribute("textContent")
                          for el in driver.find_elements("css selector", '[data-testid="stDataFrame"]')]
                ranking = next(t for t in tables if t.startswith("#"))  # its first column is the rank "#"
                named = dict(zip(sweep["run_ids"], names))  # the ranking names runs, not folder ids
                best, second = (ranking.index(named[r["run_id"]]) for r in sweep["ranking"])
                assert "None" not in ranking
                assert best < second  # best first, as the CLI ranked them
                driver.save_screenshot(str(shots / f"{lang}-monitor-sweep.png"))
                assert not page_problems(driver)
                driver.get(f"{url}/train?lang={lang}")
                wait_rendered(driver)
                wait_for(lambda: by_key(driver, "train_stage"), 90)
                driver.save_screenshot(str(shots / f"{lang}-train.png"))
                assert by_key(driver, "train_stage") and not page_problems(driver)
        finally:
            driver.quit()
    print(f"\nscreenshots: {shots}")
