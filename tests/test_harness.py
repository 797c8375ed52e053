"""The test harness itself: a fresh machine without a browser must not pass the browser tests
silently (a loud banner), and CI's BROWSER_TESTS=required must turn that into a failure."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.browser import ROOT


def _pytest_browser_tests(**env) -> subprocess.CompletedProcess:
    run_env = dict(os.environ, CHROMIUM_PATH="/nonexistent/chromium", **env)  # a machine without Chromium
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_browser.py", "-k", "test_every_page_renders"],
                          cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=300)


def test_missing_browser_is_skipped_loudly():
    result = _pytest_browser_tests(BROWSER_TESTS="")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "2 skipped" in result.stdout
    assert "BROWSER TESTS DID NOT RUN" in result.stdout
    assert "chromium is not installed" in result.stdout


def test_required_browser_missing_fails():
    result = _pytest_browser_tests(BROWSER_TESTS="required")
    assert result.returncode != 0
    assert "BROWSER_TESTS=required, but chromium is not installed" in result.stdout
