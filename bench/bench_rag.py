"""Knowledge-base benchmark: ingest speed (new vs the previous embedding loop), recall@5 per search
mode, query latency per mode at 10k / 100k chunks.

    cd /work/main && . .venv/bin/activate
    HF_HUB_OFFLINE=1 PYTHONPATH=/work/main python bench/bench_rag.py [--sizes 10000 100000] [--queries 100]
                                                                    [--ratio-chunks 512] [--wiki PATH]

1. Embedding speed, both loops in this one run on the same chunk texts (the first
   ``--ratio-chunks`` chunks of /work/shared/datasets/peer/wiki_demo.txt, default 500/80 chunks,
   bundled all-MiniLM-L6-v2), alternated twice, best of two each: the previous loop (groups of
   128 chunks in document order, batch 32) against ``Embedder.encode`` (all chunks longest first,
   batch 64). Also the largest difference between their vectors.
2. A real ingest of the whole file (``store.ingest``: read, chunk, embed, FAISS + BM25, save).
3. recall@5 of tests/data/wiki_questions.jsonl per mode (hybrid, dense, lexical).
4. Query latency (query embedding + search + hit assembly, i.e. ``retrieval.search``) per mode at
   each size. Bases beyond the real ~3k chunks are synthesised: the real chunk vectors plus noisy
   copies (renormalized) and the same texts again for BM25, so both indexes are as crowded as real
   text gives. Index type as "auto" picks it (exact below 50k chunks, HNSW above).
The load average (``os.getloadavg``) is recorded at the start and the end: the machine is shared.
Writes bench/out/rag.json and prints Markdown tables for docs/BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
WIKI = ROOT.parent / "shared" / "datasets" / "peer" / "wiki_demo.txt"
QUESTIONS = ROOT / "tests" / "data" / "wiki_questions.jsonl"


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def previous_encode(model, texts: list[str]):
    """The embedding loop ingest used before: groups of 128 chunks in document order, batch 32."""
    import numpy as np

    parts = []
    for start in range(0, len(texts), 128):
        parts.append(model.encode(texts[start:start + 128], batch_size=32, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=False))
    return np.vstack(parts).astype("float32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--ratio-chunks", type=int, default=512)
    parser.add_argument("--wiki", type=Path, default=WIKI, help="the peer Wikipedia text")
    parser.add_argument("--reuse-home", type=Path, default=None,
                        help="a WORKBENCH_HOME whose 'wiki' base an earlier run built: skip steps 1-2")
    args = parser.parse_args()

    os.environ["WORKBENCH_HOME"] = str(args.reuse_home or tempfile.mkdtemp(prefix="bench_rag_"))
    from core.rag import embeddings, store

    result = {"cpu_count": os.cpu_count(), "load_start": [round(x, 1) for x in os.getloadavg()]}
    t0 = time.perf_counter()
    emb = embeddings.get_embedder()
    emb.encode(["warm up"])
    result["model_load_s"] = round(time.perf_counter() - t0, 2)

    if args.reuse_home is None:
        embed_and_ingest(args, emb, result)
    kb = store.load_kb("wiki")
    measure_retrieval(args, emb, kb, result)


def embed_and_ingest(args, emb, result: dict) -> None:
    import numpy as np

    from core.rag import chunking, loaders, store

    # 1. the two embedding loops on the same texts
    text = loaders.load_file(args.wiki).text
    texts = [c.text for c in chunking.chunk_text(text)][: args.ratio_chunks]
    timings = {"previous": [], "new": []}
    vectors = {}
    for _ in range(2):
        for name, run in (("previous", lambda: previous_encode(emb.model, texts)),
                          ("new", lambda: emb.encode(texts, progress=lambda done, total: None))):
            t0 = time.perf_counter()
            vectors[name] = run()
            timings[name].append(len(texts) / (time.perf_counter() - t0))
            print(f"{name}: {timings[name][-1]:.1f} chunks/s (load {os.getloadavg()[0]:.1f})", flush=True)
    best = {name: max(v) for name, v in timings.items()}
    result["embedding"] = {"chunks": len(texts), "previous_chunks_per_s": round(best["previous"], 1),
                           "new_chunks_per_s": round(best["new"], 1),
                           "ratio": round(best["new"] / best["previous"], 2),
                           "max_abs_diff": float(np.abs(vectors["new"] - vectors["previous"]).max()),
                           "min_cosine": float((vectors["new"] * vectors["previous"]).sum(axis=1).min()),
                           "runs": {k: [round(x, 1) for x in v] for k, v in timings.items()}}
    print(json.dumps(result["embedding"]), flush=True)

    # 2. the real ingest of the whole file
    store.create_kb("wiki")
    t0 = time.perf_counter()
    report = store.ingest("wiki", [args.wiki])
    ingest_s = time.perf_counter() - t0
    result["ingest"] = {"chars": args.wiki.stat().st_size, "chunks": report.chunks, "seconds": round(ingest_s, 1),
                        "chunks_per_s": round(report.chunks / ingest_s, 1)}
    print(f"ingest: {report.chunks} chunks in {ingest_s:.1f} s = {report.chunks / ingest_s:.1f} chunks/s", flush=True)


def measure_retrieval(args, emb, kb, result: dict) -> None:
    import numpy as np

    from core.rag import lexical, retrieval, store

    # 3. recall@5 per mode
    questions = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = [retrieval.RetrievalCase(q["question"], q["answer"]) for q in questions]
    evaluation = retrieval.evaluate(kb, cases, k=5)
    result["recall_at_5"] = {mode: round(r, 3) for mode, r in evaluation["recall"].items()}
    result["missed"] = {mode: [c["question"] for c in evaluation["cases"] if c[mode] is None]
                        for mode in retrieval.MODES}
    print(f"recall@5: {result['recall_at_5']} ({len(questions)} questions)", flush=True)

    # 4. latency per mode at each size
    real_vectors = kb.index.reconstruct_n(0, kb.index.ntotal)
    real_rows = kb.chunks
    rng = np.random.default_rng(0)
    queries = [q["question"] for q in questions]
    queries = (queries * (args.queries // len(queries) + 1))[: args.queries]
    result["latency"] = []
    for size in args.sizes:
        reps = size // len(real_rows) + 1
        rows, blocks = [], []
        for r in range(reps):
            block = real_vectors if r == 0 else real_vectors + rng.normal(0, 0.35 / np.sqrt(real_vectors.shape[1]) * 4,
                                                                          real_vectors.shape).astype("float32")
            blocks.append(block)
            rows.extend({**row, "doc": f"{row['doc']}-{r}"} for row in real_rows)
        vectors = np.vstack(blocks)[:size].astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows = rows[:size]
        meta = dict(kb.meta, documents=[dict(d, id=f"{d['id']}-{r}") for r in range(reps) for d in kb.documents])
        t0 = time.perf_counter()
        lexical_index = lexical.LexicalIndex.build([row["text"] for row in rows])
        lexical_s = time.perf_counter() - t0
        index_type = store.index_type_for("auto", size)
        t0 = time.perf_counter()
        index = store.build_index(vectors, index_type)
        build_s = time.perf_counter() - t0
        big = store.KnowledgeBase(name="bench", path=Path("."), meta=meta, chunks=rows, index=index,
                                  lexical=lexical_index)
        real_encode_query = emb.encode_query
        vectors_by_query = {q: real_encode_query(q) for q in set(queries)}
        for mode in retrieval.MODES:
            for q in queries[:5]:
                retrieval.search(big, q, k=5, mode=mode)
            total_ms, embed_ms, search_ms = [], [], []
            for q in queries:
                t0 = time.perf_counter()
                retrieval.search(big, q, k=5, mode=mode)
                t1 = time.perf_counter()
                real_encode_query(q)
                t2 = time.perf_counter()
                emb.encode_query = vectors_by_query.__getitem__   # the same search minus the model call
                try:
                    retrieval.search(big, q, k=5, mode=mode)
                finally:
                    del emb.encode_query
                t3 = time.perf_counter()
                total_ms.append((t1 - t0) * 1000)
                embed_ms.append((t2 - t1) * 1000)
                search_ms.append((t3 - t2) * 1000)
            entry = {"chunks": size, "index": index_type, "mode": mode, "faiss_build_s": round(build_s, 1),
                     "bm25_build_s": round(lexical_s, 1), "p50_ms": round(statistics.median(total_ms), 1),
                     "p95_ms": round(percentile(total_ms, 95), 1),
                     "embed_p50_ms": round(statistics.median(embed_ms), 1),
                     "without_embedding_p50_ms": round(statistics.median(search_ms), 1),
                     "load": round(os.getloadavg()[0], 1)}
            result["latency"].append(entry)
            print(json.dumps(entry), flush=True)
    result["load_end"] = [round(x, 1) for x in os.getloadavg()]
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "rag.json").write_text(json.dumps(result, indent=2))
    e = result.get("embedding")
    if e:
        print(f"\nembedding {e['chunks']} chunks: previous {e['previous_chunks_per_s']} chunks/s, new "
              f"{e['new_chunks_per_s']} chunks/s = {e['ratio']}x; max |diff| {e['max_abs_diff']:.2e}")
    print(f"load average start {result['load_start']}, end {result['load_end']}")
    print("\n| mode | recall@5 |\n|---|---|")
    for mode, recall in result["recall_at_5"].items():
        print(f"| {mode} | {recall} |")
    print("\n| chunks | index | mode | query p50 ms | p95 ms | query embedding p50 ms | search without it p50 ms | load |")
    print("|---|---|---|---|---|---|---|---|")
    for e in result["latency"]:
        print(f"| {e['chunks']:,} | {e['index']} | {e['mode']} | {e['p50_ms']} | {e['p95_ms']} | "
              f"{e['embed_p50_ms']} | {e['without_embedding_p50_ms']} | {e['load']} |")


if __name__ == "__main__":
    main()
