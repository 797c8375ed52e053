"""AppTest for views/5_Knowledge.py: create a base, upload files (a bad one among them) with
per-file results, preview chunking, search with scores, delete a document, refuse a bad name."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.rag_samples import GBK_TEXT, write_samples

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "5_Knowledge.py")


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.run()
    assert not at.exception
    return at


def _table(at: AppTest, column: str):
    """The dataframe that has ``column`` (report: Result, preview: Text, documents: Added)."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def _texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_knowledge_page_full_flow(workbench_home, tmp_path):
    samples = write_samples(tmp_path / "docs")
    at = _app()
    assert "No knowledge base yet" in _texts(at.info)

    # a bad name is a message, not a traceback
    at.text_input(key="kb_new_name").input("../bad")
    at.button(key="FormSubmitter:kb_create_form-Create").click().run()
    assert not at.exception and "Invalid knowledge base name" in _texts(at.error)

    at.text_input(key="kb_new_name").input("notes")
    at.number_input(key="kb_new_size").set_value(200)
    at.number_input(key="kb_new_overlap").set_value(20)
    at.button(key="FormSubmitter:kb_create_form-Create").click().run()
    assert not at.exception
    assert "notes created" in _texts(at.success)
    assert at.selectbox(key="kb_selected").value == "notes"
    assert [m.value for m in at.metric][:2] == ["0", "0"]

    # upload: three good files and a corrupt PDF; the bad one is reported, the rest go in
    files = [(p.name, p.read_bytes(), "application/octet-stream")
             for p in (samples["gbk"], samples["docx"], samples["corrupt_pdf"], samples["html"])]
    at.file_uploader(key="kb_uploads").set_value(files).run()
    at.button(key="kb_ingest").click().run()
    assert not at.exception
    assert "from 3 of 4 files" in _texts(at.success)
    assert "1 file(s) were skipped" in _texts(at.warning)
    table = _table(at, "Result")
    statuses = dict(zip(table.iloc[:, 0], table.iloc[:, 2]))
    assert "Corrupt" in statuses["broken.pdf"] and statuses["gbk.txt"] == "added"
    assert [m.value for m in at.metric][0] == "3"

    # a server folder goes in too (files already present are reported as unchanged)
    at.text_input(key="kb_server_path").input(str(samples["md"].parent))
    at.button(key="kb_ingest").click().run()
    assert not at.exception
    assert [m.value for m in at.metric][0] == "11"  # 8 readable files, 3 uploads were new sources

    # preview the chunks of a file before ingesting it
    at.file_uploader(key="kb_preview_upload").set_value(("gbk.txt", GBK_TEXT.encode("gbk"), "text/plain")).run()
    assert not at.exception
    assert "encoding gb18030" in _texts(at.info)
    preview = _table(at, "Text")
    assert "".join(preview.iloc[:, 2]).startswith("知识库让模型回答有依据。")

    # search: scores, file name and chunk position
    at.text_input(key="kb_query").input("Who is the harbour master?")
    at.button(key="FormSubmitter:kb_search_form-Search").click().run()
    assert not at.exception
    headers = [m.value for m in at.markdown if str(m.value).startswith("**#")]
    assert headers and "page.html" in headers[0] and "score" in headers[0]
    passages = " ".join(h.proto.body for h in at.get("html"))
    assert "Tomas Reyes" in passages and "<mark" in passages   # the matching sentence is marked
    assert any("meaning #" in str(c.value) and "words #" in str(c.value) for c in at.caption)

    # delete a document: it disappears from the list and from search
    docs = _table(at, "Added")
    n_docs = len(docs)
    labels = at.selectbox(key="kb_doc_pick").options
    target = next(o for o in labels if "page.html" in o and "docs" not in o)
    at.selectbox(key="kb_doc_pick").select(target).run()
    at.button(key="kb_doc_delete").click().run()
    assert not at.exception
    assert "Removed page.html" in _texts(at.success)
    assert len(_table(at, "Added")) == n_docs - 1

    # delete the base (needs the confirmation box)
    at.checkbox(key="kb_delete_confirm").check().run()
    at.button(key="kb_delete").click().run()
    assert not at.exception and "deleted" in _texts(at.success)
    assert "No knowledge base yet" in _texts(at.info)


def test_rebuild_with_reembedding_and_hnsw_keeps_the_top_hit(workbench_home, tmp_path, monkeypatch):
    from core.rag import embeddings, retrieval, store

    samples = write_samples(tmp_path / "docs")
    store.create_kb("notes", chunk_size=200, overlap=20)
    store.ingest("notes", [samples["md"].parent])
    query = "Who is the harbour master?"
    before = retrieval.search(store.get_kb("notes"), query, k=3)
    assert store.read_meta("notes")["index_type"] == "flat"
    encoded = []
    real_get = embeddings.get_embedder

    def counting_get(*args, **kwargs):
        emb = real_get(*args, **kwargs)
        real_encode = emb.encode
        monkeypatch.setattr(emb, "encode", lambda texts, **kw: encoded.append(len(texts)) or real_encode(texts, **kw))
        return emb

    at = _app()
    monkeypatch.setattr(embeddings, "get_embedder", counting_get)
    at.selectbox(key="kb_rebuild_index").set_value("hnsw")
    at.checkbox(key="kb_rebuild_reembed").check()
    at.button(key="kb_rebuild").click().run()
    assert not at.exception and not at.error
    meta = store.read_meta("notes")
    assert (meta["index_choice"], meta["index_type"]) == ("hnsw", "hnsw")
    assert encoded == [len(store.get_kb("notes").chunks)]  # every chunk embedded again, once
    assert "hnsw" in [m.value for m in at.metric]
    assert any("hnsw" in s.value.lower() for s in at.success)
    after = retrieval.search(store.get_kb("notes"), query, k=3)
    assert (after[0].source, after[0].chunk, after[0].text) == (before[0].source, before[0].chunk, before[0].text)
    assert after[0].score == pytest.approx(before[0].score, abs=1e-4)
