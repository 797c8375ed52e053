"""The Chat page's knowledge-base switch and the sources shown under a grounded answer.

    rag = rag_settings()           # in the Chat sidebar; None while the switch is off
    hits = core.rag.retrieval.retrieve(rag, prompt) if rag else []     # once per question
    messages = core.rag.prompting.build_grounded_messages(history, hits, rag.template)
    ...                            # every side-by-side pane gets these same messages
    show_sources(hits)             # under the answer (Hit objects or their to_dict())

Widgets render into the current container (call it inside ``with st.sidebar:``); their keys
start with ``rag_``. The template follows the UI language until the user edits it.
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.rag.prompting import DEFAULT_TEMPLATES, check_template, default_template
from core.rag.retrieval import DEFAULT_K, Hit, RagSettings
from ui.common import lang, show_user_error, tr
from core.untrusted import inert_markdown
from ui.state import KEEP

ENABLED_KEY = "rag_enabled"
KB_KEY = "rag_kb"
K_KEY = "rag_k"
THRESHOLD_KEY = "rag_threshold"
NEIGHBORS_KEY = "rag_neighbors"
TEMPLATE_KEY = "rag_template"
DEFAULT_THRESHOLD = 0.25


def _sync_template_language() -> None:
    """Show the default template of the current language unless the user wrote their own."""
    current = st.session_state.get(TEMPLATE_KEY)
    if current is None or current in DEFAULT_TEMPLATES.values():
        st.session_state[TEMPLATE_KEY] = default_template(lang())


def _reset_template() -> None:
    st.session_state[TEMPLATE_KEY] = default_template(lang())


def rag_settings() -> RagSettings | None:
    """The RAG switch and its settings; returns None while it is off or no base exists."""
    from core.rag import store

    enabled = st.toggle(tr("rag.enable"), key=ENABLED_KEY, persist_state=KEEP, help=tr("rag.enable_help"))
    if not enabled:
        return None
    names = [info.name for info in store.list_kbs()]
    if not names:
        st.info(tr("rag.no_kb"))
        return None
    if st.session_state.get(KB_KEY) not in names:
        st.session_state[KB_KEY] = names[0]
    kb = st.selectbox(tr("rag.kb"), names, key=KB_KEY, persist_state=KEEP)
    with st.expander(tr("rag.settings"), expanded=False):
        k = st.slider(tr("rag.top_k"), 1, 20, DEFAULT_K, key=K_KEY, persist_state=KEEP)
        threshold = st.slider(tr("rag.threshold"), 0.0, 1.0, DEFAULT_THRESHOLD, step=0.05,
                              key=THRESHOLD_KEY, persist_state=KEEP, help=tr("rag.threshold_help"))
        neighbors = st.number_input(tr("rag.neighbors"), 0, 5, 0, key=NEIGHBORS_KEY, persist_state=KEEP,
                                    help=tr("rag.neighbors_help"))
        _sync_template_language()
        template = st.text_area(tr("rag.template"), key=TEMPLATE_KEY, persist_state=KEEP, height=180,
                                help=tr("rag.template_help"))
        st.button(tr("rag.template_reset"), key="rag_template_reset", on_click=_reset_template)
        try:
            check_template(template)
        except UserError as err:
            show_user_error(err)
    return RagSettings(kb=kb, k=int(k), threshold=float(threshold), neighbors=int(neighbors),
                       template=template, lang=lang())


def _as_hit(hit) -> Hit:
    return hit if isinstance(hit, Hit) else Hit.from_dict(dict(hit))


def show_sources(hits, *, expanded: bool = False) -> None:
    """Under an answer: an expander listing each passage with its file, chunk and score."""
    hits = [_as_hit(h) for h in (hits or [])]
    if not hits:
        st.caption(tr("rag.no_sources"))
        return
    with st.expander(tr("rag.sources", n=len(hits)), expanded=expanded):
        for rank, hit in enumerate(hits, 1):
            st.markdown(f"**{tr('rag.source_line', rank=rank, name=inert_markdown(hit.name or hit.source), chunk=hit.chunk, score=hit.score)}**")
            st.caption(inert_markdown(hit.source))
            st.text(hit.text)
