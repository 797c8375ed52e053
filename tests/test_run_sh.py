"""./run.sh as a user starts it: bound beyond localhost with WORKBENCH_PASSWORD set it starts and the
app asks for the password; MODEL_DIRS with several folders lists the models of each one."""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request

import pytest

from tests.browser import ROOT, browser_available, chrome, free_port, skip_reason, wait_for, wait_rendered


def start_run_sh(env: dict, port: int, log_path):
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["./run.sh", "--host", "0.0.0.0", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run.sh exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise AssertionError(f"run.sh did not start within 300 s:\n{log_path.read_text()[-3000:]}")


def test_run_sh_with_a_password_and_two_model_dirs(tmp_path, tiny_model_path):
    first, second = tmp_path / "models-a", tmp_path / "models-b"
    first.mkdir()
    second.mkdir()
    (first / "alpha").symlink_to(tiny_model_path, target_is_directory=True)
    (second / "beta").symlink_to(tiny_model_path, target_is_directory=True)
    env = dict(os.environ, WORKBENCH_HOME=str(tmp_path / "workspace"), WORKBENCH_PASSWORD="s3cret",
               MODEL_DIRS=f"{first}:{second}")
    port = free_port()
    proc = start_run_sh(env, port, tmp_path / "run.log")
    try:
        listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
        assert f"0.0.0.0:{port}" in listening  # started on the public address it was asked for
        listed = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "core", "models", "--json"],
                                cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                                timeout=300, check=True).stdout
        models = json.loads(listed)["models"]
        assert [(m["name"], m["source"]) for m in models] == [("alpha", "MODEL_DIRS"), ("beta", "MODEL_DIRS")]
        if not browser_available():
            pytest.skip(skip_reason())
        from selenium.webdriver.common.by import By

        driver = chrome()
        try:
            driver.get(f"http://127.0.0.1:{port}")
            wait_rendered(driver)
            body = driver.find_element(By.TAG_NAME, "body").text
            assert "Sign in" in body and "Training runs" not in body  # nothing shown before the password
            box = driver.find_element(By.CSS_SELECTOR, '.st-key-login_password input')
            box.send_keys("s3cret")
            driver.find_element(By.CSS_SELECTOR, '[data-testid="stFormSubmitButton"] button').click()
            metrics = wait_for(lambda: [m.text for m in driver.find_elements(
                By.CSS_SELECTOR, '[data-testid="stMetric"]')] or None, 120)
            assert metrics[0].split() == ["Models", "2"]  # alpha from the first folder, beta from the second
        finally:
            driver.quit()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
