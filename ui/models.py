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

    from ui.common import tr

    path = str(resolve_model(model))
    with st.spinner(tr("common.loading_model", model=model)):
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


def quantization_label(quantization: str) -> str:
    """How a quantization choice reads on every page."""
    from ui.common import tr

    return tr("common.quant." + quantization)


def quantization_select(key: str, label: str | None = None, default: str = "none", where=st) -> str:
    """The one select box for how a base is loaded (choices: core.train.config.QUANTIZATIONS)."""
    from core.train.config import QUANTIZATIONS
    from ui.common import tr

    options = list(QUANTIZATIONS)
    return where.selectbox(label or tr("common.quantization"), options, index=options.index(default), key=key,
                           format_func=quantization_label, persist_state=KEEP)


def build_demo_button(key: str) -> None:
    """The button that builds demo-tiny (offline, seconds) and redraws the page with it."""
    from core.models.demo import ensure_demo_model
    from ui.common import message_text, tr

    if st.button(tr("common.build_demo"), key=f"{key}_build_demo", type="primary"):
        try:
            with st.spinner(tr("common.building_demo")):
                ensure_demo_model()
        except (UserError, OSError) as err:
            st.error(message_text(err))
            return
        st.rerun()


def build_demo_block(key: str) -> None:
    """No model yet: say so and offer to build demo-tiny."""
    from ui.common import tr

    st.info(tr("common.no_models"))
    build_demo_button(key)


def model_picker(key: str, label: str) -> str | None:
    """A select box of local models; offers to build demo-tiny when there is none."""
    from core.models.registry import list_models

    models = list_models()
    if not models:
        build_demo_block(key)
        return None
    names = [m.name for m in models]
    return st.selectbox(label, names, key=key, persist_state=KEEP)
