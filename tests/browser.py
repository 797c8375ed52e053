"""Helpers for browser tests: serve the real app with `streamlit run`, drive headless Chromium.

Debian's chromium + chromium-driver are used (never a downloaded browser); Selenium Manager is
kept offline by giving it both paths.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
EXCEPTION_MARKERS = ("Traceback (most recent call last)", "StreamlitAPIException", "Page not found")


SKIP_REASON_PREFIX = "browser tests not run"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None when they can): no Chromium, no driver, or no
    CJK font (a 中文 screenshot of tofu boxes would pass for a page that shows nothing)."""
    if not Path(CHROMIUM).exists():
        return "chromium is not installed"
    if not Path(CHROMEDRIVER).exists():
        return "chromedriver is not installed"
    try:
        fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        fonts = ""
    if not fonts.strip():
        return "no CJK font is installed (fonts-noto-cjk)"
    return None


def browser_available() -> bool:
    """True when the browser tests can run. With BROWSER_TESTS=required (CI) a missing browser or
    font is an error, not a skip."""
    missing = browser_missing()
    if missing and os.environ.get("BROWSER_TESTS") == "required":
        raise RuntimeError(f"BROWSER_TESTS=required, but {missing}: "
                           "apt-get install chromium chromium-driver fonts-noto-cjk")
    return missing is None


def skip_reason() -> str:
    return f"{SKIP_REASON_PREFIX}: {browser_missing()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(home: Path, log_path: Path, extra_env: dict | None = None):
    """`streamlit run Home.py` on a free loopback port; yields the base URL."""
    port = free_port()
    env = dict(os.environ, WORKBENCH_HOME=str(home), PYTHONPATH=str(ROOT), **(extra_env or {}))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError(f"streamlit did not start; log:\n{log_path.read_text()[-3000:]}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def chrome(width: int = 1400, height: int = 1600):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(flag)
    os.environ.setdefault("SE_OFFLINE", "true")
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def wait_rendered(driver, timeout: float = 60.0, settle: float = 1.5) -> None:
    """Wait until Streamlit has finished running the page script (no 'running' indicator)."""
    from selenium.webdriver.common.by import By

    deadline = time.time() + timeout
    seen_app = False
    while time.time() < deadline:
        seen_app = seen_app or bool(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"], [data-testid="stAppViewContainer"]'))
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"], [data-testid="stSkeleton"]')
        if seen_app and not running:
            time.sleep(settle)
            if not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidgetRunningIcon"]'):
                return
        time.sleep(0.3)


def page_problems(driver) -> list[str]:
    """Exception boxes or traceback text visible on the page."""
    from selenium.webdriver.common.by import By

    problems = [e.text[:500] for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')]
    body = driver.find_element(By.TAG_NAME, "body").text
    problems += [m for m in EXCEPTION_MARKERS if m in body]
    return problems


def by_key(driver, key: str, inner: str = ""):
    """The element of the widget created with ``key=`` (Streamlit marks it with class st-key-<key>)."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f".st-key-{key} {inner}".strip())


def wait_for(predicate, timeout: float = 60.0, every: float = 0.5):
    """Poll ``predicate`` until it returns something truthy; returns it (or raises TimeoutError)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - elements come and go while Streamlit reruns
            value = None
        if value:
            return value
        time.sleep(every)
    raise TimeoutError("condition not met in time")


def body_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def choose_option(driver, key: str, contains: str) -> None:
    """Open the select box with ``key`` and click the option whose text contains ``contains``."""
    from selenium.webdriver.common.by import By

    by_key(driver, key, '[role="combobox"]').click()
    option = wait_for(lambda: driver.find_element(By.XPATH, f"//*[@role='option'][contains(., '{contains}')]"), 10)
    option.click()
    wait_rendered(driver)


def send_chat(driver, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]')
    box.click()
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
