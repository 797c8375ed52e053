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

from collections.abc import Mapping, Sequence

import streamlit as st

KEEP = "session"  # the persist_state of every widget that holds a user's choice
_OPEN_TAB = "{key}__open"  # where kept_tabs remembers the open tab (its text key)
_LABEL_VALUED = ("string_value", "string_array_value")  # widgets whose browser state is their shown label


def kept_tabs(key: str, label_keys: Sequence[str]):
    """``st.tabs`` whose open tab is remembered across pages, reruns and language switches."""
    from ui.common import tr

    label_keys = list(label_keys)
    labels = [tr(k) for k in label_keys]
    by_label = dict(zip(labels, label_keys))
    open_key = _OPEN_TAB.format(key=key)
    if key in st.session_state:
        if st.session_state[key] in by_label:  # the tab open now (the user may just have clicked it)
            st.session_state[open_key] = by_label[st.session_state[key]]
        else:  # the language changed: the old label names no tab any more
            del st.session_state[key]
    remembered = st.session_state.get(open_key)
    default = labels[label_keys.index(remembered)] if remembered in label_keys else None
    return st.tabs(labels, key=key, default=default, on_change="rerun")


def restate_choices() -> None:
    """Hand every choice back to Streamlit as a value, before a language switch redraws the page.

    The browser holds a select box's, radio's or multiselect's choice as the label it shows
    (``format_func(value)``) and sends that label back. After a language switch the old label
    matches no option any more, so Streamlit would keep the label itself as the "value". Setting
    each choice again from Python (read while the old labels still decode) makes Streamlit format
    it afresh in the new language. Call it from the language switch's on_change callback."""
    from streamlit.runtime.state import get_session_state

    state = getattr(get_session_state(), "_state", None)
    if state is None or not hasattr(state, "get_widget_id_from_key"):
        return
    for key in list(st.session_state.keys()):
        widget_id = state.get_widget_id_from_key(key)
        metadata = state.get_widget_metadata(widget_id) if widget_id else None
        if metadata is None or metadata.value_type not in _LABEL_VALUED:
            continue
        value = st.session_state[key]
        plain = value is None or isinstance(value, (str, int, float)) or (
            isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value))
        if plain and not isinstance(value, Mapping):  # not a table edit or a chart selection
            st.session_state[key] = value
