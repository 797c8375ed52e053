"""The lexical half of a knowledge base: a BM25 index (``bm25s``) over the same chunk rows as FAISS.

Words are found the same way for chunks and queries (``tokenize``): Latin-script words are
lower-cased, the library's English stop words dropped and the rest stemmed (PyStemmer, so
"parents" matches "parent"); runs of Chinese characters are cut into words by jieba (search
mode, so 青藏高原 also yields 高原) with Chinese stop words dropped. Row i of the index is
chunk row i of the base, exactly as for the vectors.

BM25 statistics (document frequencies, average length) belong to the whole corpus, so the index
is rebuilt from the chunk texts whenever the base changes: adding or deleting a document gives
the same index as building it from scratch, which is what keeps the two halves in step.

    >>> index = LexicalIndex.build(["Thetis was his mother.", "青藏高原是世界屋脊。"])   # doctest: +SKIP
    >>> index.search("mother of Achilles", 5)
    [(0, 0.62)]
    >>> index.save(folder); LexicalIndex.load(folder).size
    2
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

# Anserini's BM25 defaults (k1=0.9, b=0.4): on tests/data/wiki_questions.jsonl they retrieve
# better than bm25s' own (1.5, 0.75); figures in docs/BENCHMARKS.md.
BM25_K1 = 0.9
BM25_B = 0.4
BM25_METHOD = "lucene"
PARAMS_FILE = "params.index.json"   # written by bm25s.BM25.save; its presence marks a saved index

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_CHINESE)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary load on stderr otherwise
    return jieba


def tokenize(text: str) -> list[str]:
    """The index terms of ``text``: stemmed English words and jieba-cut Chinese words, no stop words.

        >>> tokenize("Who were the parents of Achilles? 青藏高原")        # doctest: +SKIP
        ['who', 'were', 'parent', 'achill', '青藏', '高原', '青藏高原']
    """
    stop = _stop_words()
    latin: list[str] = []
    chinese: list[str] = []
    for word in _WORD.findall(text.lower()):
        if _CJK.search(word):
            chinese.extend(w for w in _jieba().cut_for_search(word) if w.strip() and w not in stop)
        elif len(word) > 1 and word not in stop:
            latin.append(word)
    return _stemmer().stemWords(latin) + chinese


class LexicalIndex:
    """A BM25 index over chunk texts; ``search`` returns (row, score) best first, score > 0."""

    def __init__(self, model, size: int):
        self.model = model
        self.size = size

    @classmethod
    def build(cls, texts: list[str]) -> "LexicalIndex":
        import bm25s

        model = bm25s.BM25(method=BM25_METHOD, k1=BM25_K1, b=BM25_B)
        if texts:
            model.index([tokenize(t) for t in texts], show_progress=False)
        return cls(model, len(texts))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.size:
            self.model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, size: int) -> "LexicalIndex":
        """The index saved in ``folder`` for a base of ``size`` chunks (an empty base has none)."""
        import bm25s

        if not size:
            return cls.build([])
        model = bm25s.BM25.load(str(folder), load_corpus=False, show_progress=False)
        return cls(model, size)

    @staticmethod
    def saved_in(folder: Path) -> bool:
        return (folder / PARAMS_FILE).is_file()

    def indexed_rows(self) -> int:
        """How many rows the saved statistics cover (compared with the chunk count on load)."""
        if not self.size:
            return 0
        return int(self.model.scores["num_docs"])

    def search(self, query: str, n: int) -> list[tuple[int, float]]:
        """The ``n`` best rows for ``query`` that share at least one term with it."""
        import numpy as np

        terms = tokenize(query)
        if not self.size or not terms:
            return []
        scores = self.model.get_scores(terms)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]
