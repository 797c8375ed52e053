"""Loaded models shared by the Chat and Compare pages: one cached copy per (model, quantization).

A LoadedModel holds one set of base weights and switches adapters on it, so side-by-side
chat and checkpoint comparison never load a second copy. "Unload" clears the cache.
"""
from __future__ import annotations

import gc
import sys

import streamlit as st

from core.errors import UserError
from ui.state import KEEP


MAX_LOADED = 2  # models kept in memory at once; the least recently used one is dropped


@st.cache_resource(max_entries=MAX_LOADED, show_spinner=False)
def _load(model_path: str, quantization: str):
    from core.models.loading import load_base

    return load_base(model_path, quantization=quantization)


_LOADED: dict[tuple[str, str], None] = {}  # mirrors the cache's keys (ordered), for every session


def get_loaded_model(model: str, quantization: str = "none"):
    """The cached LoadedModel for a model name or path (loaded on first use)."""
    from core.models.registry import resolve_model

    path = str(resolve_model(model))
    with st.spinner(f"Loading {model} …"):
        loaded = _load(path, quantization)
    _LOADED.pop((model, quantization), None)
    _LOADED[(model, quantization)] = None
    while len(_LOADED) > MAX_LOADED:
        _LOADED.pop(next(iter(_LOADED)))
    return loaded


def is_loaded(model: str, quantization: str) -> bool:
    """Whether the model is already in memory (answers without loading anything)."""
    return (model, quantization) in _LOADED


def unload_all() -> None:
    """Drop every cached model and give the memory back."""
    _load.clear()
    _LOADED.clear()
    gc.collect()
    torch = sys.modules.get("torch")  # only if some page already imported it
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def model_picker(key: str, label: str) -> str | None:
    """A select box of local models; offers to build demo-tiny when there is none."""
    from core.models.demo import ensure_demo_model
    from core.models.registry import list_models
    from ui.common import tr

    models = list_models()
    if not models:
        st.info(tr("common.no_models"))
        if st.button(tr("common.build_demo"), key=f"{key}_build_demo", type="primary"):
            try:
                with st.spinner("…"):
                    ensure_demo_model()
            except (UserError, OSError) as err:
                st.error(str(err))
            st.rerun()
        return None
    names = [m.name for m in models]
    return st.selectbox(label, names, key=key, persist_state=KEEP)
