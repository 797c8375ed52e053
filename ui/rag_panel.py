"""The Chat page's knowledge-base switch and the sources shown under a grounded answer.

    rag = rag_settings()           # in the Chat sidebar; None while the switch is off
    hits = core.rag.retrieval.retrieve(rag, prompt) if rag else []     # once per question
    messages = core.rag.prompting.build_grounded_messages(history, hits, rag.template)
    ...                            # every side-by-side pane gets these same messages
    show_sources(hits)             # under the answer (Hit objects or their to_dict())
    show_passage(text, query)      # a passage as plain text, the sentences matching the query marked

Widgets render into the current container (call it inside ``with st.sidebar:``); their keys
start with ``rag_``. The template follows the UI language until the user edits it.
"""
from __future__ import annotations

import html

import streamlit as st

from core.errors import UserError
from core.rag.prompting import DEFAULT_TEMPLATES, check_template, default_template
from core.rag.retrieval import DEFAULT_K, DEFAULT_MODE, MODES, Hit, RagSettings, highlight
from ui.common import lang, show_user_error, tr
from core.untrusted import inert_markdown
from ui.state import KEEP

ENABLED_KEY = "rag_enabled"
KB_KEY = "rag_kb"
K_KEY = "rag_k"
THRESHOLD_KEY = "rag_threshold"
NEIGHBORS_KEY = "rag_neighbors"
TEMPLATE_KEY = "rag_template"
MODE_KEY = "rag_mode"
RERANKER_KEY = "rag_reranker"
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
        mode = mode_picker(MODE_KEY)
        k = st.slider(tr("rag.top_k"), 1, 20, DEFAULT_K, key=K_KEY, persist_state=KEEP)
        threshold = st.slider(tr("rag.threshold"), 0.0, 1.0, DEFAULT_THRESHOLD, step=0.05,
                              key=THRESHOLD_KEY, persist_state=KEEP, help=tr("rag.threshold_help"))
        neighbors = st.number_input(tr("rag.neighbors"), 0, 5, 0, key=NEIGHBORS_KEY, persist_state=KEEP,
                                    help=tr("rag.neighbors_help"))
        reranker = st.text_input(tr("rag.reranker"), key=RERANKER_KEY, persist_state=KEEP,
                                 placeholder="/data/models/bge-reranker-base", help=tr("rag.reranker_help"))
        _sync_template_language()
        template = st.text_area(tr("rag.template"), key=TEMPLATE_KEY, persist_state=KEEP, height=180,
                                help=tr("rag.template_help"))
        st.button(tr("rag.template_reset"), key="rag_template_reset", on_click=_reset_template)
        try:
            check_template(template)
        except UserError as err:
            show_user_error(err)
    return RagSettings(kb=kb, k=int(k), threshold=float(threshold), neighbors=int(neighbors),
                       template=template, lang=lang(), mode=mode, reranker=reranker.strip())


def mode_picker(key: str) -> str:
    """The search-mode choice (hybrid / dense / lexical), hybrid preselected."""
    return st.radio(tr("rag.mode"), MODES, index=MODES.index(DEFAULT_MODE), key=key, persist_state=KEEP,
                    horizontal=True,
                    format_func=lambda m: tr(f"rag.mode_{m}"), help=tr("rag.mode_help"))


def show_passage(text: str, query: str) -> None:
    """``text`` as plain text (document content is escaped, never HTML), matching sentences marked."""
    parts = []
    for piece, matched in highlight(text, query) if query else [(text, False)]:
        escaped = html.escape(piece)
        parts.append(f'<mark style="background:#fde68a;color:inherit">{escaped}</mark>' if matched else escaped)
    st.html('<div style="white-space:pre-wrap;font-size:0.9rem;line-height:1.5">' + "".join(parts) + "</div>")


def rank_caption(hit: Hit) -> str:
    """"dense #2 · words #1" (and the rank before reranking), in the page language."""
    parts = [tr("rag.rank_dense", rank=hit.dense_rank) if hit.dense_rank else tr("rag.rank_dense_none"),
             tr("rag.rank_lexical", rank=hit.lexical_rank) if hit.lexical_rank else tr("rag.rank_lexical_none")]
    if hit.rerank_score is not None:
        parts.append(tr("rag.rank_rerank", before=hit.rank_before, score=hit.rerank_score))
    return " · ".join(parts)


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
            st.caption(tr("rag.source_position", source=inert_markdown(hit.source), first=hit.first, last=hit.last,
                          start=hit.start, end=hit.end) + " · " + rank_caption(hit))
            show_passage(hit.text, hit.query)
