"""Optional reranking: a local cross-encoder folder re-scores the best retrieved chunks.

A cross-encoder (e.g. a bge-reranker folder the user downloaded) reads the question and a
passage together, so it judges relevance better than comparing two separate vectors, at the
cost of one model call per passage; hence only the best ``RERANK_CANDIDATES`` chunks of the
first ranking are re-scored. Off by default (no folder given). Loaded models are cached per
folder, like the embedders.

    >>> get_reranker("/models/bge-reranker-base").score("who taught Aristotle?",
    ...                                                  ["Taught by Plato, he ...", "Apollo is ..."])   # doctest: +SKIP
    [7.9, -10.2]
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from core.errors import UserError

RERANK_CANDIDATES = 20

_CACHE: dict[str, "Reranker"] = {}
_LOCK = threading.Lock()


@dataclass
class Reranker:
    path: Path
    model: object

    def score(self, query: str, texts: list[str]) -> list[float]:
        """One relevance score per text (higher = more relevant; the model's own scale)."""
        if not texts:
            return []
        scores = self.model.predict([(query, t) for t in texts], show_progress_bar=False,
                                    convert_to_numpy=True)
        return [float(s) for s in scores.reshape(len(texts), -1)[:, -1]]


def get_reranker(folder: str | os.PathLike) -> Reranker:
    """Load (once per folder) the sentence-transformers CrossEncoder saved in ``folder``."""
    path = Path(folder).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise UserError("err.kb.reranker_missing", path=str(path), field="reranker",
                        hint="err.kb.reranker_missing.hint")
    key = str(path)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        try:
            model = CrossEncoder(str(path), local_files_only=True)  # GPU when there is one
        except Exception as err:  # a broken folder fails in many library-specific ways
            raise UserError("err.kb.reranker_unloadable", path=str(path), error=f"{type(err).__name__}: {err}",
                            field="reranker", hint="err.kb.reranker_missing.hint") from None
        reranker = Reranker(path=path, model=model)
        _CACHE[key] = reranker
        return reranker


def unload_rerankers() -> None:
    with _LOCK:
        _CACHE.clear()
