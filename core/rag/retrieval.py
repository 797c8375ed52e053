"""Search a knowledge base: top-k chunks by cosine score, a score threshold, neighbour expansion.

Neighbour expansion widens each hit to the ±n chunks around it in its document and stitches
them back into one passage without repeating the overlap (chunks are exact slices of the
document, so their offsets tell how much to drop). Hits whose windows touch are merged into
the better-scoring one, so the prompt never carries the same text twice.

    >>> kb = store.load_kb("wiki")                                     # doctest: +SKIP
    >>> hits = search(kb, "Who taught Aristotle?", k=5, threshold=0.2, neighbors=1)
    >>> hits[0].source, hits[0].chunk, round(hits[0].score, 2)
    ('/data/wiki_demo.txt', 412, 0.61)

``RagSettings`` is what the Chat page's RAG switch produces (see ``ui/rag_panel.py``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from core.errors import UserError
from core.rag.store import KnowledgeBase

DEFAULT_K = 5
MAX_K = 50


@dataclass
class RagSettings:
    """The RAG switch's choices: which base, how many passages, how good, how to prompt."""

    kb: str
    k: int = DEFAULT_K
    threshold: float = 0.0
    neighbors: int = 0
    template: str = ""      # "" = the default template for ``lang`` (see prompting)
    lang: str = "en"


@dataclass
class Hit:
    text: str        # the passage (expanded with neighbours when asked)
    score: float     # cosine similarity of the matching chunk, -1..1
    source: str      # the document's source (path or upload name)
    chunk: int       # position of the matching chunk in its document (0-based)
    name: str = ""   # the document's file name
    doc_id: str = ""
    first: int = 0   # range of chunk positions the passage covers
    last: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Hit":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def merge_spans(rows: list[dict]) -> str:
    """Join chunk rows of one document (any order) into one text, dropping their overlap."""
    rows = sorted(rows, key=lambda r: r["start"])
    if not rows:
        return ""
    text, end = rows[0]["text"], rows[0]["end"]
    for row in rows[1:]:
        if row["end"] <= end:
            continue                      # wholly inside what we have
        if row["start"] < end:
            text += row["text"][end - row["start"]:]
        else:
            text += " " + row["text"]
        end = row["end"]
    return text


def _raw_search(kb: KnowledgeBase, query: str, k: int) -> list[tuple[int, float]]:
    if kb.index is None or kb.index.ntotal == 0:
        return []
    vector = kb.embedder().encode_query(query)
    scores, ids = kb.index.search(vector, min(k, kb.index.ntotal))
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def search(kb: KnowledgeBase, query: str, *, k: int = DEFAULT_K, threshold: float | None = None,
           neighbors: int = 0) -> list[Hit]:
    """The best ``k`` passages for ``query``, best first.

    Args:
        kb: a loaded base (``store.load_kb``).
        query: the user's text.
        k: how many chunks to fetch (1..50).
        threshold: drop chunks scoring below this cosine similarity (None/0 keeps all).
        neighbors: widen each hit by this many chunks on each side (0 = the chunk alone).
    Returns:
        Hits with text, score, source and chunk position; fewer than k after the threshold
        or when expanded windows merge.
    """
    query = (query or "").strip()
    if not query:
        raise UserError("err.rag.empty_query", field="query")
    if not 1 <= int(k) <= MAX_K:
        raise UserError("err.rag.top_k", max=MAX_K, k=k, field="k")
    if neighbors < 0:
        raise UserError("err.rag.neighbors", field="neighbors")
    found = _raw_search(kb, query, int(k))
    if threshold:
        found = [(r, s) for r, s in found if s >= threshold]
    hits: list[Hit] = []
    windows: list[tuple[str, int, int, Hit]] = []   # (doc, first, last, hit)
    for row_id, score in found:
        row = kb.chunks[row_id]
        doc = kb.document(row["doc"]) or {}
        pos = row["pos"]
        first, last = pos, pos
        if neighbors:
            while first > pos - neighbors and kb.row_of(row["doc"], first - 1) is not None:
                first -= 1
            while last < pos + neighbors and kb.row_of(row["doc"], last + 1) is not None:
                last += 1
            merged = next((w for w in windows if w[0] == row["doc"] and first <= w[2] + 1
                           and last >= w[1] - 1), None)
            if merged is not None:  # touches a better hit's window: widen that one instead
                hit = merged[3]
                hit.first, hit.last = min(hit.first, first), max(hit.last, last)
                windows[windows.index(merged)] = (row["doc"], hit.first, hit.last, hit)
                continue
        hit = Hit(text=row["text"], score=score, source=doc.get("source", ""), chunk=pos,
                  name=doc.get("name", ""), doc_id=row["doc"], first=first, last=last)
        hits.append(hit)
        windows.append((row["doc"], first, last, hit))
    if neighbors:
        for hit in hits:
            rows = [kb.chunks[kb.row_of(hit.doc_id, p)] for p in range(hit.first, hit.last + 1)]
            hit.text = merge_spans(rows)
    return hits


def retrieve(settings: RagSettings, query: str, kb: KnowledgeBase | None = None) -> list[Hit]:
    """``search`` with the RAG switch's settings (``kb`` = a loaded base, else the cached one)."""
    from core.rag import store

    kb = kb if kb is not None else store.get_kb(settings.kb)
    return search(kb, query, k=settings.k, threshold=settings.threshold, neighbors=settings.neighbors)
