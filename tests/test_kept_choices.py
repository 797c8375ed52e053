"""Choices survive navigation (ui.state): leave a page with at.switch_page and come back, and
every value the user set is still there; nothing is swapped behind the user's back."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from compare_fixtures import ws  # noqa: F401 (ws is a fixture: demo-tiny, a dataset, one finished run)

ROOT = Path(__file__).resolve().parents[1]
DATASETS, TRAIN, MONITOR = "views/1_Datasets.py", "views/2_Train.py", "views/3_Monitor.py"
COMPARE, CHAT = "views/4_Compare.py", "views/6_Chat.py"


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "Home.py"), default_timeout=90).run()


def _values(at: AppTest, prefix: str) -> dict:
    widgets = [*at.number_input, *at.selectbox, *at.checkbox, *at.text_input, *at.text_area, *at.multiselect,
               *at.radio, *at.slider, *at.toggle]
    return {w.key: w.value for w in widgets if w.key and w.key.startswith(prefix)}


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


def test_datasets_keep_open_tab_and_selected_dataset(ready):
    at = _go(_app(), DATASETS)
    assert at.selectbox(key="ds_browse_name").value == "newer"  # newest first, before any choice
    at.session_state["ds_tab"] = "Shape"  # the user opens the Shape tab
    at.selectbox(key="ds_browse_name").set_value("older")
    at.selectbox(key="ds_split_name").set_value("older")
    at.slider(key="ds_split_ratio").set_value(0.2)
    at.radio(key="ds_view").set_value("conversation")
    at.run()
    before = _values(at, "ds_")
    _go(at, TRAIN)
    _go(at, DATASETS)
    assert at.session_state["ds_tab"] == "Shape"
    assert _values(at, "ds_") == before
    assert before["ds_browse_name"] == "older" and before["ds_split_ratio"] == 0.2


def test_generated_dataset_is_listed_on_the_same_run(ready):
    at = _go(_app(), DATASETS)
    at.text_input(key="assistant_dataset").set_value("fresh")
    at.number_input(key="assistant_n").set_value(30)
    at.button(key="assistant_generate").click().run()
    assert not at.exception
    for key in ("ds_browse_name", "ds_split_name", "ds_export_name", "ds_rename_from"):
        assert "fresh" in at.selectbox(key=key).options, key
    assert any("fresh" in s.value for s in at.success)


def test_chat_keeps_mode_adapter_and_settings(ws):
    from core.train.runs import list_adapters

    at = _go(_app(), CHAT)
    adapter = list_adapters()[0].label  # the value; the box shows it by name
    at.selectbox(key="chat_quant").set_value("4bit")
    at.radio(key="chat_mode").set_value("side")
    at.selectbox(key="chat_adapter").set_value(adapter)
    at.slider(key="chat_temperature").set_value(0.3)
    at.slider(key="chat_max_new").set_value(64)
    at.text_area(key="chat_system").set_value("Answer briefly.")
    at.toggle(key="rag_enabled").set_value(True)
    at.run()
    before = _values(at, "chat_") | _values(at, "rag_")
    _go(at, TRAIN)
    _go(at, CHAT)
    after = _values(at, "chat_") | _values(at, "rag_")
    assert after == before
    assert after["chat_adapter"] == adapter and after["chat_mode"] == "side" and after["rag_enabled"] is True
    # the adapter is named by run name, step, state and date, not by its folder
    label = at.selectbox(key="chat_adapter").options[1]
    assert "demo-tiny-assistant-1" in label and "completed" in label and "/" not in label.split(" · ")[0]


def test_compare_keeps_model_checkpoints_and_prompts(ws):
    at = _go(_app(), COMPARE)
    key = f"cmp_ck_{ws.run_id}"
    at.multiselect(key=key).set_value(at.multiselect(key=key).value[:1])
    at.text_area(key="cmp_typed").set_value("你好\nWho are you?")
    at.selectbox(key="cmp_quant").set_value("8bit")
    at.checkbox(key="cmp_include_base").uncheck()
    at.run()
    before = _values(at, "cmp_")
    _go(at, MONITOR)
    _go(at, COMPARE)
    assert _values(at, "cmp_") == before
    assert len(at.multiselect(key=key).value) == 1 and at.text_area(key="cmp_typed").value == "你好\nWho are you?"


def test_monitor_keeps_runs_and_smoothing(ws):
    at = _go(_app(), MONITOR)
    at.slider(key="monitor_ema").set_value(0.2).run()
    before = _values(at, "monitor_")
    _go(at, CHAT)
    _go(at, MONITOR)
    assert _values(at, "monitor_") == before and before["monitor_ema"] == 0.2


def test_language_switch_leaves_no_english_in_select_boxes(ready):
    at = _go(_app(), TRAIN)
    at.selectbox(key="train_quantization").set_value("8bit").run()
    english = {opt for box in at.selectbox for opt in box.options}
    at.selectbox(key="ui_lang_select").set_value("zh").run()
    assert not at.exception
    assert at.selectbox(key="train_quantization").value == "8bit"  # the value stays, its label changes
    labels = {box.key: box.options for box in at.selectbox}  # AppTest lists options as shown
    assert labels["train_quantization"] == ["4 位 NF4", "8 位", "16/32 位（不量化）"]
    translated = {"train_preset", "train_copy_run", "train_quantization", "train_deepspeed"}
    for key in translated:
        stale = [text for text in labels[key] if text in english and text.isascii() and " " in text]
        assert not stale, (key, stale)
    # the next page opened (here a new session: a new tab without ?lang) is in Chinese too
    assert AppTest.from_file(str(ROOT / DATASETS), default_timeout=60).run().title[0].value == "数据集"


def test_knowledge_search_settings_and_chosen_base_survive_a_visit_to_chat(workbench_home, monkeypatch, tmp_path):
    from core.cli import main

    monkeypatch.delenv("WORKBENCH_PASSWORD", raising=False)
    doc = tmp_path / "achilles.txt"
    doc.write_text("Achilles was the son of Peleus and the sea nymph Thetis.", encoding="utf-8")
    for name in ("alpha", "beta"):  # the search form shows for a base with documents
        assert main(["kb", "create", name]) == 0 and main(["kb", "ingest", name, str(doc)]) == 0
    at = _go(_app(), "views/5_Knowledge.py")
    at.selectbox(key="kb_selected").set_value("beta").run()
    at.text_input(key="kb_query").set_value("Who were the parents of Achilles?")
    at.slider(key="kb_k").set_value(7)
    at.number_input(key="kb_neighbors").set_value(2)
    next(b for b in at.button if b.label == "Search").click().run()  # a form's values count once submitted
    before = _values(at, "kb_")
    _go(at, CHAT)
    _go(at, "views/5_Knowledge.py")
    after = _values(at, "kb_")
    assert after["kb_selected"] == "beta", (before, after)
    assert (after["kb_query"], after["kb_k"], after["kb_neighbors"]) == ("Who were the parents of Achilles?", 7, 2)
    assert {k: after[k] for k in before} == before
