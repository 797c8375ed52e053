"""AppTest of the Train page's choices beyond SFT: only the stages a dataset fits, beta, continue from
a run, a sweep form that queues one run per combination (with a confirmation above the limit),
"copy this run, change one field", the price per hour, and a stalled run with its stop button."""
from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest
from streamlit.testing.v1 import AppTest

from core import workspace
from core.data import store
from core.train import cost, launcher, runs, sweeps
from core.train.config import TrainConfig

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "2_Train.py")
MONITOR = str(Path(__file__).resolve().parents[1] / "views" / "3_Monitor.py")
HOME = str(Path(__file__).resolve().parents[1] / "Home.py")
CHAT = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


@pytest.fixture()
def datasets(workbench_home):
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    store.save_dataset("chat", [CHAT] * 4, source="t", extra={"kind": "sft"})
    store.save_dataset("pairs", [dict(CHAT, rejected={"role": "assistant", "content": "b"})] * 4, source="t",
                       extra={"kind": "preference"})
    store.save_dataset("labels", [dict(CHAT, label=i % 2 == 0) for i in range(4)], source="t", extra={"kind": "kto"})
    return workbench_home


def _page(path: str = PAGE) -> AppTest:
    return AppTest.from_file(path, default_timeout=60).run()


def test_stage_choices_follow_the_dataset_kind(datasets):
    at = _page()
    assert not at.exception
    at.selectbox(key="train_dataset").set_value("chat").run()
    assert at.selectbox(key="train_stage").options == ["SFT (supervised)"]
    at.selectbox(key="train_dataset").set_value("pairs").run()
    stage = at.selectbox(key="train_stage")
    assert stage.value == "dpo" and stage.options == ["DPO (preference pairs)", "ORPO (preference pairs, no reference)"]
    assert at.number_input(key="train_pref_beta").value == pytest.approx(0.1)
    at.selectbox(key="train_dataset").set_value("labels").run()
    assert at.selectbox(key="train_stage").value == "kto"


def _fake_run(home: Path, run_id: str, status: str = "completed", **extra) -> None:
    folder = home / "runs" / run_id
    (folder / runs.FINAL_ADAPTER).mkdir(parents=True)
    (folder / runs.FINAL_ADAPTER / "adapter_config.json").write_text("{}")
    (folder / runs.FINAL_ADAPTER / "adapter_model.safetensors").write_bytes(b"")
    workspace.atomic_write_json(folder / runs.CONFIG_FILE, TrainConfig(model="demo-tiny", dataset="chat").to_dict())
    runs.write_status(runs.RunStatus(run_id=run_id, status=status, model="demo-tiny", dataset="chat", **extra))


def test_continue_from_run_and_copy_with_one_change(datasets):
    _fake_run(datasets, "20260101-000000-sft")
    at = _page()
    assert "20260101-000000-sft" in at.selectbox(key="train_init_adapter").options
    assert at.selectbox(key="train_init_adapter").value == ""
    assert at.selectbox(key="train_selected_run").value == "20260101-000000-sft"
    at.selectbox(key="train_copy_field_20260101-000000-sft").set_value("learning_rate").run()
    field = at.text_input(key="train_copy_value_20260101-000000-sft_learning_rate")
    assert field.value == str(TrainConfig().learning_rate)
    field.set_value("0").run()
    at.button(key="train_copy_launch_20260101-000000-sft").click().run()
    assert not at.exception and any("learning rate must be > 0" in e.value for e in at.error)
    assert runs.list_run_ids() == ["20260101-000000-sft"]  # nothing launched


def test_sweep_form_confirms_above_the_limit_and_queues(datasets, monkeypatch):
    launched = []
    monkeypatch.setattr(sweeps, "launch_sweep", lambda base, grid, confirm=False: launched.append((base, grid, confirm))
                        or ("sweep-x", ["a", "b", "c", "d"]))
    at = _page()
    at.selectbox(key="train_dataset").set_value("chat").run()
    at.selectbox(key="train_sweep_name_0").set_value("learning_rate").run()
    at.text_input(key="train_sweep_values_0").set_value("1e-4, 2e-4, 3e-4").run()
    at.selectbox(key="train_sweep_name_1").set_value("lora_r").run()
    at.text_input(key="train_sweep_values_1").set_value("4, 8, 16").run()
    button = at.button(key="train_sweep_launch")
    assert "9 runs" in button.label and button.disabled  # 9 > 8: confirm first
    at.checkbox(key="train_sweep_confirm").check().run()
    assert not at.button(key="train_sweep_launch").disabled
    at.text_input(key="train_sweep_values_0").set_value("1e-4, 2e-4").run()
    at.text_input(key="train_sweep_values_1").set_value("4, 8").run()
    at.button(key="train_sweep_launch").click().run()
    assert not at.exception and len(launched) == 1
    base, grid, _ = launched[0]
    assert grid == {"learning_rate": [1e-4, 2e-4], "lora_r": [4, 8]} and base.dataset == "chat"
    assert any("sweep-x" in s.value and "4 runs" in s.value for s in at.success)


def test_price_cost_and_stalled_run_on_train_monitor_home(datasets, monkeypatch):
    monkeypatch.setenv("WORKBENCH_STALL_MIN_SECONDS", "1")
    cost.set_price(10.0, "¥")
    now = time.time()
    me = psutil.Process(os.getpid())
    _fake_run(datasets, "20260101-000001-live", status="running", pid=os.getpid(), pid_started=me.create_time(),
              started=now - 360, train_started=now - 360, step=10, total_steps=20, last_step_at=now - 180)
    at = _page()
    assert not at.exception
    assert any("is stalled" in w.value for w in at.warning)
    assert any("Cost so far ¥1.00" in c.value and "at ETA" in c.value for c in at.caption)
    monitor = _page(MONITOR)
    assert not monitor.exception and any("is stalled" in w.value for w in monitor.warning)
    home = _page(HOME)
    assert not home.exception and any("is stalled" in w.value for w in home.warning)
    stopped = []
    monkeypatch.setattr(launcher, "stop_run", lambda run_id: stopped.append(run_id))
    at.button(key="train_stall_stop_20260101-000001-live").click().run()
    assert stopped == ["20260101-000001-live"]
    assert at.number_input(key="train_price").value == pytest.approx(10.0)


def test_several_machines_show_the_other_nodes_commands(datasets):
    at = _page()
    at.selectbox(key="train_dataset").set_value("chat").run()
    at.number_input(key="train_nnodes").set_value(3).run()
    at.text_input(key="train_master_addr").set_value("10.0.0.1").run()
    assert not at.exception
    commands = [c.value for c in at.code]
    assert len(commands) == 2 and commands[0].endswith("--node-rank 1") and "--master-addr 10.0.0.1" in commands[0]
    assert "--dataset chat" in commands[0] and "--nnodes 3" in commands[1]
    at.text_input(key="train_master_addr").set_value("").run()
    at.button(key="train_launch").click().run()
    assert any("address (host name or IP) of machine 0" in e.value for e in at.error)
    assert runs.list_run_ids() == []
