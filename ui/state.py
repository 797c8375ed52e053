"""Choices that survive navigation: every page's widgets keep their values for the browser session.

Streamlit drops the state of a widget that was not drawn in a run, so leaving a page and coming
back used to wipe its form. Every input widget of a page is drawn with ``persist_state=KEEP``
(Streamlit's own session-scoped widget persistence: the value is kept under the widget's key
while the page is not shown, and fed back as the widget's value when it is drawn again; a value
that is no longer among the options falls back to the widget's default). Buttons, uploads and
chat inputs are actions, not choices, and are not kept. Tabs have no ``persist_state``:
``kept_tabs`` remembers the open tab by its text key, so it also survives a language switch.

    st.number_input("LoRA r", key="train_lora_r", persist_state=KEEP)
    import_tab, browse_tab = kept_tabs("ds_tab", ["datasets.tab_import", "datasets.tab_browse"])
"""
from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

KEEP = "session"  # the persist_state of every widget that holds a user's choice
_OPEN_TAB = "{key}__open"  # where kept_tabs remembers the open tab (its text key)


def kept_tabs(key: str, label_keys: Sequence[str]):
    """``st.tabs`` whose open tab is remembered across pages, reruns and language switches."""
    from ui.common import tr

    labels = [tr(k) for k in label_keys]
    by_label = dict(zip(labels, label_keys))
    remembered = st.session_state.get(_OPEN_TAB.format(key=key))
    default = labels[list(label_keys).index(remembered)] if remembered in label_keys else None
    if key in st.session_state and st.session_state[key] not in by_label:
        del st.session_state[key]  # the language changed: the tab's old label is no longer valid

    def remember() -> None:
        st.session_state[_OPEN_TAB.format(key=key)] = by_label.get(st.session_state.get(key), remembered)

    return st.tabs(labels, key=key, default=default, on_change=remember)


def open_tab(key: str, label_key: str) -> None:
    """Open ``label_key``'s tab on the next run (e.g. after an action that belongs to it)."""
    st.session_state[_OPEN_TAB.format(key=key)] = label_key
