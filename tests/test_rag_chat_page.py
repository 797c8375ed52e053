"""AppTest for the Chat page's RAG switch (views/6_Chat.py + ui/rag_panel.py): the switch lists
knowledge bases, the template can be edited and reset, a question is grounded in the retrieved
passages and the sources are shown under the answer."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.rag import prompting, store
from tests.rag_samples import write_samples

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "6_Chat.py")


@pytest.fixture()
def chat_home(workbench_home, tiny_model_path, tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_DIRS", str(tiny_model_path))
    samples = write_samples(tmp_path / "docs")
    store.create_kb("harbour", chunk_size=200, overlap=20)
    store.ingest("harbour", [samples["html"], samples["docx"], samples["md"]])
    return workbench_home


def test_rag_switch_grounds_the_question_and_shows_sources(chat_home, monkeypatch):
    seen: list[list[dict]] = []

    def fake_stream_reply(lm, messages, settings, adapter=None, stop=None):
        seen.append(messages)
        yield "Tomas Reyes."

    monkeypatch.setattr("core.chat.generate.stream_reply", fake_stream_reply)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception
    assert "rag_kb" not in [s.key for s in at.selectbox]  # switch off: no knowledge-base widgets
    at.toggle(key="rag_enabled").set_value(True).run()
    assert not at.exception
    assert at.selectbox(key="rag_kb").options == ["harbour"]
    assert at.text_area(key="rag_template").value == prompting.default_template("en")
    at.slider(key="rag_threshold").set_value(0.0).run()

    at.chat_input(key="chat_input").set_value("Who is the harbour master?").run()
    assert not at.exception
    grounded = seen[-1][-1]["content"]
    assert "Tomas Reyes" in grounded and "Question: Who is the harbour master?" in grounded
    answer = at.session_state["chat_history"]["single"][-1]
    assert answer["content"] == "Tomas Reyes." and answer["sources"][0]["name"] == "page.html"
    assert any(e.label.startswith("Sources (") for e in at.expander)
    # what the user typed stays as typed in the visible history
    assert at.session_state["chat_history"]["single"][-2]["content"] == "Who is the harbour master?"


def test_template_edit_is_kept_and_reset_restores_the_default(chat_home):
    # (Switching the UI language inside AppTest trips over the Chat page's own format_func
    # selectboxes, so the zh default is checked in test_rag_core; here the edit/reset cycle.)
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    at.toggle(key="rag_enabled").set_value(True).run()
    assert not at.exception
    at.text_area(key="rag_template").input("Notes: {context}\nQ: {question}").run()
    at.slider(key="rag_k").set_value(3).run()
    assert at.text_area(key="rag_template").value == "Notes: {context}\nQ: {question}"  # an edit is kept
    at.button(key="rag_template_reset").click().run()
    assert not at.exception
    assert at.text_area(key="rag_template").value == prompting.default_template("en")
    at.text_area(key="rag_template").input("no placeholders").run()
    at.chat_input(key="chat_input").set_value("Who is the harbour master?").run()
    assert not at.exception  # a broken template is a message, never a traceback
    shown = [e.value for e in at.error] + [e.value for e in at.sidebar.error]
    assert any("The prompt template lacks {context} and {question}." in text for text in shown), shown
