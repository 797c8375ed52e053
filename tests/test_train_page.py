"""AppTest of the Train page: demo-model button, messages at the fields for invalid settings
(nothing launched), a real launch, the run found again after a reload, and Stop."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.train import launcher, runs

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "2_Train.py")


def _page() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


def test_opens_fast_without_models_and_builds_demo(workbench_home):
    started = time.time()
    at = _page()
    assert not at.exception
    assert time.time() - started < 5
    assert at.button(key="train_build_demo")
    at.button(key="train_build_demo").click().run()
    assert not at.exception
    assert "demo-tiny" in at.selectbox(key="train_model").options


@pytest.fixture()
def ready(workbench_home):
    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=100), "assistant")
    return workbench_home


def test_invalid_settings_are_shown_at_the_fields(ready):
    at = _page()
    assert not at.exception and at.selectbox(key="train_preset").value == "cpu-demo"
    at.number_input(key="train_learning_rate").set_value(0.0)
    at.number_input(key="train_max_length").set_value(8)
    at.button(key="train_launch").click().run()
    errors = _errors(at)
    assert any("learning rate must be > 0" in e for e in errors)
    assert any("max_length must be between 16" in e for e in errors)
    assert any("Nothing was launched" in e for e in errors)
    assert runs.list_run_ids() == []


def test_missing_dataset_is_shown_at_the_field(ready):
    from core.data.store import delete_dataset

    at = _page()
    delete_dataset("assistant")
    at.button(key="train_launch").click().run()
    assert any("dataset" in e.lower() for e in _errors(at))
    assert runs.list_run_ids() == []


def test_presets_fill_the_form_and_save(ready):
    at = _page()
    at.selectbox(key="train_preset").set_value("xtuner-qlora").run()
    assert at.number_input(key="train_lora_r").value == 64
    assert at.number_input(key="train_grad_accum").value == 16
    assert at.number_input(key="train_max_length").value == 1024
    at.number_input(key="train_lora_r").set_value(16)
    at.text_input(key="train_preset_name").set_value("mine")
    at.button(key="train_save_preset").click().run()
    assert not at.exception
    assert "★ mine" in at.selectbox(key="train_preset").options
    from core.train.presets import load_preset

    assert load_preset("mine").lora_r == 16
    assert {"Weights", "LoRA", "Optimizer", "Activations"} <= {m.label for m in at.metric}  # the estimate


def test_launch_reload_and_stop(ready):
    at = _page()
    at.number_input(key="train_max_steps").set_value(300)
    at.text_area(key="train_probe_prompts").set_value("")  # no baseline answers before step 1: stop at once
    at.button(key="train_launch").click().run()
    assert not at.exception, at.exception
    run_ids = runs.list_run_ids()
    assert len(run_ids) == 1
    run_id = run_ids[0]
    assert runs.read_status(run_id).live
    # a reload (a new session) finds the running job by itself
    again = _page()
    assert again.selectbox(key="train_selected_run").value == run_id
    assert any(m.label == "State" for m in again.metric)
    again.button(key=f"train_stop_{run_id}").click().run()
    done = launcher.wait_for(run_id, timeout=90, poll=0.3)
    assert done.status == "stopped", runs.log_tail(run_id)
    assert runs.list_checkpoints(run_id) and runs.has_final_adapter(run_id)
    final = _page()
    assert not final.exception
    assert any("Stopped" in s.value for s in final.info)


def test_will_not_fit_warning(ready, monkeypatch):
    from core.train import memory

    small = memory.DeviceMemory("0", "Tiny GPU", 512 * 2**20, 512 * 2**20)
    monkeypatch.setattr(memory, "gpu_devices", lambda: [small])
    import streamlit as st

    st.cache_data.clear()  # the page caches the device list
    at = _page()
    assert not at.exception
    assert any("Will not fit" in e for e in _errors(at))
    assert at.multiselect(key="train_gpus").options == ["0: Tiny GPU (512.0 MB)"]


def test_memory_estimate_shows_core_figures_for_the_chosen_settings(ready):
    import streamlit as st

    from core.train.memory import estimate_for_config
    from core.train.presets import from_preset
    from core.units import human_size

    st.cache_data.clear()  # no device list cached by an earlier test (this machine has no GPU)
    at = _page()
    at.number_input(key="train_lora_r").set_value(64)
    at.number_input(key="train_max_length").set_value(512)
    at.number_input(key="train_batch_size").set_value(4).run()
    assert not at.exception
    cfg = from_preset("cpu-demo", model="demo-tiny", dataset="assistant", lora_r=64, max_length=512,
                      batch_size=4, target_modules="all-linear", gpus="")
    est = estimate_for_config(cfg)
    shown = [(m.label, m.value) for m in at.metric]
    assert shown == [(label, human_size(value)) for label, (_, value) in
                     zip(["Weights", "LoRA", "Gradients", "Optimizer", "Activations", "Overhead"], est.rows())]
    assert any(human_size(est.total_bytes) in c.value and f"{est.trainable_params/1e6:.2f}M" in c.value
               for c in at.caption)
    small = estimate_for_config(from_preset("cpu-demo", model="demo-tiny", dataset="assistant", lora_r=8,
                                            max_length=512, batch_size=4,
                                            target_modules="all-linear", gpus=""))
    at.number_input(key="train_lora_r").set_value(8).run()
    assert dict((m.label, m.value) for m in at.metric)["LoRA"] == human_size(small.lora_bytes) != human_size(est.lora_bytes)
