"""Choices survive navigation (ui.state): leave a page with at.switch_page and come back, and
every value the user set is still there; nothing is swapped behind the user's back."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
TRAIN, CHAT = "views/2_Train.py", "views/6_Chat.py"


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "Home.py"), default_timeout=90).run()


def _go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture()
def ready(workbench_home, monkeypatch):
    """demo-tiny plus two datasets, so "the newest dataset" differs from the chosen one."""
    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.models.demo import ensure_demo_model

    monkeypatch.delenv("WORKBENCH_PASSWORD", raising=False)
    ensure_demo_model()
    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=20), "older")
    save_assistant_dataset(AssistantSpec(name="Aria", author="Alex", n=20, lang="en"), "newer")
    return workbench_home


def test_train_form_survives_a_visit_to_chat(ready):
    at = _go(_app(), TRAIN)
    at.selectbox(key="train_dataset").set_value("older")
    at.number_input(key="train_lora_r").set_value(8)
    at.number_input(key="train_learning_rate").set_value(5e-4)
    at.checkbox(key="train_targets_all").uncheck()
    at.checkbox(key="train_packing").check()
    at.selectbox(key="train_quantization").set_value("none")
    at.text_input(key="train_run_name").set_value("my-run")
    at.text_area(key="train_probe_prompts").set_value("你是谁？")
    at.run()
    at.multiselect(key="train_targets_chosen").set_value(["q_proj", "v_proj"]).run()
    before = {w.key: w.value for w in [*at.number_input, *at.selectbox, *at.checkbox, *at.text_input,
                                       *at.text_area, *at.multiselect] if w.key and w.key.startswith("train_")}

    _go(at, CHAT)
    _go(at, TRAIN)
    after = {w.key: w.value for w in [*at.number_input, *at.selectbox, *at.checkbox, *at.text_input,
                                      *at.text_area, *at.multiselect] if w.key and w.key.startswith("train_")}
    assert after == before
    assert after["train_lora_r"] == 8 and after["train_dataset"] == "older"
    assert after["train_targets_all"] is False and after["train_targets_chosen"] == ["q_proj", "v_proj"]
    assert after["train_run_name"] == "my-run" and after["train_quantization"] == "none"
