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


def _side_by_side(tiny_model_path, monkeypatch, fake_stream_many, lang: str = "en") -> AppTest:
    """The Chat page in side-by-side mode (base | tuned) with ``fake_stream_many`` as the batched
    generation, in ``lang`` (the workspace default language)."""
    from core.settings import save_setting
    from core.train.runs import AdapterRef

    save_setting("lang", lang)
    monkeypatch.setenv("MODEL_DIRS", str(tiny_model_path))
    adapter = AdapterRef("run-1", "adapter", "/nowhere/run-1/adapter", 10, str(tiny_model_path))
    monkeypatch.setattr("core.train.runs.list_adapters", lambda *a, **k: [adapter])

    class FakeModel:
        def attach(self, path):
            return "run_1"

    monkeypatch.setattr("ui.models.get_loaded_model", lambda model, quant: FakeModel())
    monkeypatch.setattr("core.chat.batch.stream_many", fake_stream_many)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    at.radio(key="chat_mode").set_value("side").run()
    at.selectbox(key="chat_adapter").set_value(adapter.label).run()
    return at


def _template_fails_after_tuned_answer(lm, requests, settings, stop=None):
    """Row 1 (tuned) answers and ends, then the generation fails on the base row's chat template."""
    from core.chat.batch import StreamEvent

    yield StreamEvent(1, "tuned answer")
    yield StreamEvent(1, done=True)
    raise UserError("err.models.template_failed", file="chat_template.jinja", reason="TemplateError: boom",
                    hint="err.models.template.hint")


def test_side_by_side_failure_marks_only_the_failed_pane_and_leaves_no_stop(workbench_home, tiny_model_path,
                                                                            monkeypatch):
    at = _side_by_side(tiny_model_path, monkeypatch, _template_fails_after_tuned_answer)
    at.chat_input(key="chat_input").set_value("Who are you?").run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert history["base"] == []  # the failed pane: its error shown, no "(stopped)" reply, no half question
    assert [m["content"] for m in history["tuned"]] == ["Who are you?", "tuned answer"]
    assert any("chat_template.jinja fails" in e for e in _texts(at.error))
    assert not any("(stopped)" in str(m.value) for m in at.markdown)
    assert "chat_stop" not in [b.key for b in at.button]


def test_side_by_side_failure_of_every_pane_in_chinese_keeps_no_entry(workbench_home, tiny_model_path, monkeypatch):
    def fails_at_once(lm, requests, settings, stop=None):
        raise UserError("err.models.template_failed", file="chat_template.jinja", reason="TemplateError: boom",
                        hint="err.models.template.hint")
        yield  # a generator, like the real one

    at = _side_by_side(tiny_model_path, monkeypatch, fails_at_once, lang="zh")
    at.chat_input(key="chat_input").set_value("你是谁？").run()
    assert not at.exception
    history = at.session_state["chat_history"]
    assert history["base"] == [] and history["tuned"] == []
    errors = _texts(at.error)
    assert len(errors) == 2 and all("chat_template.jinja 中的对话模板出错" in e for e in errors), errors
    assert "chat_stop" not in [b.key for b in at.button]
