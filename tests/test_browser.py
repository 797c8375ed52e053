"""A real browser on the real app: `streamlit run Home.py` on a free port, headless Chromium
opens every page (in English and Chinese); no exception on any page; screenshots are saved
under the test's tmp dir (printed at the end)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import ROOT, browser_available, skip_reason, chrome, page_problems, streamlit_server, wait_rendered

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not browser_available(), reason=skip_reason())]
SLUGS = ["datasets", "", "models", "train", "monitor", "compare", "knowledge", "chat", "serve"]  # a direct link to a page first: what a bookmark does


def cli(home: Path, *args: str) -> dict:
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "core", *args, "--json"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=600, check=True).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def populated_home(tmp_path_factory) -> Path:
    """A workspace with the demo model, the assistant set and one finished run."""
    home = tmp_path_factory.mktemp("browser") / "workspace"
    cli(home, "demo-model")
    cli(home, "data", "assistant", "--name", "小智", "--author", "张三", "--n", "500", "--out", "assistant")
    cli(home, "train", "start", "--model", "demo-tiny", "--dataset", "assistant", "--preset", "cpu-demo",
        "--max-steps", "20", "--save-steps", "10", "--probe", "你是谁？", "--wait")
    return home


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_renders_without_exception(populated_home, tmp_path, lang):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with streamlit_server(populated_home, tmp_path / "streamlit.log") as url:
        driver = chrome()
        try:
            if lang == "zh":  # switch the language once in the sidebar; it holds for every page
                driver.get(url)
                wait_rendered(driver)
                from selenium.webdriver.common.by import By

                box = driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"] [data-testid="stSelectbox"]')
                box.click()
                option = driver.find_element(By.XPATH, "//*[@role='option'][contains(., '中文')]")
                option.click()
                wait_rendered(driver)
            problems = {}
            for slug in SLUGS:
                if lang == "zh":  # navigate inside the app so the session (and language) is kept
                    driver.find_element("css selector", f'[data-testid="stSidebarNav"] a[href$="/{slug}"]').click()
                else:
                    driver.get(f"{url}/{slug}")
                wait_rendered(driver)
                driver.save_screenshot(str(shots / f"{lang}-{slug or 'home'}.png"))
                found = page_problems(driver)
                if found:
                    problems[slug or "home"] = found
                if lang == "zh" and slug == "":
                    assert "大模型微调工作台" in driver.find_element("tag name", "body").text
        finally:
            driver.quit()
    print(f"\nscreenshots: {shots}")
    assert not problems, problems
    assert len(list(shots.glob("*.png"))) == len(SLUGS)
