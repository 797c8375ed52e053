"""Knowledge-base core: loaders (encodings, formats, bad files), chunking, prompting, the store
(ingest with per-file results, delete, rebuild, re-ingest, embedder mismatch) and the kb CLI.

Small documents only; the Wikipedia recall test lives in test_rag_wiki.py.
"""
from __future__ import annotations

import json

import pytest

from core.errors import UserError
from core.rag import chunking, loaders, prompting, retrieval, store
from tests.rag_samples import BOM_TEXT, GBK_TEXT, tiny_embedder, write_samples


# ----------------------------------------------------------------------------- loaders

def test_loaders_read_every_format_and_encoding(tmp_path):
    s = write_samples(tmp_path)
    gbk = loaders.load_file(s["gbk"])
    assert gbk.text == GBK_TEXT and gbk.encoding == "gb18030"
    bom = loaders.load_file(s["bom"])
    assert bom.text == BOM_TEXT and not bom.text.startswith("\ufeff")
    assert "240 trees" in loaders.load_file(s["md"]).text
    html = loaders.load_file(s["html"]).text
    assert "Tomas Reyes" in html and "color:red" not in html and "var x" not in html
    assert "name: Ingrid Solberg; role: ferry captain" in loaders.load_file(s["csv"]).text
    jsonl = loaders.load_file(s["jsonl"]).text
    assert "At pier 7." in jsonl and "assistant: Nine to five." in jsonl
    assert "42 metres" in loaders.load_file(s["pdf"]).text
    docx = loaders.load_file(s["docx"]).text
    assert "18 months" in docx and "Agnes Varley" in docx
    # the same bytes as an upload
    assert loaders.load_bytes(s["gbk"].read_bytes(), "gbk.txt").text == GBK_TEXT
    assert "42 metres" in loaders.load_bytes(s["pdf"].read_bytes(), "r.pdf").text


@pytest.mark.parametrize("case, reason", [("corrupt_pdf", "Corrupt"), ("empty", "Empty"), ("binary", "Binary")])
def test_bad_files_give_a_reason(tmp_path, case, reason):
    path = write_samples(tmp_path)[case]
    with pytest.raises(loaders.LoadError) as err:
        loaders.load_file(path)
    assert reason in str(err.value)


def test_short_gbk_is_not_mistaken_for_korean():
    text, encoding = loaders.decode_bytes("今天天气很好".encode("gbk"))
    assert text == "今天天气很好" and encoding == "gb18030"


# ----------------------------------------------------------------------------- chunking

def test_sentences_split_in_chinese_and_english():
    text = "第一句。第二句！第三句？第四句；Mr. Smith came.Then he left. Pi is 3.14 here."
    assert chunking.split_sentences(text) == [
        "第一句。", "第二句！", "第三句？", "第四句；", "Mr. Smith came.", "Then he left.", "Pi is 3.14 here."]


@pytest.mark.parametrize("size, overlap", [(60, 0), (100, 20), (200, 60)])
def test_chunks_are_exact_slices_within_size_and_overlap(size, overlap):
    text = ("知识库是一个好东西。我们用它来回答问题！" * 12 + "\n"
            + "Retrieval works on chunks. Each chunk ends at a sentence boundary when it can. " * 8)
    chunks = chunking.chunk_text(text, size, overlap)
    assert len(chunks) > 3
    for prev, cur in zip(chunks, chunks[1:]):
        assert cur.start > prev.start
        assert prev.end - cur.start <= overlap  # overlap never exceeds the setting
        if overlap == 0:
            assert cur.start >= prev.end
    for c in chunks:
        assert c.text == text[c.start:c.end] and 0 < len(c.text) <= size
    # nothing lost: the chunks cover every non-space character
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    # chunks inside the Chinese part end on a sentence mark, the others on a full stop
    chinese_end = text.index("\n")
    assert all(c.text[-1] in "。！" for c in chunks if c.end < chinese_end)
    assert all(c.text[-1] in "。！." for c in chunks)


def test_merge_spans_removes_overlap():
    text = "Alpha one. Beta two. Gamma three. Delta four. Epsilon five. Zeta six."
    chunks = chunking.chunk_text(text, 50, 20)
    rows = [c.to_dict() for c in chunks]
    assert retrieval.merge_spans(rows) == text


def test_bad_sizes_are_refused():
    with pytest.raises(UserError):
        chunking.chunk_text("x", 10, 0)
    with pytest.raises(UserError):
        chunking.chunk_text("x", 200, 150)


# ----------------------------------------------------------------------------- prompting

def test_grounded_messages_are_identical_for_every_pane_and_inputs_untouched():
    history = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
               {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Who keeps the lighthouse?"}]
    passages = [retrieval.Hit(text="The lighthouse keeper is Agnes Varley.", score=0.8, source="/d/manual.docx",
                              chunk=0, name="manual.docx")]
    base = prompting.build_grounded_messages(history, passages, prompting.default_template("en"))
    tuned = prompting.build_grounded_messages(history, [p.to_dict() for p in passages], "")
    assert base == tuned
    assert history[-1]["content"] == "Who keeps the lighthouse?"
    assert base[:3] == history[:3]
    assert "Agnes Varley" in base[-1]["content"] and "Who keeps the lighthouse?" in base[-1]["content"]
    assert "[1] (manual.docx)" in base[-1]["content"]
    zh = prompting.build_grounded_messages(history, passages, prompting.default_template("zh"))
    assert "学习以下文段" in zh[-1]["content"]
    assert prompting.build_grounded_messages(history, [], "") == history


def test_template_needs_both_placeholders_and_braces_in_text_are_safe():
    with pytest.raises(UserError):
        prompting.build_grounded_prompt("q", ["p"], "only {context}")
    out = prompting.build_grounded_prompt("what is {x}?", ["json {\"a\": 1}"], "C: {context} Q: {question}")
    assert out == 'C: [1] json {"a": 1} Q: what is {x}?'


# ----------------------------------------------------------------------------- store

@pytest.fixture(scope="module")
def mixed_kb(tmp_path_factory):
    """A base built from every sample file (one folder ingest), shared by the store tests."""
    import os
    from unittest import mock

    root = tmp_path_factory.mktemp("rag_core")
    home = root / "workspace"
    with mock.patch.dict(os.environ, {"WORKBENCH_HOME": str(home)}):  # restored as it was afterwards
        samples = write_samples(root / "docs")
        store.create_kb("mixed", chunk_size=200, overlap=30)
        events = []
        report = store.ingest("mixed", [root / "docs"], progress=events.append)
        yield {"home": home, "samples": samples, "report": report, "events": events, "root": root}


@pytest.fixture()
def in_mixed(mixed_kb, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(mixed_kb["home"]))
    return mixed_kb


def test_ingest_reports_every_file_and_keeps_going(in_mixed):
    report = in_mixed["report"]
    by_name = {f.path.rsplit("/", 1)[-1]: f for f in report.files}
    assert len(by_name) == 11
    for good in ("gbk.txt", "bom.txt", "notes.md", "page.html", "people.csv", "faq.jsonl", "report.pdf",
                 "manual.docx"):
        assert by_name[good].error is None and by_name[good].chunks >= 1, by_name[good]
    assert "Corrupt" in str(by_name["broken.pdf"].error)
    assert "Empty" in str(by_name["empty.txt"].error)
    assert "Binary" in str(by_name["blob.txt"].error)
    assert report.chunks == sum(f.chunks for f in report.files) == report.total_chunks
    assert by_name["gbk.txt"].encoding == "gb18030" and by_name["bom.txt"].encoding == "utf-8-sig"
    # progress: every file is read in order and finished once; the new chunks of all files are
    # embedded in one pass, after which the files that went in are finished
    events = in_mixed["events"]
    assert [e.file_index for e in events if e.stage == "reading"] == list(range(11))
    done = [e for e in events if e.stage == "done"]
    assert sorted(e.file_index for e in done) == list(range(11)) and all(e.result for e in done)
    embedding = [e for e in events if e.stage == "embedding"]
    assert embedding[-1].done == embedding[-1].total == report.chunks
    assert all(e.result.error is None for e in done[len(done) - 8:])   # the 8 good files end last
    as_json = report.to_dict()
    assert set(as_json) >= {"files", "chunks"} and set(as_json["files"][0]) >= {"path", "chunks", "error"}


def test_meta_remembers_embedder_and_files_are_consistent(in_mixed):
    kb = store.load_kb("mixed")
    assert kb.meta["embedder"] == "default" and kb.meta["dim"] == 384
    assert kb.index.ntotal == len(kb.chunks) == kb.meta["chunks"]
    assert not [p for p in kb.path.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_search_finds_the_right_document(in_mixed):
    kb = store.get_kb("mixed")
    hits = retrieval.search(kb, "Who is the harbour master?", k=3)
    assert hits[0].name == "page.html" and "Tomas Reyes" in hits[0].text
    dense = retrieval.search(kb, "Who is the harbour master?", k=3, mode="dense")
    assert dense[0].score > dense[-1].score - 1e-6 and dense[0].name == "page.html"
    hits = retrieval.search(kb, "How long until the boiler needs service?", k=2)
    assert hits[0].name == "manual.docx"
    # the threshold is a minimum cosine; in hybrid mode a chunk sharing the query's words stays
    assert retrieval.search(kb, "harbour master", k=5, threshold=0.99, mode="dense") == []
    kept = retrieval.search(kb, "harbour master", k=5, threshold=0.99)
    assert kept and all(h.lexical_rank is not None for h in kept) and kept[0].name == "page.html"
    with pytest.raises(UserError):
        retrieval.search(kb, "   ")


def test_reingest_unchanged_is_skipped_and_changed_is_replaced(in_mixed, tmp_path):
    samples = in_mixed["samples"]
    before = store.read_meta("mixed")
    again = store.ingest("mixed", [samples["md"]])
    assert again.files[0].note == store.NOTE_UNCHANGED and again.chunks == 0
    assert store.read_meta("mixed")["revision"] == before["revision"]  # nothing written
    samples["md"].write_text("# Orchard notes\n\nThe pear orchard at Willowmere now has 310 trees.\n")
    replaced = store.ingest("mixed", [samples["md"]])
    assert str(replaced.files[0].note).startswith("replaced")
    kb = store.get_kb("mixed")
    assert len([d for d in kb.documents if d["name"] == "notes.md"]) == 1
    texts = " ".join(r["text"] for r in kb.chunks)
    assert "310 trees" in texts and "240 trees" not in texts


def test_delete_document_removes_it_from_search(in_mixed):
    kb = store.get_kb("mixed")
    assert any(h.name == "people.csv" for h in retrieval.search(kb, "Who is the ferry captain?", k=3))
    removed = store.delete_document("mixed", "people.csv")
    assert removed["name"] == "people.csv"
    kb = store.get_kb("mixed")
    assert kb.index.ntotal == len(kb.chunks)
    hits = retrieval.search(kb, "Who is the ferry captain?", k=20)
    assert hits and all(h.name != "people.csv" and "Ingrid" not in h.text for h in hits)
    with pytest.raises(UserError):
        store.delete_document("mixed", "people.csv")


def test_rebuild_switches_to_hnsw_with_same_results(in_mixed):
    flat = [h.text for h in retrieval.search(store.get_kb("mixed"), "glacier retreat", k=3)]
    info = store.rebuild("mixed", index="hnsw")
    assert info.index_type == "hnsw"
    kb = store.get_kb("mixed")
    assert hasattr(kb.index, "hnsw")
    assert [h.text for h in retrieval.search(kb, "glacier retreat", k=3)] == flat  # tiny base: HNSW is exact
    assert store.rebuild("mixed", index="auto").index_type == "flat"


def test_neighbour_expansion_stitches_without_repeating(in_mixed, tmp_path):
    sentences = [f"Station {i} of the coastal railway has {i + 2} platforms and a clock tower." for i in range(40)]
    sentences[20] = "The ferry timetable changes every spring when the ice on the fjord melts."
    path = tmp_path / "railway.txt"
    path.write_text(" ".join(sentences))
    store.ingest("mixed", [path])
    kb = store.get_kb("mixed")
    query = "timetable changes when the ice on the fjord melts"
    plain = retrieval.search(kb, query, k=1)[0]
    assert plain.name == "railway.txt" and plain.first == plain.last == plain.chunk
    hit = retrieval.search(kb, query, k=1, neighbors=1)[0]
    assert (hit.first, hit.last) == (plain.chunk - 1, plain.chunk + 1)
    rows = [kb.chunks[kb.row_of(hit.doc_id, p)] for p in range(hit.first, hit.last + 1)]
    assert hit.text == retrieval.merge_spans(rows)
    assert hit.text in " ".join(sentences)          # a true slice of the document: no overlap repeated
    assert len(hit.text) > len(plain.text) and hit.text.count("ferry timetable") == 1
    # two hits whose windows touch become one passage
    hits = retrieval.search(kb, "Station platforms and clock tower of the coastal railway", k=6, neighbors=3)
    spans = [(h.doc_id, h.first, h.last) for h in hits]
    for i, (doc, first, last) in enumerate(spans):
        for doc2, first2, last2 in spans[i + 1:]:
            assert doc != doc2 or last < first2 - 1 or last2 < first - 1
    store.delete_document("mixed", "railway.txt")


def test_mismatched_embedder_is_refused(in_mixed, tmp_path):
    tiny = tiny_embedder(tmp_path / "models", dim=32)
    with pytest.raises(UserError) as err:
        store.ingest("mixed", [in_mixed["samples"]["md"]], embedder=str(tiny))
    assert "mismatch" in str(err.value) and "all-MiniLM-L6-v2" in str(err.value)
    # a base built with the tiny model refuses the default one, and a model that changed dimension
    store.create_kb("tiny-kb", str(tiny), chunk_size=100, overlap=10)
    assert store.read_meta("tiny-kb")["dim"] == 32
    with pytest.raises(UserError, match="mismatch"):
        store.ingest("tiny-kb", [in_mixed["samples"]["md"]], embedder="default")
    meta_path = store.kb_dir("tiny-kb") / store.META_FILE
    meta = json.loads(meta_path.read_text())
    meta["dim"] = 768
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(UserError, match="768"):
        store.ingest("tiny-kb", [in_mixed["samples"]["md"]])
    store.delete_kb("tiny-kb")


def test_names_and_missing_bases_are_user_errors(in_mixed):
    with pytest.raises(UserError):
        store.create_kb("../evil")
    with pytest.raises(UserError):
        store.create_kb("mixed")
    with pytest.raises(UserError):
        store.load_kb("nope")
    with pytest.raises(UserError):
        store.create_kb("x", "/no/such/model")


# ----------------------------------------------------------------------------- CLI

def _cli(capsys, *args) -> tuple[int, dict | None, str]:
    from core.cli import main

    code = main(list(args))
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    return code, (json.loads(lines[0]) if lines else None), out.err


def test_cli_create_ingest_query_list_delete(workbench_home, tmp_path, capsys):
    samples = write_samples(tmp_path / "docs")
    code, out, _ = _cli(capsys, "kb", "create", "cli-kb", "--json")
    assert code == 0 and out["created"]["embedder_name"] == "all-MiniLM-L6-v2"
    code, out, err = _cli(capsys, "kb", "ingest", "cli-kb", str(samples["docx"]), str(samples["empty"]),
                          str(tmp_path / "missing.txt"), "--json")
    assert code == 0
    files = out["files"]
    assert [f["chunks"] > 0 for f in files] == [True, False, False]
    assert files[0]["error"] is None and "Empty" in files[1]["error"] and "not found" in files[2]["error"]
    assert out["chunks"] == files[0]["chunks"] and "[1/3]" in err
    code, out, _ = _cli(capsys, "kb", "query", "cli-kb", "Who is the lighthouse keeper?", "--k", "2", "--json")
    assert code == 0 and set(out["hits"][0]) >= {"text", "score", "source", "chunk"}
    assert "Agnes Varley" in out["hits"][0]["text"] and out["hits"][0]["source"].endswith("manual.docx")
    code, out, _ = _cli(capsys, "kb", "list", "--json")
    assert [k["name"] for k in out["knowledge_bases"]] == ["cli-kb"]
    code, out, _ = _cli(capsys, "kb", "delete", "cli-kb", "--doc", "manual.docx", "--json")
    assert code == 0 and out["deleted_document"].endswith("manual.docx")
    code, out, _ = _cli(capsys, "kb", "delete", "cli-kb", "--json")
    assert code == 0 and out == {"deleted": "cli-kb"}
    code, out, err = _cli(capsys, "kb", "query", "cli-kb", "anything", "--json")
    assert code == 2 and out is None and "not found" in err


# ----------------------------------------------------------------------------- embedding

def test_parallel_encode_matches_one_batch_in_float32(monkeypatch):
    """A long encode (worker threads, bfloat16 where the CPU has it) gives every text its own
    vector in input order, close to a plain float32 encode; progress comes on the calling thread
    and torch's thread count is restored."""
    import threading

    import numpy as np
    import torch

    from core.rag import embeddings

    emb = embeddings.get_embedder()
    texts = [f"Passage {i}: " + "the ferry leaves pier seven at dawn " * (1 + i % 9) for i in range(150)]
    reference = emb.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    threads_before = torch.get_num_threads()
    calls = []
    vectors = emb.encode(texts, batch_size=8,
                         progress=lambda done, total: calls.append((done, total, threading.current_thread())))
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert float((vectors * reference).sum(axis=1).min()) >= 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls) and calls[-1][:2] == (150, 150)
    assert len(calls) == 5 and {c[2] for c in calls} == {threading.current_thread()}
    assert torch.get_num_threads() == threads_before


def test_parallel_encode_stopped_by_its_caller_releases_the_workers():
    """A progress callback that raises (a page rerun does) ends the encode at once: torch's thread
    count is back and the next encode runs (not blocked by the first one's workers)."""
    import torch

    from core.rag import embeddings

    emb = embeddings.get_embedder()
    texts = [f"Line {i} about harbours and ferries." for i in range(200)]
    threads = torch.get_num_threads()

    def stop(done, total):
        if done > 40:
            raise KeyboardInterrupt  # stands in for Streamlit's StopException

    with pytest.raises(KeyboardInterrupt):
        emb.encode(texts, batch_size=8, progress=stop)
    assert torch.get_num_threads() == threads
    assert emb.encode(texts[:50], batch_size=8, progress=lambda d, t: None).shape == (50, emb.dim)
