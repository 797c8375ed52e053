"""Messages kept for later say themselves in the reader's language: why a knowledge-base file was
skipped (Knowledge page in 中文, CLI JSON in English), why a queued run waits (Train page in 中文,
status.json in English), what is wrong inside a bad dataset row (Datasets page in 中文)."""
from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.settings import save_setting

VIEWS = Path(__file__).resolve().parents[1] / "views"


def _texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


# ----------------------------------------------------------------------------- knowledge base

def test_skipped_file_reasons_in_english_for_the_cli_and_chinese_on_request(workbench_home, tmp_path):
    from core.rag import store
    from tests.rag_samples import tiny_embedder

    store.create_kb("docs", tiny_embedder(tmp_path / "emb"), chunk_size=100, overlap=10)
    good = tmp_path / "a.txt"
    good.write_text("The harbour opens at eight.", encoding="utf-8")
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.txt").write_bytes(b"")
    report = store.ingest("docs", [good, tmp_path / "blob.txt", tmp_path / "empty.txt"])
    good_result, blob, empty = report.files
    assert blob.error.render("zh") == "这是二进制文件，不是文本。请先把它转换成 txt、pdf 或 docx。"
    assert empty.error.render("zh") == "空文件。"
    as_json = report.to_dict()["files"]   # what `python -m core kb ingest --json` prints
    assert [f["error"] for f in as_json] == [None, "Binary file, not text. Convert it to txt, pdf or docx first.",
                                             "Empty file."]
    again = store.ingest("docs", [good])
    assert again.files[0].note.render("zh") == "未改动，已在知识库中"
    assert again.to_dict()["files"][0]["note"] == "unchanged, already in the knowledge base"


def test_knowledge_page_in_chinese_says_why_files_were_skipped(workbench_home, tmp_path):
    from core.rag import store
    from tests.rag_samples import tiny_embedder

    save_setting("lang", "zh")
    store.create_kb("docs", tiny_embedder(tmp_path / "emb"), chunk_size=100, overlap=10)
    at = AppTest.from_file(str(VIEWS / "5_Knowledge.py"), default_timeout=120)
    at.run()
    assert not at.exception
    at.file_uploader(key="kb_uploads").set_value([
        ("blob.txt", bytes(range(256)) * 8, "application/octet-stream"),
        ("empty.txt", b"", "text/plain"),
        ("a.txt", "港口八点开门。".encode(), "text/plain"),
    ]).run()
    at.button(key="kb_ingest").click().run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "结果" in df.value.columns)   # the per-file results
    statuses = dict(zip(table["文件"], table["结果"]))
    assert statuses["blob.txt"].startswith("这是二进制文件，不是文本。"), statuses
    assert statuses["empty.txt"] == "空文件。" and statuses["a.txt"] == "已加入"


def test_folder_sync_failure_shown_in_chinese_from_the_saved_report(workbench_home, tmp_path):
    from core.rag import store, sync
    from tests.rag_samples import tiny_embedder

    folder = tmp_path / "follow"
    folder.mkdir()
    (folder / "blob.txt").write_bytes(bytes(range(256)) * 8)
    store.create_kb("docs", tiny_embedder(tmp_path / "emb"), chunk_size=100, overlap=10)
    report = sync.sync_folder("docs", folder)
    assert report.to_dict()["failed"][0]["error"].startswith("Binary file, not text.")   # the CLI's JSON
    save_setting("lang", "zh")
    at = AppTest.from_file(str(VIEWS / "5_Knowledge.py"), default_timeout=120)
    at.run()      # a new session: the page shows the report kept in meta.json
    assert not at.exception
    table = next(df.value for df in at.dataframe if "结果" in df.value.columns)
    assert list(table["结果"]) == ["这是二进制文件，不是文本。请先把它转换成 txt、pdf 或 docx。"]


# ----------------------------------------------------------------------------- train queue

def _write_run(run_id: str, state: str, created: float):
    from core.train import runs

    runs.run_dir(run_id).mkdir(parents=True)
    runs.write_status(runs.RunStatus(run_id=run_id, status=state, created=created, devices=["0"]))


def test_queued_run_says_why_it_waits_in_both_languages(workbench_home):
    from core.train import queue, runs

    workbench_home.mkdir(parents=True, exist_ok=True)
    _write_run("run-a", "running", time.time() - 10)   # no pid yet: taken as starting, so it stays live
    _write_run("run-b", "queued", time.time())
    ok, reason, status = queue.claim_turn("run-b")
    assert not ok and status.status == "queued"
    assert reason.render("zh") == "在设备 0 上等待正在运行的 run-a"
    saved = runs.read_status("run-b")
    assert saved.queue_reason == "waiting for run-a (running) on device(s) 0"   # the CLI's text, unchanged
    assert queue.queue_reason(saved).render("zh") == "在设备 0 上等待正在运行的 run-a"

    save_setting("lang", "zh")
    at = AppTest.from_file(str(VIEWS / "2_Train.py"), default_timeout=120)
    at.run()
    at.selectbox(key="train_selected_run").set_value("run-b").run()
    assert not at.exception
    assert "排队中：在设备 0 上等待正在运行的 run-a。" in _texts(at.info), _texts(at.info)


# ----------------------------------------------------------------------------- dataset rows

def test_bad_field_row_detail_in_chinese_on_the_datasets_page(workbench_home):
    from core.data.importer import analyze_bytes

    data = ('{"instruction": "hi", "output": "a"}\n{"instruction": ["x"], "output": "b"}\n'
            '{"instruction": "hey", "output": "c"}\n').encode()
    bad = analyze_bytes(data, "x.jsonl").bad_rows[0]
    assert bad.reason == "a field has the wrong type: instruction is a list, expected text"   # CLI / JSON
    assert bad.detail_text("zh") == "instruction 是 list 类型，应为文本"

    save_setting("lang", "zh")
    at = AppTest.from_file(str(VIEWS / "1_Datasets.py"), default_timeout=60).run()
    at.file_uploader(key="ds_upload").set_value(("x.jsonl", data, "application/json")).run()
    at.button(key="ds_check").click().run()
    assert not at.exception
    reasons = " ".join(" ".join(map(str, df.value.iloc[:, -1])) for df in at.dataframe)
    assert "instruction 是 list 类型，应为文本" in reasons, reasons
