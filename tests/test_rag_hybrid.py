"""Hybrid retrieval, the lexical index kept in step with the vectors, the upgrade of an old base,
folder sync, the optional reranker and the highlighted sentences of a source.

Tests that need meaning use the bundled MiniLM; the bookkeeping ones use a tiny random
sentence-transformers model (tests/rag_samples.tiny_embedder) so they stay fast.
"""
from __future__ import annotations

import itertools
import json
import shutil

import pytest

from core.errors import UserError
from core.rag import lexical, retrieval, store, sync
from tests.rag_samples import GBK_TEXT, tiny_embedder

# Twelve lighthouses described alike, told apart by their names: documents for the bookkeeping tests.
KEEPERS = [
    ("Varrow Point", "Agnes Varley"), ("Morrick Head", "Tobias Renn"), ("Skelda Rock", "Ilse Marten"),
    ("Carrow Ness", "Piet Lindqvist"), ("Dunmere Light", "Oona Falk"), ("Hollin Spit", "Bram Oster"),
    ("Gault Reef", "Sigrun Alby"), ("Penhallow", "Ewan Trask"), ("Rusk Island", "Marit Solve"),
    ("Tarnby Bar", "Nils Ekdahl"), ("Whinmoor", "Hedda Brun"), ("Quarle Sound", "Jory Pascoe"),
]


def _lighthouse_text(place: str, keeper: str) -> str:
    return (f"The lighthouse at {place} stands on a granite ledge above the sea. Its lamp is lit at dusk "
            f"and put out at dawn, and its keeper, {keeper}, logs the weather every four hours. "
            f"Supply boats call at {place} once a fortnight when the sea allows.")


# Twelve spare parts whose codes are the same four digits in another order: to a sentence
# embedding the codes look alike, so dense retrieval mixes the parts up, while the question
# shares its one rare word, the code, with exactly one passage.
PARTS = list(zip(["QZ" + "".join(p) for p in list(itertools.permutations("1478"))[:12]],
                 ["port boiler room", "starboard boiler room", "aft pump room", "forward hold", "engine room",
                  "galley", "bridge", "steering gear room", "ballast deck", "fuel store", "crane house",
                  "windlass locker"]))


def test_hybrid_beats_dense_where_the_answer_shares_words(workbench_home, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, (code, place) in enumerate(PARTS):
        (folder / f"{i:02d}.txt").write_text(f"Spare part {code} is stored in the {place}, on the second shelf.",
                                             encoding="utf-8")
    store.create_kb("parts", chunk_size=200, overlap=20)
    store.ingest("parts", [folder])
    kb = store.load_kb("parts")

    def recall(mode: str) -> float:
        return sum(place in retrieval.search(kb, f"Where is {code} kept?", k=1, mode=mode)[0].text
                   for code, place in PARTS) / len(PARTS)

    dense, hybrid = recall("dense"), recall("hybrid")
    assert hybrid == 1.0 and dense <= 0.75, (dense, hybrid)
    hit = retrieval.search(kb, "Where is QZ1847 kept?", k=3, mode="hybrid")[0]
    assert "QZ1847" in hit.text and hit.lexical_rank == 1 and hit.dense_rank is not None
    assert hit.mode == "hybrid" and -1 <= hit.score <= 1


def test_zh_lexical_finds_a_chinese_passage_by_its_words(workbench_home, tmp_path):
    docs = tmp_path / "zh"
    docs.mkdir()
    (docs / "plateau.txt").write_text(GBK_TEXT, encoding="utf-8")
    (docs / "tea.txt").write_text("龙井茶产于杭州西湖一带，以色绿、香郁、味甘、形美著称。", encoding="utf-8")
    (docs / "en.txt").write_text("The Kestrel Valley dam was finished in 1931.", encoding="utf-8")
    store.create_kb("zh", tiny_embedder(tmp_path / "emb"), chunk_size=200, overlap=20)
    store.ingest("zh", [docs])
    kb = store.load_kb("zh")
    hits = retrieval.search(kb, "雅鲁藏布江流经哪里？", k=3, mode="lexical")
    assert hits and hits[0].name == "plateau.txt" and hits[0].lexical_rank == 1
    assert [h.name for h in retrieval.search(kb, "西湖龙井", k=3, mode="lexical")][:1] == ["tea.txt"]
    assert "高原" in lexical.tokenize("青藏高原") and "世界屋脊" not in lexical.tokenize("龙井茶")


def _hit_lists(kb) -> list[list[tuple]]:
    out = []
    for query in ("keeper weather", "granite ledge Morrick", "supply boats fortnight", "Hedda Brun"):
        for mode in retrieval.MODES:
            out.append([(h.text, h.dense_rank, h.lexical_rank, round(h.score, 5),
                         None if h.lexical_score is None else round(h.lexical_score, 5))
                        for h in retrieval.search(kb, query, k=5, mode=mode)])
    return out


def test_add_and_delete_keep_both_indexes_as_a_full_rebuild(workbench_home, tmp_path):
    emb = tiny_embedder(tmp_path / "emb")
    folder = tmp_path / "docs"
    folder.mkdir()
    paths = []
    for i, (place, keeper) in enumerate(KEEPERS[:6]):
        paths.append(folder / f"{i}.txt")
        paths[-1].write_text(_lighthouse_text(place, keeper), encoding="utf-8")
    store.create_kb("grown", emb, chunk_size=120, overlap=20)
    store.ingest("grown", paths[:4])
    store.delete_document("grown", str(paths[1].resolve()))
    store.ingest("grown", paths[4:])
    store.create_kb("fresh", emb, chunk_size=120, overlap=20)
    store.ingest("fresh", [paths[0], paths[2], paths[3], paths[4], paths[5]])
    grown, fresh = store.load_kb("grown"), store.load_kb("fresh")
    assert [r["text"] for r in grown.chunks] == [r["text"] for r in fresh.chunks]
    assert grown.lexical.indexed_rows() == grown.index.ntotal == len(grown.chunks)
    assert _hit_lists(grown) == _hit_lists(fresh)
    assert not any("Tobias Renn" in h.text for h in retrieval.search(grown, "Tobias Renn", k=5, mode="lexical"))


def test_an_old_base_without_lexical_index_is_upgraded_once(workbench_home, tmp_path):
    store.create_kb("old", tiny_embedder(tmp_path / "emb"), chunk_size=200, overlap=20)
    doc = tmp_path / "a.txt"
    doc.write_text(_lighthouse_text("Skelda Rock", "Ilse Marten"), encoding="utf-8")
    store.ingest("old", [doc])
    folder = store.kb_dir("old")
    shutil.rmtree(folder / store.LEXICAL_DIR)          # as saved by the previous version
    meta = json.loads((folder / store.META_FILE).read_text())
    meta["format_version"] = 1
    (folder / store.META_FILE).write_text(json.dumps(meta))
    revision = meta["revision"]

    kb = store.get_kb("old")
    assert [n.key for n in kb.notes] == ["knowledge.upgraded_lexical"]
    assert "word (BM25) index was built" in str(kb.notes[0]) and "关键词" in kb.notes[0].render("zh")
    assert (folder / store.LEXICAL_DIR / lexical.PARAMS_FILE).is_file()
    assert store.read_meta("old")["format_version"] == store.FORMAT_VERSION and kb.revision == revision + 1
    assert "Ilse Marten" in retrieval.search(kb, "Ilse Marten", k=1, mode="lexical")[0].text
    assert store.load_kb("old").notes == []             # upgraded for good


def test_sync_adds_updates_removes_and_survives_a_bad_file(workbench_home, tmp_path):
    folder = tmp_path / "follow"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha harbour opens at nine.", encoding="utf-8")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.md").write_text("# Beta\n\nBeta pier closes at six.", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog" + bytes(range(100)))
    (folder / "photo.jpg").write_bytes(b"\xff\xd8 not a document")   # not a supported type: ignored
    outside = tmp_path / "manual.txt"
    outside.write_text("An uploaded manual that is not in the folder.", encoding="utf-8")
    store.create_kb("follow", tiny_embedder(tmp_path / "emb"), chunk_size=100, overlap=10)
    store.ingest("follow", [outside])

    with pytest.raises(UserError) as err:
        sync.sync_folder("follow")
    assert err.value.key == "err.kb.sync_no_folder"

    first = sync.sync_folder("follow", folder)
    a, b, broken = (str((folder / p).resolve()) for p in ("a.txt", "sub/b.md", "broken.pdf"))
    assert sorted(first.added) == [a, b] and first.updated == first.removed == []
    assert [f["path"] for f in first.failed] == [broken] and "PDF" in str(first.failed[0]["error"])
    assert first.chunks == 2 and first.total_chunks == 3
    kept = store.read_meta("follow")["sync"]["last_report"]["failed"][0]["error"]   # shown later in either language
    assert "PDF" in kept["en"] and "PDF 已损坏" in kept["zh"]
    assert "PDF" in first.to_dict()["failed"][0]["error"]                            # the CLI's JSON: English text

    again = sync.sync_folder("follow")                   # the folder is remembered
    assert (again.added, again.updated, again.removed, again.unchanged) == ([], [], [], 2)

    (folder / "a.txt").write_text("Alpha harbour now opens at eight.", encoding="utf-8")
    (folder / "sub" / "b.md").unlink()
    (folder / "c.txt").write_text("Gamma quay has a crane.", encoding="utf-8")
    third = sync.sync_folder("follow")
    assert third.added == [str((folder / "c.txt").resolve())] and third.updated == [a] and third.removed == [b]
    kb = store.load_kb("follow")
    assert sorted(d["name"] for d in kb.documents) == ["a.txt", "c.txt", "manual.txt"]
    assert kb.lexical.indexed_rows() == kb.index.ntotal == len(kb.chunks) == 3
    assert "eight" in retrieval.search(kb, "Alpha harbour", k=1, mode="lexical")[0].text
    assert store.read_meta("follow")["sync"]["last_report"]["removed"] == [b]


def test_sync_schedule_runs_due_bases_only(workbench_home, tmp_path):
    folder = tmp_path / "sched"
    folder.mkdir()
    (folder / "a.txt").write_text("Scheduled text about ferries.", encoding="utf-8")
    emb = tiny_embedder(tmp_path / "emb")
    store.create_kb("every", emb, chunk_size=100, overlap=10)
    store.create_kb("manual", emb, chunk_size=100, overlap=10)
    sync.set_schedule("every", folder, 15)
    sync.set_schedule("manual", folder, 0)
    with pytest.raises(UserError):
        sync.set_schedule("every", folder, -1)
    assert sync.due_bases() == ["every"]
    results = sync.run_due()
    assert list(results) == ["every"] and results["every"].added == [str((folder / "a.txt").resolve())]
    assert sync.due_bases() == []                        # just synced
    last = store.read_meta("every")["sync"]["last"]
    assert sync.due_bases(now=last + 15 * 60) == ["every"]


def test_cli_sync_and_query_modes(workbench_home, tmp_path, capsys):
    from core.cli import main

    folder = tmp_path / "cli"
    folder.mkdir()
    (folder / "a.txt").write_text("The Quarle Sound light is kept by Jory Pascoe.", encoding="utf-8")
    store.create_kb("cli", tiny_embedder(tmp_path / "emb"), chunk_size=100, overlap=10)
    assert main(["kb", "sync", "cli", "--folder", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == [str((folder / "a.txt").resolve())] and out["chunks"] == 1
    assert {"updated", "removed", "failed"} <= set(out)
    assert main(["kb", "query", "cli", "Jory Pascoe", "--mode", "lexical", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "lexical" and out["hits"][0]["lexical_rank"] == 1
    assert main(["kb", "sync", "cli", "--folder", str(tmp_path / "nope"), "--json"]) == 2
    assert "does not exist" in capsys.readouterr().err


def tiny_cross_encoder(folder):
    """A random one-layer BERT cross-encoder (one relevance logit) with MiniLM's tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from core.rag.embeddings import default_embedder_path

    tokenizer = AutoTokenizer.from_pretrained(str(default_embedder_path()))
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=256, num_labels=1)
    BertForSequenceClassification(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def test_reranker_rescores_and_keeps_the_rank_before(workbench_home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, (place, keeper) in enumerate(KEEPERS[:8]):
        (folder / f"{i}.txt").write_text(_lighthouse_text(place, keeper), encoding="utf-8")
    store.create_kb("rr", tiny_embedder(tmp_path / "emb"), chunk_size=400, overlap=40)
    store.ingest("rr", [folder])
    kb = store.load_kb("rr")
    cross = tiny_cross_encoder(tmp_path / "cross")
    hits = retrieval.search(kb, "keeper weather", k=5, reranker=str(cross))
    assert len(hits) == 5 and all(h.rerank_score is not None and h.rank_before is not None for h in hits)
    scores = [h.rerank_score for h in hits]
    assert scores == sorted(scores, reverse=True)
    plain = retrieval.search(kb, "keeper weather", k=8)
    by_text = {h.text: rank for rank, h in enumerate(plain, 1)}
    assert all(by_text[h.text] == h.rank_before for h in hits)
    with pytest.raises(UserError) as err:
        retrieval.search(kb, "keeper", reranker=str(tmp_path / "missing"))
    assert err.value.key == "err.kb.reranker_missing"


def test_unknown_mode_is_a_user_error(workbench_home, tmp_path):
    store.create_kb("modes", tiny_embedder(tmp_path / "emb"))
    with pytest.raises(UserError) as err:
        retrieval.search(store.load_kb("modes"), "keeper", mode="fuzzy")
    assert err.value.key == "err.kb.unknown_mode" and "hybrid, dense, lexical" in str(err.value)


def test_highlight_marks_the_matching_sentences_and_keeps_the_text():
    passage = "Achilles was a hero of the Trojan War. He was the son of Thetis. Troy fell later."
    pieces = retrieval.highlight(passage, "Who was the mother of Achilles, son of Thetis?")
    assert "".join(p for p, _ in pieces) == passage
    assert [marked for _, marked in pieces] == [False, True, False]
    assert retrieval.highlight("天很蓝。雅鲁藏布江从这里流过。", "雅鲁藏布江")[1] == ("雅鲁藏布江从这里流过。", True)
    assert not any(m for _, m in retrieval.highlight("Nothing relevant here.", "zebra"))


def test_knowledge_page_modes_retrieval_test_and_sync(workbench_home, tmp_path):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    folder = tmp_path / "follow"
    folder.mkdir()
    (folder / "a.txt").write_text("The Quarle Sound light is kept by Jory Pascoe. <b>Bold</b> claims.",
                                  encoding="utf-8")
    store.create_kb("page", tiny_embedder(tmp_path / "emb"), chunk_size=100, overlap=10)
    page = str(Path(__file__).resolve().parents[1] / "views" / "5_Knowledge.py")
    at = AppTest.from_file(page, default_timeout=180)
    at.run()
    assert not at.exception
    assert any("bge-m3" in str(c.value) for c in at.caption)          # the note on Chinese embedders

    at.text_input(key="kb_sync_folder_page").input(str(folder))
    at.button(key="kb_sync_now").click().run()
    assert not at.exception
    assert any("1 added" in str(s.value) for s in at.success)

    at.radio(key="kb_mode").set_value("lexical")
    at.text_input(key="kb_query").input("Who keeps Quarle Sound?")
    at.button(key="FormSubmitter:kb_search_form-Search").click().run()
    assert not at.exception
    body = " ".join(h.proto.body for h in at.get("html"))
    assert "<mark" in body and "Jory Pascoe" in body
    assert "&lt;b&gt;Bold&lt;/b&gt;" in body and "<b>" not in body    # document text is escaped
    assert any("words #1" in str(c.value) for c in at.caption)

    at.text_area(key="kb_test_cases").input("Who keeps Quarle Sound? | Jory Pascoe\nnot a case")
    at.button(key="FormSubmitter:kb_test_form-Run the test").click().run()
    assert not at.exception and any("Line 2" in str(e.value) for e in at.error)
    at.text_area(key="kb_test_cases").input("Who keeps Quarle Sound? | Jory Pascoe")
    at.button(key="FormSubmitter:kb_test_form-Run the test").click().run()
    assert not at.exception
    recall = {m.label: m.value for m in at.metric if "recall@" in m.label}
    assert recall["words (BM25): recall@5"] == "100%" and len(recall) == 3
