"""AppTest for views/4_Compare.py: empty workspace, a comparison with scores and a plot, the
dataset eval split with eval loss, refusal of another base's checkpoints, merge and zip."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from compare_fixtures import ws  # noqa: F401 (ws is a fixture)

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "4_Compare.py")


def _app() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=180)


def test_page_renders_in_an_empty_workspace(workbench_home):
    at = _app().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Compare checkpoints"
    assert at.button(key="cmp_build_demo")


def test_compare_typed_prompts_with_references(ws):
    at = _app().run()
    assert not at.exception
    assert at.selectbox(key="cmp_model").value == "demo-tiny"  # the run's base is picked
    ck = at.multiselect(key=f"cmp_ck_{ws.run_id}")
    # distinct checkpoints of the newest completed run: checkpoint-10 and the final adapter (= step 20)
    assert [Path(p).name for p in ck.value] == ["checkpoint-10", "adapter"]
    ck.set_value(ck.value[:2])
    at.text_area(key="cmp_typed").set_value("Who are you? ||| 我是小智，由张三开发的个人助手。\n你好")
    at.number_input(key="cmp_max_new").set_value(16)
    at.button(key="cmp_run").click().run()
    assert not at.exception and not at.error
    frames = at.dataframe
    assert len(frames) == 2  # scores per model + answers side by side
    answers = frames[1].value
    assert list(answers.columns)[:3] == ["Prompt", "Reference", "base"] and len(answers) == 2
    assert "BLEU" in frames[0].value.columns
    assert at.get("plotly_chart")
    assert at.get("download_button")
    assert (ws.home / "runs" / ws.run_id / "compare").is_dir()
    # the per-prompt view switches to the reference for highlighting
    at.radio(key="cmp_against").set_value("reference").run()
    assert not at.exception


def test_dataset_eval_split_with_eval_loss(ws):
    at = _app().run()
    at.multiselect(key=f"cmp_ck_{ws.run_id}").set_value([])
    at.radio(key="cmp_source").set_value("dataset").run()
    assert at.selectbox(key="cmp_dataset").value == "assistant"
    assert any("held out" in c.value for c in at.caption)
    at.number_input(key="cmp_limit").set_value(2)
    at.number_input(key="cmp_max_new").set_value(8)
    at.button(key="cmp_run").click().run()
    assert not at.exception and not at.error
    assert "Eval loss" in at.dataframe[0].value.columns


def test_other_base_is_refused_with_a_message(ws):
    at = _app().run()
    at.selectbox(key="cmp_model").set_value("other-tiny").run()
    ck = at.multiselect(key=f"cmp_ck_{ws.run_id}")
    assert ck.value == []  # not picked by default for another base
    ck.set_value(ck.options[:1])
    at.button(key="cmp_run").click().run()
    assert not at.exception
    assert at.error and "different base" in at.error[0].value


def test_merge_and_zip(ws):
    at = _app().run()
    at.text_input(key=f"cmp_export_name_{ws.run_id}/adapter").set_value("page-export")
    at.button(key="cmp_merge").click().run()
    assert not at.exception and not at.error
    assert at.success and "page-export" in at.success[0].value
    assert (ws.home / "exports" / "page-export" / "config.json").is_file()
    at.button(key="cmp_zip_prepare").click().run()
    assert not at.exception
    assert any(b.proto.label.startswith("Download") for b in at.get("download_button"))


def test_a_saved_comparison_reopens_with_its_table(ws):
    from core.chat import compare as C

    columns = C.model_columns([f"{ws.run_id}/checkpoint-10"])
    saved = C.CompareResult(model="demo-tiny", quantization="none", settings={"max_new_tokens": 16},
                            columns=columns, prompts=[C.PromptItem("Who are you?", "I am Kit."), C.PromptItem("Hi")],
                            answers={columns[0].label: ["base one", "base two"],
                                     columns[1].label: ["tuned one", "tuned two"]},
                            created=86400.0)
    path = C.save_result(saved)[0]
    at = _app().run()
    assert not at.exception
    from datetime import datetime

    when = datetime.fromtimestamp(86400.0).strftime("%Y-%m-%d %H:%M")
    assert f"{when} · {ws.run_id} · 2 models · 2 prompts" in at.selectbox(key="cmp_history").options
    at.selectbox(key="cmp_history").set_value(path)
    at.button(key="cmp_history_open").click().run()
    assert not at.exception and not at.error
    table = next(f.value for f in at.dataframe if "Prompt" in f.value.columns)  # the answers side by side
    assert list(table.columns) == ["Prompt", "Reference", "base", columns[1].label]
    assert table.values.tolist() == [["Who are you?", "I am Kit.", "base one", "tuned one"],
                                     ["Hi", "", "base two", "tuned two"]]


def test_per_prompt_highlight_marks_only_the_differing_words(ws):
    import re

    from core.chat import compare as C

    columns = C.model_columns([f"{ws.run_id}/checkpoint-10"])
    saved = C.CompareResult(model="demo-tiny", quantization="none", settings={"max_new_tokens": 16},
                            columns=columns, prompts=[C.PromptItem("What colour is the sky?")],
                            answers={columns[0].label: ["the sky is blue today"],
                                     columns[1].label: ["the sky is deep red today"]})
    path = C.save_result(saved)[0]
    at = _app().run()
    at.selectbox(key="cmp_history").set_value(path)
    at.button(key="cmp_history_open").click().run()
    assert not at.exception and not at.error
    tuned = next(m.value for m in at.markdown if "deep" in m.value and "<div" in m.value)
    assert re.findall(r"<mark[^>]*>(.*?)</mark>", tuned) == ["deep red"]
    assert re.sub(r"<[^>]+>", "", tuned) == "the sky is deep red today"
    base = next(m.value for m in at.markdown if "blue" in m.value and "<div" in m.value)
    assert "<mark" not in base


def test_adapter_zip_holds_the_adapter_files(ws):
    import io
    import zipfile

    at = _app().run()
    at.button(key="cmp_zip_prepare").click().run()
    assert not at.exception and not at.error
    adapter_path, filename, data = at.session_state["cmp_zip"]
    assert filename.endswith(".zip") and any(b.proto.label.startswith("Download") for b in at.get("download_button"))
    folder = Path(adapter_path)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = {Path(n).name: n for n in archive.namelist()}
        assert {"adapter_config.json", "adapter_model.safetensors"} <= set(names)
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            assert archive.read(names[name]) == (folder / name).read_bytes()
