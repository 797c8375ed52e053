"""Shared fixtures: an empty workspace per test and tiny models built offline once per session."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The peer demo files sit beside the checkout; PEER_DATA points elsewhere (e.g. a git worktree).
PEER_DATA = Path(os.environ.get("PEER_DATA") or ROOT.parent / "shared" / "datasets" / "peer")
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


# Modules whose tests train a model, start torchrun or a server, or drive a browser: each takes
# from several seconds to minutes on 2 cores. `./test.sh -m "not slow"` runs everything else.
SLOW_MODULES = {
    "test_e2e_assistant", "test_train_distributed", "test_train_packing", "test_train_queue",
    "test_compare_run", "test_compare_page", "test_export_merge", "test_harness", "test_kept_choices",
    "test_run_sh", "test_train_kill", "test_quantized_bases", "test_train_resume_page",
    "test_rag_page",
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture()
def workbench_home(tmp_path, monkeypatch) -> Path:
    """A fresh WORKBENCH_HOME for one test."""
    home = tmp_path / "workspace"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.delenv("MODEL_DIRS", raising=False)
    return home


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """demo-tiny built once per test session (random Llama + chat-template tokenizer)."""
    from core.models.demo import build_demo_model

    return build_demo_model(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture()
def peer_data() -> Path:
    if not PEER_DATA.exists():
        pytest.skip("shared/datasets/peer not present")
    return PEER_DATA


def pytest_terminal_summary(terminalreporter):
    """Say loudly at the end when the browser tests were skipped: a green run without them has
    not checked a single page in a real browser (CI sets BROWSER_TESTS=required instead)."""
    from tests.browser import SKIP_REASON_PREFIX

    reasons = {str(report.longrepr[2]) for report in terminalreporter.stats.get("skipped", [])
               if isinstance(report.longrepr, tuple) and SKIP_REASON_PREFIX in str(report.longrepr[2])}
    if reasons:
        terminalreporter.write_sep("!", "BROWSER TESTS DID NOT RUN", red=True, bold=True)
        for reason in sorted(reasons):
            terminalreporter.write_line(reason.replace("Skipped: ", ""), red=True)
        terminalreporter.write_line("Install them with: apt-get install chromium chromium-driver fonts-noto-cjk "
                                    "(BROWSER_TESTS=required turns this into a failure)", red=True)
