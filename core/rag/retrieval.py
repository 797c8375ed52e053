"""Search a knowledge base: dense, lexical or hybrid top-k, a score threshold, neighbour expansion.

Three modes (``MODES``): ``dense`` ranks chunks by the cosine similarity of their vectors to the
query's, ``lexical`` by BM25 over their words (``core.rag.lexical``), and ``hybrid`` (the
default) fuses the two rankings by weighted reciprocal-rank fusion: a chunk scores
``1/(RRF_K + dense rank) + LEXICAL_WEIGHT/(RRF_K + lexical rank)`` over the best
``CANDIDATES`` of each list. Dense finds a passage phrased unlike the question; lexical finds the
one that names its words (a person, a code, a rare term) where dense ranks it low. Every hit
carries its cosine ``score``, and its ``dense_rank`` / ``lexical_rank`` (1-based, None when that
list did not have it among its candidates), so the preview can show why it was found.
An optional cross-encoder (``core.rag.rerank``) then re-scores the best candidates.

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
from core.rag import chunking, lexical
from core.rag.store import KnowledgeBase

DEFAULT_K = 5
MAX_K = 50
MODES = ("hybrid", "dense", "lexical")
DEFAULT_MODE = "hybrid"
RRF_K = 60            # the usual reciprocal-rank-fusion constant (Cormack et al., 2009)
CANDIDATES = 50       # chunks taken from each ranking before fusing
# Lexical votes count 3/4 of dense ones: measured on tests/data/wiki_questions.jsonl (0.953
# recall@5 against 0.93 at equal weight, docs/BENCHMARKS.md); words alone mislead more often.
LEXICAL_WEIGHT = 0.75


@dataclass
class RagSettings:
    """The RAG switch's choices: which base, how many passages, how good, how to prompt."""

    kb: str
    k: int = DEFAULT_K
    threshold: float = 0.0
    neighbors: int = 0
    template: str = ""      # "" = the default template for ``lang`` (see prompting)
    lang: str = "en"
    mode: str = DEFAULT_MODE
    reranker: str = ""      # a local cross-encoder folder; "" = no reranking


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
    mode: str = DEFAULT_MODE
    dense_rank: int | None = None     # 1-based rank in the dense list (None: not among its candidates)
    lexical_rank: int | None = None   # 1-based rank in the BM25 list (None: no shared word / not a candidate)
    lexical_score: float | None = None
    rerank_score: float | None = None  # the cross-encoder's score, when a reranker was used
    rank_before: int | None = None     # 1-based rank before reranking
    query: str = ""                    # what was searched for (to highlight the matching sentences)
    start: int = 0                     # character offsets of the matching chunk in its document
    end: int = 0

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


@dataclass
class Candidate:
    """A chunk row found for a query, with what each ranking said about it."""

    row: int
    cosine: float = 0.0
    dense_rank: int | None = None
    lexical_rank: int | None = None
    lexical_score: float | None = None
    fused: float = 0.0


def check_mode(mode: str) -> str:
    mode = (mode or DEFAULT_MODE).lower()
    if mode not in MODES:
        raise UserError("err.kb.unknown_mode", mode=mode, modes=", ".join(MODES), field="mode",
                        hint="err.kb.unknown_mode.hint")
    return mode


def rank_candidates(kb: KnowledgeBase, query: str, mode: str, n: int) -> list[Candidate]:
    """The best ``n`` chunk rows for ``query`` in ``mode``, best first, each with its cosine.

    The cosine of a chunk that only the lexical list found is computed from its stored vector,
    so every candidate has one (the threshold and the preview use it).
    """
    import numpy as np

    if kb.index is None or kb.index.ntotal == 0:
        return []
    vector = kb.embedder().encode_query(query)
    found: dict[int, Candidate] = {}
    pool = max(n, CANDIDATES)
    if mode in ("dense", "hybrid"):
        scores, ids = kb.index.search(vector, min(pool, kb.index.ntotal))
        for rank, (row, score) in enumerate(((int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0), 1):
            found[row] = Candidate(row=row, cosine=score, dense_rank=rank, fused=1 / (RRF_K + rank))
    if mode in ("lexical", "hybrid"):
        index = kb.lexical if kb.lexical is not None else lexical.LexicalIndex.build([r["text"] for r in kb.chunks])
        for rank, (row, score) in enumerate(index.search(query, pool), 1):
            cand = found.get(row)
            if cand is None:
                stored = kb.index.reconstruct(row).reshape(1, -1)
                cand = found[row] = Candidate(row=row, cosine=float(np.dot(stored, vector[0])[0]))
            cand.lexical_rank, cand.lexical_score = rank, score
            cand.fused += LEXICAL_WEIGHT / (RRF_K + rank)
    if mode == "dense":
        order = sorted(found.values(), key=lambda c: c.dense_rank)
    elif mode == "lexical":
        order = sorted(found.values(), key=lambda c: c.lexical_rank)
    else:
        order = sorted(found.values(), key=lambda c: (-c.fused, c.row))
    return order[:n]


def search(kb: KnowledgeBase, query: str, *, k: int = DEFAULT_K, threshold: float | None = None,
           neighbors: int = 0, mode: str = DEFAULT_MODE, reranker: str | None = None) -> list[Hit]:
    """The best ``k`` passages for ``query``, best first.

    Args:
        kb: a loaded base (``store.load_kb``).
        query: the user's text.
        k: how many chunks to fetch (1..50).
        threshold: drop chunks whose cosine similarity is below this (None/0 keeps all); a
            chunk the lexical ranking found (it shares the query's words) is kept regardless.
        neighbors: widen each hit by this many chunks on each side (0 = the chunk alone).
        mode: "hybrid" (default), "dense" or "lexical".
        reranker: a local cross-encoder folder: re-score the best candidates with it.
    Returns:
        Hits with text, score, ranks, source and chunk position; fewer than k after the
        threshold or when expanded windows merge.
    """
    query = (query or "").strip()
    if not query:
        raise UserError("err.rag.empty_query", field="query")
    if not 1 <= int(k) <= MAX_K:
        raise UserError("err.rag.top_k", max=MAX_K, k=k, field="k")
    if neighbors < 0:
        raise UserError("err.rag.neighbors", field="neighbors")
    mode = check_mode(mode)
    candidates = rank_candidates(kb, query, mode, MAX_K if (threshold or reranker) else int(k))
    if threshold:
        candidates = [c for c in candidates if c.cosine >= threshold or c.lexical_rank is not None]
    rank_before: dict[int, int] = {}
    rerank_scores: dict[int, float] = {}
    if reranker and candidates:
        from core.rag import rerank

        pool = candidates[:max(int(k), rerank.RERANK_CANDIDATES)]
        rank_before = {c.row: rank for rank, c in enumerate(pool, 1)}
        scores = rerank.get_reranker(reranker).score(query, [kb.chunks[c.row]["text"] for c in pool])
        rerank_scores = {c.row: s for c, s in zip(pool, scores)}
        candidates = sorted(pool, key=lambda c: -rerank_scores[c.row])
    candidates = candidates[:int(k)]
    hits: list[Hit] = []
    windows: list[tuple[str, int, int, Hit]] = []   # (doc, first, last, hit)
    for cand in candidates:
        row_id, score = cand.row, cand.cosine
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
                  name=doc.get("name", ""), doc_id=row["doc"], first=first, last=last, mode=mode,
                  dense_rank=cand.dense_rank, lexical_rank=cand.lexical_rank,
                  lexical_score=cand.lexical_score, rerank_score=rerank_scores.get(row_id),
                  rank_before=rank_before.get(row_id), query=query, start=row["start"], end=row["end"])
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
    return search(kb, query, k=settings.k, threshold=settings.threshold, neighbors=settings.neighbors,
                  mode=settings.mode, reranker=settings.reranker or None)


def highlight(passage: str, query: str) -> list[tuple[str, bool]]:
    """``passage`` cut into its sentences (whitespace kept), each marked True when it matched.

    A sentence matches when it shares the most query terms (``lexical.tokenize``: stemmed
    English words, jieba-cut Chinese words, no stop words) of all sentences, at least one.
    Joining the pieces gives back ``passage`` exactly.

        >>> highlight("Achilles was Greek. His mother was Thetis.", "Who was the mother of Achilles?")
        [('Achilles was Greek.', True), (' His mother was Thetis.', True)]
    """
    terms = set(lexical.tokenize(query))
    pieces, prev = [], 0
    for end in chunking.sentence_ends(passage) + [len(passage)]:
        if end > prev:
            pieces.append(passage[prev:end])
            prev = end
    merged: list[str] = []   # a piece of only whitespace joins the sentence before it
    for piece in pieces:
        if merged and not piece.strip():
            merged[-1] += piece
        else:
            merged.append(piece)
    overlap = [len(terms & set(lexical.tokenize(p))) for p in merged]
    best = max(overlap, default=0)
    return [(p, best > 0 and n == best) for p, n in zip(merged, overlap)]


@dataclass
class RetrievalCase:
    """A retrieval-test question and a piece of text the right passage contains."""

    question: str
    expected: str


def parse_test_cases(text: str) -> list[RetrievalCase]:
    """One case per line: a JSON object {"question", "answer"} (as tests/data/wiki_questions.jsonl),
    or ``question<TAB>expected`` or ``question | expected``. Blank lines are skipped.
    """
    import json

    cases = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        question = expected = ""
        if line.startswith("{"):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = {}
            if isinstance(row, dict):
                question = str(row.get("question") or "").strip()
                expected = str(row.get("answer") or row.get("expected") or "").strip()
        else:
            for sep in ("\t", " | "):
                if sep in line:
                    question, expected = (part.strip() for part in line.split(sep, 1))
                    break
        if not question or not expected:
            raise UserError("err.kb.test_line", line=number, field="cases", hint="err.kb.test_line.hint")
        cases.append(RetrievalCase(question, expected))
    if not cases:
        raise UserError("err.kb.test_empty", field="cases", hint="err.kb.test_line.hint")
    return cases


def evaluate(kb: KnowledgeBase, cases: list[RetrievalCase], *, k: int = DEFAULT_K,
             modes: tuple[str, ...] = MODES) -> dict:
    """recall@k per mode: the share of questions whose top-k passages contain the expected text.

    Returns ``{"k", "recall": {mode: float}, "cases": [{"question", "expected", mode: rank or None}]}``,
    where rank is the 1-based position of the first passage holding the expected text.
    """
    rows = [{"question": c.question, "expected": c.expected} for c in cases]
    recall = {}
    for mode in modes:
        found = 0
        for case, row in zip(cases, rows):
            hits = search(kb, case.question, k=k, mode=mode)
            rank = next((i for i, h in enumerate(hits, 1) if case.expected in h.text), None)
            row[mode] = rank
            found += rank is not None
        recall[mode] = found / len(cases) if cases else 0.0
    return {"k": k, "recall": recall, "cases": rows}
