"""AppTest for views/1_Datasets.py: upload -> report -> save, abort, browse, shape, manage."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data import store

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "1_Datasets.py")


def _app() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60)


def _chat(q, a):
    return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}


def test_page_renders_empty(workbench_home):
    at = _app().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Datasets"


def test_upload_report_save(workbench_home):
    data = b'{"instruction": "hi", "input": "", "output": "I am {{name}}"}\n{oops\n'
    at = _app().run()
    at.file_uploader(key="ds_upload").set_value(("id.jsonl", data, "application/json"))
    at.text_input(key="ds_fill_name").set_value("Aria")
    at.run()
    at.button(key="ds_check").click().run()
    assert not at.exception
    assert [m.value for m in at.metric][:3] == ["2", "1", "1"]
    assert at.dataframe  # bad rows table and preview
    assert at.text_input(key="ds_save_name").value == "id"
    at.button(key="ds_save").click().run()
    assert not at.exception and not at.error
    assert any("Saved" in s.value for s in at.success)
    assert store.load_rows("id")[0]["messages"][1]["content"] == "I am Aria"


def test_abort_saves_nothing_and_user_errors_are_messages(workbench_home):
    at = _app().run()
    at.file_uploader(key="ds_upload").set_value(("empty.json", b"  ", "application/json"))
    at.run()
    at.button(key="ds_check").click().run()
    assert not at.exception and any("empty" in e.value for e in at.error)
    at.file_uploader(key="ds_upload").set_value(("x.jsonl", b'{"input": "a", "output": "b"}\n', "application/json"))
    at.run()
    at.button(key="ds_check").click().run()
    at.button(key="ds_abort").click().run()
    assert not at.exception and store.list_datasets() == []


def test_browse_shape_manage_with_data(workbench_home, tiny_model_path):
    store.save_dataset("chat", [_chat(f"q{i}", "a") for i in range(30)] + [_chat("q0", "a")], source="t",
                       extra={"kind": "chat"})
    at = _app().run()
    assert not at.exception
    at.text_input(key="ds_model_path").set_value(str(tiny_model_path)).run()
    at.button(key="ds_measure").click().run()
    assert not at.exception and not at.error
    assert {m.label for m in at.metric} >= {"p50", "p95", "max"}
    at.radio(key="ds_view").set_value("conversation").run()
    assert not at.exception
    at.button(key="ds_dup_remove").click().run()
    assert store.read_meta("chat").rows == 30
    at.button(key="ds_split_go").click().run()
    assert not at.exception and store.exists("chat-train") and store.exists("chat-eval")
    at.multiselect(key="ds_mix_sources").set_value(["chat-train", "chat-eval"]).run()
    at.button(key="ds_mix_go").click().run()
    assert not at.exception and store.read_meta("mix").rows == 30
    at.button(key="ds_export_prepare").click().run()
    assert not at.exception
    at.selectbox(key="ds_delete_name").set_value("mix").run()
    at.checkbox(key="ds_delete_sure_mix").check().run()
    at.button(key="ds_delete_go").click().run()
    assert not at.exception and not store.exists("mix")
    at.selectbox(key="ds_rename_from").set_value("chat").run()
    at.text_input(key="ds_rename_to").set_value("chat2").run()
    at.button(key="ds_rename_go").click().run()
    assert not at.exception and store.exists("chat2")


@pytest.mark.parametrize("lang", ["zh"])
def test_page_in_chinese(workbench_home, lang):
    at = _app()
    at.session_state["ui_lang"] = lang
    at.run()
    assert not at.exception and at.title[0].value == "数据集"


def _rows12():
    return [{"messages": [{"role": "system", "content": f"sys {i}"}, {"role": "user", "content": f"question {i}"},
                          {"role": "assistant", "content": f"answer {i}"}]} for i in range(12)]


def test_conversation_view_split_sizes_and_export_are_the_datasets_values(workbench_home):
    import json

    rows = _rows12()
    store.save_dataset("chat", rows, source="t", extra={"kind": "chat"})
    at = _app().run()
    at.radio(key="ds_view").set_value("conversation").run()
    at.number_input(key="ds_row_no").set_value(3).run()
    assert not at.exception
    shown = [(m.name, m.markdown[0].value if m.markdown else m.code[0].value) for m in at.chat_message]
    # the Browse tab comes first (the assistant builder's examples follow it)
    assert shown[:3] == [(m["role"], m["content"]) for m in rows[2]["messages"]]
    assert not any("question" in text for _, text in shown[3:])

    at.slider(key="ds_split_ratio").set_value(0.25)
    at.number_input(key="ds_split_seed").set_value(7)
    at.button(key="ds_split_go").click().run()
    train, ev = store.load_rows("chat-train"), store.load_rows("chat-eval")
    assert (len(train), len(ev)) == (9, 3)
    assert sorted(map(json.dumps, train + ev)) == sorted(map(json.dumps, rows))
    assert any("chat-train" in s.value and "9" in s.value and "chat-eval" in s.value and "3" in s.value
               for s in at.success)

    at.selectbox(key="ds_export_name").set_value("chat")
    at.radio(key="ds_export_format").set_value("openai").run()
    at.button(key="ds_export_prepare").click().run()
    assert not at.exception
    filename, body, skipped = at.session_state["ds_export_file"]
    assert (filename, skipped) == ("chat.openai.jsonl", 0)
    exported = [json.loads(line) for line in body.decode("utf-8").splitlines()]
    assert [r["messages"] for r in exported] == [r["messages"] for r in rows]


def _import_from_path(path, fmt="auto", entry=None):
    at = _app().run()
    at.radio(key="ds_source").set_value("path").run()
    at.text_input(key="ds_path").set_value(str(path)).run()
    if entry:
        at.selectbox(key="ds_entry").set_value(entry)
    at.selectbox(key="ds_format").set_value(fmt).run()
    at.button(key="ds_check").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def test_import_from_a_server_path_a_dataset_info_entry_and_a_forced_format(workbench_home, tmp_path):
    import json

    both = tmp_path / "both.jsonl"  # alpaca columns and a text column: auto reads alpaca, "text" forces text
    both.write_text("".join(json.dumps({"instruction": f"q{i}", "input": "", "output": f"a{i}",
                                        "text": f"plain text {i}"}) + "\n" for i in range(3)), encoding="utf-8")
    at = _import_from_path(both)
    assert [m.value for m in at.metric][:3] == ["3", "3", "0"]
    at.text_input(key="ds_save_name").set_value("auto-read")
    at.button(key="ds_save").click().run()
    assert store.load_rows("auto-read") == [_chat(f"q{i}", f"a{i}") for i in range(3)]
    assert store.read_meta("auto-read").extra["kind"] == "sft"

    at = _import_from_path(both, fmt="text")
    at.text_input(key="ds_save_name").set_value("forced-text")
    at.button(key="ds_save").click().run()
    assert store.load_rows("forced-text") == [{"text": f"plain text {i}"} for i in range(3)]
    assert store.read_meta("forced-text").extra["kind"] == "pt"

    folder = tmp_path / "lf"
    folder.mkdir()
    (folder / "talks.json").write_text(json.dumps([
        {"chat": [{"speaker": "human", "words": f"hi {i}"}, {"speaker": "bot", "words": f"hello {i}"}]}
        for i in range(4)]), encoding="utf-8")
    (folder / "other.json").write_text(json.dumps([{"instruction": "x", "output": "y"}]), encoding="utf-8")
    (folder / "dataset_info.json").write_text(json.dumps({
        "other": {"file_name": "other.json"},
        "talks": {"file_name": "talks.json", "formatting": "sharegpt", "columns": {"messages": "chat"},
                  "tags": {"role_tag": "speaker", "content_tag": "words", "user_tag": "human",
                           "assistant_tag": "bot"}}}), encoding="utf-8")
    at = _import_from_path(folder, entry="talks")
    assert at.selectbox(key="ds_entry").options == ["other", "talks"]
    assert [m.value for m in at.metric][:3] == ["4", "4", "0"]
    at.text_input(key="ds_save_name").set_value("talks")
    at.button(key="ds_save").click().run()
    assert store.load_rows("talks") == [_chat(f"hi {i}", f"hello {i}") for i in range(4)]
    assert store.read_meta("talks").extra["kind"] == "sft"
