"""Chat page (views/6_Chat.py) when things break: a broken model folder is a message naming the
file with no Stop button left behind; in side-by-side mode a pane whose answer fails shows the
error and is not marked "stopped", while the other pane answers."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.errors import UserError

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "6_Chat.py")


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


@pytest.fixture()
def broken_model(workbench_home, tiny_model_path, tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "models" / "broken-tiny"
    shutil.copytree(tiny_model_path, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    monkeypatch.setenv("MODEL_DIRS", str(folder))
    return folder


def test_broken_model_folder_is_a_message_and_no_stop_button_stays(broken_model):
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    at.chat_input(key="chat_input").set_value("hi").run()
    assert not at.exception
    errors = _texts(at.error)
    assert any("model.safetensors is damaged" in e and "download the model folder again" in e for e in errors), errors
    assert "chat_stop" not in [b.key for b in at.button]
    assert at.session_state["chat_history"]["single"] == []  # no half question left in the history


def test_side_by_side_failure_marks_only_the_failed_pane_and_leaves_no_stop(workbench_home, tiny_model_path,
                                                                            monkeypatch):
    from core.train.runs import AdapterRef

    monkeypatch.setenv("MODEL_DIRS", str(tiny_model_path))
    adapter = AdapterRef("run-1", "adapter", "/nowhere/run-1/adapter", 10, str(tiny_model_path))
    monkeypatch.setattr("core.train.runs.list_adapters", lambda *a, **k: [adapter])

    class FakeModel:
        def attach(self, path):
            return "run_1"

    monkeypatch.setattr("ui.models.get_loaded_model", lambda model, quant: FakeModel())

    def fake_stream_reply(lm, messages, settings, adapter=None, stop=None):
        if adapter is None:
            raise UserError("err.models.template_failed", file="chat_template.jinja", reason="TemplateError: boom",
                            hint="err.models.template.hint")
        yield "tuned answer"

    monkeypatch.setattr("core.chat.generate.stream_reply", fake_stream_reply)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    at.radio(key="chat_mode").set_value("side").run()
    at.selectbox(key="chat_adapter").set_value(adapter.label).run()
    at.chat_input(key="chat_input").set_value("Who are you?").run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert history["base"] == []  # the failed pane: its error shown, no "(stopped)" reply recorded
    assert [m["content"] for m in history["tuned"]] == ["Who are you?", "tuned answer"]
    assert any("chat_template.jinja fails" in e for e in _texts(at.error))
    assert "chat_stop" not in [b.key for b in at.button]
