"""AppTest for the personal-assistant generator tab on the Datasets page: zh/en presets fill the
form, invalid fields are named and block saving, "Generate and save" writes the dataset."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.data import store

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "1_Datasets.py")


def test_generate_and_save(workbench_home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.text_area(key="assistant_questions").value.splitlines()[0] == "你是谁？"
    at.text_input(key="assistant_name").set_value("小智")
    at.text_input(key="assistant_author").set_value("张三")
    at.number_input(key="assistant_n").set_value(120)
    at.text_input(key="assistant_dataset").set_value("me")
    at.run()
    previews = [m.markdown[0].value for m in at.chat_message if m.markdown]
    assert any("我是小智" in p for p in previews)
    at.button(key="assistant_generate").click().run()
    assert not at.exception
    assert any("120" in s.value for s in at.success)
    rows = store.load_rows("me")
    assert len(rows) == 120 and "张三" in rows[0]["messages"][-1]["content"]
    assert store.read_meta("me").source == "assistant generator"


def test_english_preset_and_field_errors(workbench_home):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="assistant_lang").set_value("en").run()
    assert at.text_area(key="assistant_questions").value.splitlines()[0] == "Who are you?"
    at.text_input(key="assistant_name").set_value("")
    at.number_input(key="assistant_n").set_value(0)
    at.run()
    warnings = " ".join(w.value for w in at.warning)
    assert "Give the assistant a name." in warnings and "N must be between 1" in warnings
    assert at.button(key="assistant_generate").disabled
    assert store.list_datasets() == []
