"""Knowledge bases on disk: ``workspace/knowledge/<kb>/`` = FAISS index + BM25 index + chunk store + meta.json.

    meta.json      name, embedder (``"default"`` or a folder) + its dimension, chunk size and
                   overlap, index choice/type, the documents (id, source, chunks, sha256, ...),
                   a revision number bumped on every save (pages cache a loaded base by it)
    chunks.jsonl   one chunk per line, line i == vector i in the index:
                   {"doc": id, "pos": position in its document, "text", "start", "end"}
    index.faiss    IndexFlatIP (exact) or IndexHNSWFlat (approximate, inner product) over
                   L2-normalized vectors, so scores are cosine similarities
    lexical/       the BM25 index over the same rows (``core.rag.lexical``), rebuilt from the
                   chunk texts on every save so it always matches the vectors row for row

A base saved before the lexical index existed is upgraded when it is loaded: the BM25 index is
built from its chunks and saved, and ``KnowledgeBase.notes`` says so (the pages show it).

Every change writes the whole folder aside and swaps it in (``workspace.staged_dir``),
so a crash leaves the old base or the new one, never an index that disagrees with its chunks.
Every change runs under the base's lock (``_kb_writer``): two ingests into one base, from two tabs
or the UI and the CLI, run one after the other and both are kept.
The embedder is fixed per base: using another model (or one with another dimension) is refused.

    >>> create_kb("notes")                                        # doctest: +SKIP
    >>> report = ingest("notes", ["~/docs", "faq.pdf"])
    >>> [(f.path, f.chunks, f.error and str(f.error)) for f in report.files]   # error: a Msg
    [('/home/me/docs/a.txt', 12, None), ('faq.pdf', 0, 'Corrupt or unreadable PDF ...')]
    >>> delete_document("notes", "faq.pdf"); rebuild("notes", index="hnsw")
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from core import workspace
from core.errors import UserError
from core.i18n import Msg
from core.rag import chunking, embeddings, lexical, loaders

log = logging.getLogger(__name__)

META_FILE = "meta.json"
CHUNKS_FILE = "chunks.jsonl"
INDEX_FILE = "index.faiss"
LEXICAL_DIR = "lexical"
FORMAT_VERSION = 2   # 2: + the lexical (BM25) index
INDEX_CHOICES = ("auto", "flat", "hnsw")
# Above this many chunks "auto" switches from exact search to HNSW: exact search over 384-d
# vectors costs ~1 ms per 10k chunks on 2 cores, HNSW stays near-constant.
HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
MAX_CACHED_KBS = 4
KB_LOCK_WAIT_S = 900.0  # a second writer waits this long for the first (an ingest can take minutes)

_LOADED: dict[str, KnowledgeBase] = {}   # name -> loaded base (see get_kb)
_LOADED_LOCK = threading.Lock()


@dataclass
class SourceFile:
    """A file to ingest; ``source`` is the name recorded for it (an upload's original name)."""

    path: Path
    source: str | None = None
    data: bytes | None = None  # an upload in memory (``path`` then only gives the name)

    @property
    def label(self) -> str:
        return self.source or str(self.path)


@dataclass
class FileResult:
    path: str
    chunks: int = 0
    error: Msg | None = None     # why the file was skipped (rendered in the reader's language)
    note: Msg | None = None      # NOTE_UNCHANGED or NOTE_REPLACED
    format: str | None = None
    encoding: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        """Plain values; the error and note in English (the CLI's JSON)."""
        out = asdict(self)
        out["error"], out["note"] = _english(self.error), _english(self.note)
        return out


def _english(text: Msg | None) -> str | None:
    return None if text is None else str(text)


NOTE_UNCHANGED = Msg("knowledge.note.unchanged")
NOTE_REPLACED = Msg("knowledge.note.replaced")


@dataclass
class IngestReport:
    files: list[FileResult]
    chunks: int          # chunks added by this ingest
    total_chunks: int    # chunks in the base afterwards
    seconds: float

    def to_dict(self) -> dict:
        return {"files": [f.to_dict() for f in self.files], "chunks": self.chunks,
                "total_chunks": self.total_chunks, "seconds": round(self.seconds, 3)}


@dataclass
class IngestProgress:
    """What an ingest is doing now; ``result`` is set when a file is finished."""

    file_index: int      # 0-based
    file_count: int
    path: str
    stage: str           # "reading" | "embedding" | "done"
    done: int = 0        # chunks embedded so far in this file
    total: int = 0
    result: FileResult | None = None


@dataclass
class KbInfo:
    name: str
    documents: int
    chunks: int
    embedder: str
    embedder_name: str
    dim: int
    index_type: str
    index_choice: str
    chunk_size: int
    overlap: int
    created: float
    updated: float
    revision: int
    size_bytes: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class KnowledgeBase:
    """A loaded base: meta, chunk rows (row i == vector i == BM25 row i), FAISS and BM25 indexes."""

    name: str
    path: Path
    meta: dict
    chunks: list[dict]
    index: object = None
    lexical: lexical.LexicalIndex | None = None
    notes: list[Msg] = field(default_factory=list)   # what loading did (e.g. an upgrade), to show
    _rows_by_doc: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        by_doc: dict[str, dict[int, int]] = {}
        for row_id, row in enumerate(self.chunks):
            by_doc.setdefault(row["doc"], {})[row["pos"]] = row_id
        self._rows_by_doc = by_doc

    @property
    def documents(self) -> list[dict]:
        return self.meta["documents"]

    @property
    def revision(self) -> int:
        return int(self.meta.get("revision", 0))

    def document(self, doc_id: str) -> dict | None:
        return next((d for d in self.documents if d["id"] == doc_id), None)

    def row_of(self, doc_id: str, pos: int) -> int | None:
        """Row id of chunk ``pos`` of document ``doc_id`` (None outside the document)."""
        return self._rows_by_doc.get(doc_id, {}).get(pos)

    def embedder(self, spec: str | None = None) -> embeddings.Embedder:
        """The base's embedder, loaded; ``spec`` (another model) is refused unless it is the same."""
        return _checked_embedder(self.meta, spec)

    def info(self) -> KbInfo:
        return _info_from_meta(self.meta, self.path)


# ---------------------------------------------------------------- paths and meta

def kb_dir(name: str) -> Path:
    return workspace.knowledge_dir() / workspace.check_name(name, "knowledge base name")


def _kb_writer(func):
    """Run ``func(name, ...)`` — a read-change-save of one base — under that base's lock."""
    @functools.wraps(func)
    def under_lock(name, *args, **kwargs):
        with workspace.locked(kb_dir(name), timeout=KB_LOCK_WAIT_S):
            return func(name, *args, **kwargs)
    return under_lock


def exists(name: str) -> bool:
    return workspace.is_safe_name(name) and (workspace.knowledge_dir() / name / META_FILE).is_file()


def read_meta(name: str) -> dict:
    meta = workspace.read_json(kb_dir(name) / META_FILE)
    if not meta:
        raise UserError("err.rag.not_found", name=name, hint="err.rag.not_found.hint")
    return meta


def revision(name: str) -> int:
    """The base's revision (bumped on every change); -1 when it does not exist."""
    meta = workspace.read_json(kb_dir(name) / META_FILE)
    return int(meta.get("revision", 0)) if meta else -1


def _info_from_meta(meta: dict, path: Path, with_size: bool = False) -> KbInfo:
    """The listing entry; named by its folder (a copied base is listed under the copy's name)."""
    return KbInfo(
        name=path.name, documents=len(meta.get("documents", [])), chunks=int(meta.get("chunks", 0)),
        embedder=meta["embedder"], embedder_name=embeddings.embedder_display_name(meta["embedder"]),
        dim=int(meta["dim"]), index_type=meta.get("index_type", "flat"),
        index_choice=meta.get("index_choice", "auto"), chunk_size=int(meta["chunk_size"]),
        overlap=int(meta["overlap"]), created=float(meta.get("created", 0)),
        updated=float(meta.get("updated", 0)), revision=int(meta.get("revision", 0)),
        size_bytes=workspace.dir_size(path) if with_size else 0,
    )


def list_kbs() -> list[KbInfo]:
    infos = []
    for folder in sorted(workspace.knowledge_dir().iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        meta = workspace.read_json(folder / META_FILE)
        if meta:
            try:
                infos.append(_info_from_meta(meta, folder, with_size=True))
            except (KeyError, TypeError, ValueError):
                log.warning("skipping knowledge base with unreadable meta: %s", folder)
    return infos


def _check_index_choice(index: str) -> str:
    index = (index or "auto").lower()
    if index not in INDEX_CHOICES:
        raise UserError("err.rag.index_type", index=index, field="index", hint="err.rag.index_type.hint")
    return index


def index_type_for(choice: str, n_chunks: int) -> str:
    """The concrete index type for a choice: auto -> flat below HNSW_THRESHOLD chunks, hnsw above."""
    if choice == "auto":
        return "hnsw" if n_chunks >= HNSW_THRESHOLD else "flat"
    return choice


# ---------------------------------------------------------------- create / load / save / delete

@_kb_writer
def create_kb(name: str, embedder: str | None = None, *, chunk_size: int = chunking.DEFAULT_CHUNK_SIZE,
              overlap: int = chunking.DEFAULT_OVERLAP, index: str = "auto") -> KbInfo:
    """Make an empty knowledge base. Loads the embedder once to check it and learn its dimension."""
    target = kb_dir(name)
    if (target / META_FILE).exists():
        raise UserError("err.rag.exists", name=name, field="name", hint="err.rag.exists.hint")
    chunking.validate_sizes(chunk_size, overlap)
    choice = _check_index_choice(index)
    emb = embeddings.get_embedder(embedder)
    now = time.time()
    meta = {
        "format_version": FORMAT_VERSION, "name": target.name, "embedder": emb.stored,
        "embedder_name": emb.name, "dim": emb.dim, "chunk_size": int(chunk_size), "overlap": int(overlap),
        "index_choice": choice, "index_type": index_type_for(choice, 0), "documents": [], "chunks": 0,
        "created": now, "updated": now, "revision": 0,
    }
    _save(KnowledgeBase(name=target.name, path=target, meta=meta, chunks=[], index=None), bump=False)
    return _info_from_meta(meta, target)


def load_kb(name: str) -> KnowledgeBase:
    """Read a base (meta, chunks, vector and lexical indexes) from disk.

    A base without a lexical index (saved before it existed) or with one that does not match its
    chunks is upgraded here: the BM25 index is built from the chunk texts and the base saved.
    """
    import faiss

    folder = kb_dir(name)
    meta = read_meta(name)
    rows = workspace.read_jsonl(folder / CHUNKS_FILE)
    index = None
    if (folder / INDEX_FILE).exists():
        index = faiss.read_index(str(folder / INDEX_FILE))
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = HNSW_EF_SEARCH
    n_index = index.ntotal if index is not None else 0
    if n_index != len(rows) or index is not None and index.d != int(meta["dim"]):
        raise UserError("err.rag.inconsistent", name=name, vectors=n_index, chunks=len(rows),
                        hint="err.rag.rebuild.hint")
    kb = KnowledgeBase(name=folder.name, path=folder, meta=meta, chunks=rows, index=index)
    lexical_dir = folder / LEXICAL_DIR
    if not rows or lexical.LexicalIndex.saved_in(lexical_dir):
        kb.lexical = lexical.LexicalIndex.load(lexical_dir, len(rows))
        if kb.lexical.indexed_rows() == len(rows):
            return kb
    log.warning("knowledge base %s has no lexical index matching its %d chunks: building it", name, len(rows))
    _save(kb)   # builds the lexical index from the chunks
    kb.notes.append(Msg("knowledge.upgraded_lexical", name=kb.name, chunks=len(rows)))
    return kb


def get_kb(name: str) -> KnowledgeBase:
    """A loaded base from the process-wide cache, reloaded when its revision changed on disk.

    The Knowledge page, the Chat page's retrieval and the CLI all use this, so a base's index
    is held in memory once per process (at most MAX_CACHED_KBS bases).
    """
    current = revision(name)
    if current < 0:
        read_meta(name)  # raises the "not found" UserError
    with _LOADED_LOCK:
        cached = _LOADED.get(name)
        if cached is not None and cached.revision == current:
            return cached
        kb = load_kb(name)
        _LOADED.pop(name, None)
        _LOADED[name] = kb
        while len(_LOADED) > MAX_CACHED_KBS:
            _LOADED.pop(next(iter(_LOADED)))
        return kb


def unload_kbs() -> None:
    """Forget every cached base (their memory is freed once no page holds them)."""
    with _LOADED_LOCK:
        _LOADED.clear()


def _save(kb: KnowledgeBase, *, bump: bool = True) -> None:
    """Write meta + chunks + index into a staging folder, then swap it in atomically."""
    import faiss

    if bump:
        kb.meta["revision"] = int(kb.meta.get("revision", 0)) + 1
        kb.meta["updated"] = time.time()
    kb.meta["chunks"] = len(kb.chunks)
    kb.meta["format_version"] = FORMAT_VERSION
    kb.lexical = lexical.LexicalIndex.build([row["text"] for row in kb.chunks])
    with workspace.staged_dir(kb.path, lock_timeout=KB_LOCK_WAIT_S) as staging:
        with open(staging / CHUNKS_FILE, "w", encoding="utf-8") as fh:
            for row in kb.chunks:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        if kb.index is not None and kb.index.ntotal:
            faiss.write_index(kb.index, str(staging / INDEX_FILE))
        kb.lexical.save(staging / LEXICAL_DIR)
        (staging / META_FILE).write_text(json.dumps(kb.meta, ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")


@_kb_writer
def delete_kb(name: str) -> None:
    target = kb_dir(name)
    if not target.exists():
        raise UserError("err.rag.not_found", name=name)
    shutil.rmtree(target)
    with _LOADED_LOCK:
        _LOADED.pop(target.name, None)


# ---------------------------------------------------------------- embedder check and index building

def _checked_embedder(meta: dict, spec: str | None = None) -> embeddings.Embedder:
    stored = meta["embedder"]
    label = embeddings.embedder_display_name(stored)
    if spec is not None and str(spec).strip():
        wanted, _ = embeddings.resolve_embedder(spec)
        if wanted != stored:
            raise UserError("err.rag.embedder_other", name=meta["name"], label=label, dim=meta["dim"],
                            wanted=embeddings.embedder_display_name(wanted), field="embedder",
                            hint="err.rag.embedder_other.hint")
    emb = embeddings.get_embedder(None if stored == embeddings.DEFAULT_EMBEDDER else stored)
    if emb.dim != int(meta["dim"]):
        raise UserError("err.rag.embedder_dim", label=label, now=emb.dim, name=meta["name"], dim=meta["dim"],
                        field="embedder", hint="err.rag.embedder_dim.hint")
    return emb


def build_index(vectors, index_type: str):
    """A FAISS inner-product index of the given type holding ``vectors`` (n, dim) float32."""
    import faiss

    dim = vectors.shape[1]
    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    return index


def _all_vectors(kb: KnowledgeBase):
    import numpy as np

    if kb.index is None or kb.index.ntotal == 0:
        return np.zeros((0, int(kb.meta["dim"])), dtype="float32")
    return kb.index.reconstruct_n(0, kb.index.ntotal)


# ---------------------------------------------------------------- ingest

def _as_source(item) -> SourceFile:
    return item if isinstance(item, SourceFile) else SourceFile(path=Path(item))


def _expand(items: Iterable) -> list[SourceFile]:
    out: list[SourceFile] = []
    for item in items:
        src = _as_source(item)
        if src.data is None and src.path.is_dir():
            out.extend(SourceFile(path=p) for p in loaders.expand_paths([src.path]))
        else:
            out.append(src)
    return out


@_kb_writer
def ingest(name: str, items: Iterable, *, embedder: str | None = None,
           chunk_size: int | None = None, overlap: int | None = None,
           progress: Callable[[IngestProgress], None] | None = None) -> IngestReport:
    """Add files and folders to a base; a file that fails is reported and the rest go in.

    Args:
        name: knowledge base name.
        items: paths (files or folders, walked recursively) or ``SourceFile`` (uploads).
        embedder: if given, must be the base's embedder (a mismatch is refused).
        chunk_size, overlap: override the base's defaults for these files.
        progress: called with an ``IngestProgress`` as each file is read, embedded and done.
    Returns:
        An IngestReport: per file its chunk count or the reason it was skipped.
    A file already in the base (same source) is skipped when unchanged and replaced otherwise.

    All files are read and chunked first, then every new chunk is embedded in one pass sorted
    by length (``Embedder.encode``), so batches are full and barely padded however the chunks
    are spread over files; the "embedding" progress then counts the chunks of all files.
    """
    import numpy as np

    started = time.time()
    kb = load_kb(name)
    emb = kb.embedder(embedder)
    size = int(chunk_size or kb.meta["chunk_size"])
    ovl = int(kb.meta["overlap"] if overlap is None else overlap)
    chunking.validate_sizes(size, ovl)
    files = _expand(items)
    by_source = {d["source"]: d for d in kb.documents}
    results: list[FileResult] = []
    new_docs, new_rows, replaced = [], [], set()
    embedded: list[tuple[int, SourceFile, FileResult]] = []   # files whose chunks wait for embedding

    def report(i, src, stage, done=0, total=0, result=None):
        if progress:
            progress(IngestProgress(i, len(files), src.label, stage, done, total, result))

    for i, src in enumerate(files):
        t0 = time.time()
        result = FileResult(path=src.label)
        report(i, src, "reading")
        try:
            if src.data is not None:
                loaded = loaders.load_bytes(src.data, src.path.name)
                file_digest = hashlib.sha256(src.data).hexdigest()
            else:
                loaded = loaders.load_file(src.path)
                src.source = src.source or str(src.path.resolve())
                file_digest = hashlib.sha256(src.path.read_bytes()).hexdigest()
            result.format, result.encoding = loaded.format, loaded.encoding
            digest = hashlib.sha256(loaded.text.encode("utf-8")).hexdigest()
            source = src.label
            old = by_source.get(source)
            if old is not None and old["sha256"] == digest and old["id"] not in replaced:
                result.chunks, result.note = old["chunks"], NOTE_UNCHANGED
            else:
                chunks = chunking.chunk_text(loaded.text, size, ovl)
                doc_id = uuid.uuid4().hex[:12]
                if old is not None:
                    replaced.add(old["id"])
                    result.note = NOTE_REPLACED
                doc = {"id": doc_id, "source": source, "name": Path(src.path).name,
                       "format": loaded.format, "encoding": loaded.encoding, "chunks": len(chunks),
                       "chars": len(loaded.text), "sha256": digest, "file_sha256": file_digest,
                       "added": time.time(),
                       "chunk_size": size, "overlap": ovl}
                by_source[source] = doc
                new_docs.append(doc)
                new_rows.extend({"doc": doc_id, "pos": c.index, "text": c.text, "start": c.start,
                                 "end": c.end} for c in chunks)
                result.chunks = len(chunks)
        except UserError as err:
            result.error = err.msg()
        except Exception as err:  # one strange file must not stop the others; the reason is shown
            log.exception("ingest of %s failed", src.label)
            result.error = Msg("err.rag.load.unreadable", reason=f"{type(err).__name__}: {err}")
        result.seconds = round(time.time() - t0, 3)
        results.append(result)
        if result.error is None and result.note != NOTE_UNCHANGED:
            embedded.append((i, src, result))
        else:
            report(i, src, "done", result=result)

    added = len(new_rows)
    if embedded:
        last, last_src, _ = embedded[-1]
        report(last, last_src, "embedding", 0, added)
        t0 = time.time()
        fresh = emb.encode([row["text"] for row in new_rows],
                           progress=lambda d, t: report(last, last_src, "embedding", d, t))
        share = (time.time() - t0) / max(added, 1)   # embedding time, shared out by chunks
        for i, src, result in embedded:
            result.seconds = round(result.seconds + share * result.chunks, 3)
            report(i, src, "done", result=result)
    if new_docs:
        old_vectors = _all_vectors(kb)
        if replaced:
            keep = [r for r, row in enumerate(kb.chunks) if row["doc"] not in replaced]
            old_vectors = old_vectors[keep]
            kb.chunks = [kb.chunks[r] for r in keep]
            kb.meta["documents"] = [d for d in kb.documents if d["id"] not in replaced]
        kb.meta["documents"].extend(new_docs)
        kb.chunks.extend(new_rows)
        index_type = index_type_for(kb.meta["index_choice"], len(kb.chunks))
        if replaced or kb.index is None or index_type != kb.meta.get("index_type"):
            kb.index = build_index(np.vstack([old_vectors, fresh]), index_type)
        else:
            kb.index.add(fresh)
        kb.meta["index_type"] = index_type
        _save(kb)
    return IngestReport(files=results, chunks=added, total_chunks=len(kb.chunks),
                        seconds=time.time() - started)


# ---------------------------------------------------------------- delete a document / rebuild

def find_document(kb: KnowledgeBase, ref: str) -> dict:
    """A document by id, source or file name (the name must be unambiguous)."""
    for key in ("id", "source"):
        for doc in kb.documents:
            if doc[key] == ref:
                return doc
    by_name = [d for d in kb.documents if d["name"] == ref]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise UserError("err.rag.doc_ambiguous", n=len(by_name), ref=ref, hint="err.rag.doc_ambiguous.hint")
    raise UserError("err.rag.doc_missing", ref=ref, name=kb.name, hint="err.rag.doc_missing.hint")


@_kb_writer
def delete_document(name: str, ref: str) -> dict:
    """Remove one document's chunks from the base; returns the removed document's entry."""
    kb = load_kb(name)
    doc = find_document(kb, ref)
    _drop_documents(kb, {doc["id"]})
    return doc


@_kb_writer
def delete_documents(name: str, doc_ids: Iterable[str]) -> list[dict]:
    """Remove several documents (by id) in one save; returns their entries."""
    kb = load_kb(name)
    ids = set(doc_ids)
    gone = [d for d in kb.documents if d["id"] in ids]
    if gone:
        _drop_documents(kb, ids)
    return gone


def _drop_documents(kb: KnowledgeBase, ids: set[str]) -> None:
    keep = [r for r, row in enumerate(kb.chunks) if row["doc"] not in ids]
    vectors = _all_vectors(kb)[keep]
    kb.chunks = [kb.chunks[r] for r in keep]
    kb.meta["documents"] = [d for d in kb.documents if d["id"] not in ids]
    kb.meta["index_type"] = index_type_for(kb.meta["index_choice"], len(kb.chunks))
    kb.index = build_index(vectors, kb.meta["index_type"]) if len(vectors) else None
    _save(kb)


@_kb_writer
def update_meta(name: str, **fields) -> KbInfo:
    """Set top-level meta.json fields that do not touch the indexes (e.g. ``sync``); no new revision."""
    folder = kb_dir(name)
    meta = read_meta(name)
    meta.update(fields)
    workspace.atomic_write_json(folder / META_FILE, meta)
    return _info_from_meta(meta, folder)


@_kb_writer
def rebuild(name: str, *, index: str | None = None, reembed: bool = False,
            progress: Callable[[int, int], None] | None = None) -> KbInfo:
    """Rebuild the index, optionally switching its type (auto/flat/hnsw) or re-embedding all chunks.

    Re-embedding also repairs a base whose model folder changed dimension: the base then takes
    the model's current dimension.
    """
    kb_meta = read_meta(name)
    choice = _check_index_choice(index or kb_meta.get("index_choice", "auto"))
    if reembed:
        folder = kb_dir(name)
        rows = workspace.read_jsonl(folder / CHUNKS_FILE)
        stored = kb_meta["embedder"]
        emb = embeddings.get_embedder(None if stored == embeddings.DEFAULT_EMBEDDER else stored)
        vectors = emb.encode([r["text"] for r in rows], progress=progress)
        kb_meta["dim"] = emb.dim
        kb = KnowledgeBase(name=folder.name, path=folder, meta=kb_meta, chunks=rows)
    else:
        kb = load_kb(name)
        vectors = _all_vectors(kb)
    kb.meta["index_choice"] = choice
    kb.meta["index_type"] = index_type_for(choice, len(kb.chunks))
    kb.index = build_index(vectors, kb.meta["index_type"]) if len(vectors) else None
    _save(kb)
    return kb.info()
