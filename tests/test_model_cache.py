"""The in-memory model caches by their contents: ui.models keeps at most MAX_LOADED models (the least
recently used one goes), returns the same object while cached, and "Unload" empties it; the RAG
embedder cache loads each folder once and unload_embedders forgets them."""
from __future__ import annotations

import pytest


@pytest.fixture()
def three_models(workbench_home, tiny_model_path):
    models = workbench_home / "models"
    models.mkdir(parents=True)
    for name in ("one", "two", "three"):
        (models / name).symlink_to(tiny_model_path, target_is_directory=True)
    from ui import models as ui_models

    ui_models.unload_all()
    yield ui_models
    ui_models.unload_all()


def test_model_cache_keeps_the_two_most_recent_and_unload_empties_it(three_models):
    ui_models = three_models
    assert ui_models.MAX_LOADED == 2
    first = ui_models.get_loaded_model("one")
    assert ui_models.get_loaded_model("one") is first and ui_models.is_loaded("one", "none")
    second = ui_models.get_loaded_model("two")
    assert second is not first and [ui_models.is_loaded(n, "none") for n in ("one", "two")] == [True, True]
    ui_models.get_loaded_model("three")  # a third model drops the least recently used one ("one")
    assert [ui_models.is_loaded(n, "none") for n in ("one", "two", "three")] == [False, True, True]
    assert ui_models.get_loaded_model("two") is second  # still the cached copy
    assert ui_models.get_loaded_model("one") is not first  # loaded again
    assert not ui_models.is_loaded("one", "8bit")  # a quantization is its own entry
    ui_models.unload_all()
    assert [ui_models.is_loaded(n, "none") for n in ("one", "two", "three")] == [False, False, False]
    assert ui_models.get_loaded_model("two") is not second


def test_embedder_cache_loads_once_and_unload_forgets():
    from core.rag import embeddings

    embeddings.unload_embedders()
    first = embeddings.get_embedder(None)
    assert embeddings.get_embedder(None) is first
    assert embeddings.loaded_embedders() == [str(embeddings.default_embedder_path())]
    assert first.dim == 384 and first.encode_query("hello").shape == (1, 384)
    embeddings.unload_embedders()
    assert embeddings.loaded_embedders() == []
    assert embeddings.get_embedder(None) is not first
    embeddings.unload_embedders()
