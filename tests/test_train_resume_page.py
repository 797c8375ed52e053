"""Resume from the Train page: a finished run with checkpoints, choose one, the launched run's config
resumes from exactly that checkpoint and continues to the new step limit; a moved workspace's base
(same config elsewhere) still resumes, another base is refused."""
from __future__ import annotations

import shutil
from pathlib import Path

from streamlit.testing.v1 import AppTest

from compare_fixtures import trained_workspace

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "2_Train.py")


def test_resume_a_finished_run_from_a_chosen_checkpoint(tmp_path_factory, tmp_path, monkeypatch):
    from core.train import launcher, runs

    shared = trained_workspace(tmp_path_factory)
    home = tmp_path / "workspace"  # a copy: the shared run stays the only one there
    shutil.copytree(shared.home, home, ignore=shutil.ignore_patterns("compare", "*.lock"))
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.delenv("MODEL_DIRS", raising=False)
    parent = shared.run_id
    assert runs.list_checkpoints(parent) == ["checkpoint-10", "checkpoint-20"]

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox(key="train_selected_run").value == parent
    assert at.selectbox(key=f"train_resume_ckpt_{parent}").options == ["checkpoint-20", "checkpoint-10"]
    at.selectbox(key=f"train_resume_ckpt_{parent}").set_value("checkpoint-10")
    at.number_input(key=f"train_resume_steps_{parent}").set_value(14)
    at.button(key=f"train_resume_{parent}").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    new_ids = [r for r in runs.list_run_ids() if r != parent]
    assert len(new_ids) == 1
    child = new_ids[0]
    assert at.selectbox(key="train_selected_run").value == child
    config = runs.read_config(child)
    assert config["resume_from"] == f"{parent}/checkpoint-10"
    assert config["max_steps"] == 14
    assert {k: config[k] for k in ("model", "dataset", "lora_r")} == \
        {k: runs.read_config(parent)[k] for k in ("model", "dataset", "lora_r")}
    final = launcher.wait_for(child, timeout=240, poll=0.5)
    assert final.status == "completed", (final.status, final.error, runs.log_tail(child))
    assert final.parent == f"{parent}/checkpoint-10" and final.step == 14


def test_resume_needs_the_same_base_by_folder_or_config(tiny_model_path, tmp_path):
    from core.models.demo import build_demo_model
    from core.train.launcher import _same_base

    copy = tmp_path / "moved" / tiny_model_path.name
    shutil.copytree(tiny_model_path, copy)
    other = build_demo_model(tmp_path / "other-tiny", hidden_size=64, intermediate_size=128)
    assert _same_base(tiny_model_path, tiny_model_path)
    assert _same_base(tiny_model_path, copy)  # a moved or copied workspace
    assert not _same_base(tiny_model_path, other)  # another shape: refused
    assert _same_base(tmp_path / "gone" / tiny_model_path.name, copy)  # old folder gone: same name
    assert not _same_base(tmp_path / "gone" / "other-tiny", copy)
