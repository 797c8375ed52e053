"""Knowledge-base benchmark: ingest speed, query latency at 10k / 100k chunks, recall@5.

    cd /work/main && . .venv/bin/activate
    HF_HUB_OFFLINE=1 PYTHONPATH=/work/main python bench/bench_rag.py [--sizes 10000 100000] [--queries 200]

1. Ingest /work/shared/datasets/peer/wiki_demo.txt into a fresh base (default 500/80 chunks,
   bundled all-MiniLM-L6-v2): chunks per second, model load excluded.
2. recall@5 of tests/data/wiki_questions.jsonl against that base.
3. Query latency (query embedding with the real MiniLM + FAISS search + hit assembly, i.e.
   ``retrieval.search``) at each size. Bases beyond the real ~3k chunks are synthesised: the
   real chunk vectors plus noisy copies of them (renormalized), so neighbours are as crowded
   as real text gives. Index type as "auto" picks it: exact below 50k chunks, HNSW above; the
   exact index is measured at every size too.
Writes bench/out/rag.json and prints a Markdown table for docs/BENCHMARKS.md.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    import numpy as np

    os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="bench_rag_")
    from core.rag import embeddings, retrieval, store

    t0 = time.perf_counter()
    emb = embeddings.get_embedder()
    emb.encode(["warm up"])
    load_s = time.perf_counter() - t0
    store.create_kb("wiki")
    t0 = time.perf_counter()
    report = store.ingest("wiki", [WIKI])
    ingest_s = time.perf_counter() - t0
    kb = store.load_kb("wiki")
    result = {"cpu_count": os.cpu_count(), "model_load_s": round(load_s, 2),
              "ingest": {"chars": WIKI.stat().st_size, "chunks": report.chunks, "seconds": round(ingest_s, 1),
                         "chunks_per_s": round(report.chunks / ingest_s, 1)}}
    print(f"ingest: {report.chunks} chunks in {ingest_s:.1f} s = {report.chunks / ingest_s:.1f} chunks/s", flush=True)

    questions = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = sum(any(q["answer"] in h.text for h in retrieval.search(kb, q["question"], k=5)) for q in questions)
    result["recall_at_5"] = {"questions": len(questions), "found": found, "recall": round(found / len(questions), 3)}
    print(f"recall@5: {found}/{len(questions)} = {found / len(questions):.3f}", flush=True)

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
        for index_type in sorted({"flat", store.index_type_for("auto", size)}):
            t0 = time.perf_counter()
            index = store.build_index(vectors, index_type)
            build_s = time.perf_counter() - t0
            big = store.KnowledgeBase(name="bench", path=Path("."), meta=meta, chunks=rows, index=index)
            for q in queries[:5]:
                retrieval.search(big, q, k=5)
            embed_ms, total_ms = [], []
            for q in queries:
                t0 = time.perf_counter()
                emb.encode_query(q)
                t1 = time.perf_counter()
                retrieval.search(big, q, k=5)
                t2 = time.perf_counter()
                embed_ms.append((t1 - t0) * 1000)
                total_ms.append((t2 - t1) * 1000)
            # recall of the answer among the real chunks still holds at this size?
            hit = sum(any(q["answer"] in h.text for h in retrieval.search(big, q["question"], k=5)) for q in questions)
            entry = {"chunks": size, "index": index_type, "build_s": round(build_s, 1),
                     "p50_ms": round(statistics.median(total_ms), 1), "p95_ms": round(percentile(total_ms, 95), 1),
                     "embed_p50_ms": round(statistics.median(embed_ms), 1),
                     "recall_at_5": round(hit / len(questions), 3)}
            result["latency"].append(entry)
            print(json.dumps(entry), flush=True)
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "rag.json").write_text(json.dumps(result, indent=2))
    print("\n| chunks | index | build s | query p50 ms | query p95 ms | (embedding alone p50 ms) | recall@5 |")
    print("|---|---|---|---|---|---|---|")
    for e in result["latency"]:
        print(f"| {e['chunks']:,} | {e['index']} | {e['build_s']} | {e['p50_ms']} | {e['p95_ms']} | "
              f"{e['embed_p50_ms']} | {e['recall_at_5']} |")


if __name__ == "__main__":
    main()
