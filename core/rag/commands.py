"""``python -m core kb ...``: knowledge bases from the command line.

    python -m core kb create NAME [--embedder PATH] [--chunk-size 500] [--overlap 80] [--index auto|flat|hnsw]
    python -m core kb ingest NAME PATH... --json   -> {"files": [{"path", "chunks", "error", ...}], "chunks": N}
    python -m core kb query NAME TEXT [--k 5] [--threshold 0.3] [--neighbors 1] [--mode hybrid|dense|lexical]
                  [--reranker FOLDER] --json      -> {"hits": [{"text", "score", "dense_rank", "lexical_rank", ...}]}
    python -m core kb sync NAME [--folder PATH] --json
                                                  -> {"added": [...], "updated": [...], "removed": [...], "chunks": N}
    python -m core kb list [--docs] [NAME]
    python -m core kb delete NAME [--doc SOURCE|ID]
    python -m core kb rebuild NAME [--index auto|flat|hnsw] [--reembed]
    python -m core kb preview FILE [--chunk-size 500] [--overlap 80]

Progress of an ingest goes to stderr, one line per file; stdout carries only the result.
"""
from __future__ import annotations

import argparse
import sys

from core.cli import command
from core.rag import chunking
from core.rag.retrieval import DEFAULT_MODE, MODES


def _create(args: argparse.Namespace) -> dict:
    from core.rag import store

    info = store.create_kb(args.name, args.embedder, chunk_size=args.chunk_size, overlap=args.overlap,
                           index=args.index)
    return {"created": info.to_dict()}


def _ingest(args: argparse.Namespace) -> dict:
    from core.rag import store

    def progress(event: store.IngestProgress) -> None:
        if event.stage == "done" and event.result is not None:
            r = event.result
            status = f"{r.chunks} chunks" if not r.error else f"skipped: {r.error}"
            print(f"[{event.file_index + 1}/{event.file_count}] {r.path}: {status}", file=sys.stderr)

    report = store.ingest(args.name, args.paths, embedder=args.embedder, progress=progress)
    return report.to_dict()


def _query(args: argparse.Namespace) -> dict:
    from core.rag import retrieval, store

    kb = store.load_kb(args.name)
    _print_notes(kb)
    hits = retrieval.search(kb, args.text, k=args.k, threshold=args.threshold, neighbors=args.neighbors,
                            mode=args.mode, reranker=args.reranker)
    return {"mode": args.mode, "hits": [h.to_dict() for h in hits]}


def _print_notes(kb) -> None:
    """What loading the base did (e.g. built a missing lexical index) goes to stderr."""
    for note in kb.notes:
        print(str(note), file=sys.stderr)


def _sync(args: argparse.Namespace) -> dict:
    from core.rag import sync

    def progress(event) -> None:
        if event.stage == "done" and event.result is not None and event.result.error:
            print(f"{event.result.path}: {event.result.error}", file=sys.stderr)

    report = sync.sync_folder(args.name, args.folder, progress=progress)
    return report.to_dict()


def _list(args: argparse.Namespace) -> dict:
    from core.rag import store

    if args.name:
        kb = store.load_kb(args.name)
        out = kb.info().to_dict()
        out["documents"] = [{k: d.get(k) for k in ("id", "source", "name", "format", "encoding", "chunks", "chars")}
                            for d in kb.documents]
        return out
    infos = store.list_kbs()
    rows = []
    for info in infos:
        row = info.to_dict()
        if args.docs:
            row["documents_list"] = [{"id": d["id"], "source": d["source"], "chunks": d["chunks"]}
                                     for d in store.read_meta(info.name)["documents"]]
        rows.append(row)
    return {"knowledge_bases": rows}


def _delete(args: argparse.Namespace) -> dict:
    from core.rag import store

    if args.doc:
        doc = store.delete_document(args.name, args.doc)
        return {"deleted_document": doc["source"], "chunks": doc["chunks"], "knowledge_base": args.name}
    store.delete_kb(args.name)
    return {"deleted": args.name}


def _rebuild(args: argparse.Namespace) -> dict:
    from core.rag import store

    info = store.rebuild(args.name, index=args.index, reembed=args.reembed)
    return {"rebuilt": info.to_dict()}


def _preview(args: argparse.Namespace) -> dict:
    from core.rag import loaders

    loaded = loaders.load_file(args.file)
    chunks = chunking.chunk_text(loaded.text, args.chunk_size, args.overlap)
    return {"format": loaded.format, "encoding": loaded.encoding, "chars": len(loaded.text),
            "chunks": [c.to_dict() for c in chunks[: args.limit]], "total_chunks": len(chunks)}


def register(sub) -> None:
    kb = sub.add_parser("kb", help="knowledge bases (RAG): create, ingest, query, list, delete",
                        description="Knowledge bases (RAG) for grounded chat.")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)

    p = command(kb_sub, "create", _create, "create an empty knowledge base")
    p.add_argument("name")
    p.add_argument("--embedder", default=None,
                   help="local sentence-transformers folder (default: bundled all-MiniLM-L6-v2)")
    p.add_argument("--chunk-size", type=int, default=chunking.DEFAULT_CHUNK_SIZE, help="characters per chunk")
    p.add_argument("--overlap", type=int, default=chunking.DEFAULT_OVERLAP, help="characters of overlap")
    p.add_argument("--index", default="auto", choices=["auto", "flat", "hnsw"],
                   help="auto = exact search below 50,000 chunks, HNSW above")

    p = command(kb_sub, "ingest", _ingest, "add files or folders (txt, md, pdf, docx, html, csv, jsonl)")
    p.add_argument("name")
    p.add_argument("paths", nargs="+")
    p.add_argument("--embedder", default=None, help="must match the base's embedder (checked)")

    p = command(kb_sub, "query", _query, "search a knowledge base")
    p.add_argument("name")
    p.add_argument("text")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--threshold", type=float, default=0.0, help="minimum cosine score")
    p.add_argument("--neighbors", type=int, default=0, help="add this many chunks either side of a hit")
    p.add_argument("--mode", default=DEFAULT_MODE, choices=MODES,
                   help="hybrid = meaning and words fused (default); dense = meaning; lexical = BM25 words")
    p.add_argument("--reranker", default=None, help="local cross-encoder folder to re-score the best hits")

    p = command(kb_sub, "sync", _sync, "make the base follow a folder: add new, re-ingest changed, drop deleted files")
    p.add_argument("name")
    p.add_argument("--folder", default=None,
                   help="the folder to follow (remembered; later syncs may leave it out)")

    p = command(kb_sub, "list", _list, "list knowledge bases, or one base's documents")
    p.add_argument("name", nargs="?", default=None)
    p.add_argument("--docs", action="store_true", help="include each base's documents")

    p = command(kb_sub, "delete", _delete, "delete a knowledge base, or one document with --doc")
    p.add_argument("name")
    p.add_argument("--doc", default=None, help="document source, file name or id to remove")

    p = command(kb_sub, "rebuild", _rebuild, "rebuild the index (switch type, or re-embed everything)")
    p.add_argument("name")
    p.add_argument("--index", default=None, choices=["auto", "flat", "hnsw"])
    p.add_argument("--reembed", action="store_true", help="embed every chunk again")

    p = command(kb_sub, "preview", _preview, "show how a file would be chunked")
    p.add_argument("file")
    p.add_argument("--chunk-size", type=int, default=chunking.DEFAULT_CHUNK_SIZE)
    p.add_argument("--overlap", type=int, default=chunking.DEFAULT_OVERLAP)
    p.add_argument("--limit", type=int, default=20, help="show at most this many chunks")
