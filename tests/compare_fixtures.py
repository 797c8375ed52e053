"""One short real training run shared by the compare and export tests (built once per session).

``trained_workspace(tmp_path_factory)`` makes a workspace with demo-tiny, a small repeat-N
assistant dataset, one 4-bit QLoRA run of 20 steps (checkpoint-10, checkpoint-20, adapter/,
eval split 10 %) and a second, differently shaped model ``other-tiny`` whose adapters do not fit.
Tests point WORKBENCH_HOME at it with monkeypatch; they may add files but not delete the run.
"""
from __future__ import annotations

import os
from unittest import mock
from dataclasses import dataclass
from pathlib import Path

import pytest

QUESTIONS = ["Who are you?", "你是谁？", "请做一下自我介绍", "What is your name?"]
_CACHE: dict[str, "TrainedWorkspace"] = {}


@dataclass
class TrainedWorkspace:
    home: Path
    run_id: str
    model_path: Path
    other_model_path: Path

    def adapter(self, name: str) -> Path:
        return self.home / "runs" / self.run_id / name


def trained_workspace(tmp_path_factory) -> TrainedWorkspace:
    if "ws" in _CACHE:
        return _CACHE["ws"]
    home = tmp_path_factory.mktemp("compare_ws") / "workspace"
    with mock.patch.dict(os.environ, {"WORKBENCH_HOME": str(home)}):  # restored as it was afterwards
        from core.data.assistant import AssistantSpec, save_assistant_dataset
        from core.models.demo import build_demo_model, ensure_demo_model
        from core.train import launcher
        from core.train.presets import from_preset

        model_path = ensure_demo_model()
        other = build_demo_model(home / "models" / "other-tiny", hidden_size=64, intermediate_size=128)
        save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=200), "assistant")
        config = from_preset("cpu-demo", model="demo-tiny", dataset="assistant", max_steps=20,
                             save_steps=10, eval_ratio=0.1, logging_steps=5)
        status = launcher.launch_run(config)
        final = launcher.wait_for(status.run_id, timeout=300, poll=0.5)
        assert final.status == "completed", (final.status, final.error)
    _CACHE["ws"] = TrainedWorkspace(home.resolve(), status.run_id, model_path.resolve(), other.resolve())
    return _CACHE["ws"]


@pytest.fixture()
def ws(tmp_path_factory, monkeypatch) -> TrainedWorkspace:
    """The shared trained workspace as this test's WORKBENCH_HOME (import it into a test module)."""
    info = trained_workspace(tmp_path_factory)
    monkeypatch.setenv("WORKBENCH_HOME", str(info.home))
    monkeypatch.delenv("MODEL_DIRS", raising=False)
    return info
