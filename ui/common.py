"""Page set-up shared by every page: language, text lookup, messages for user errors.

Each page starts with ``lang = page_start("datasets.title")`` and then writes text with
``tr("key")``. Pages must also work when run alone (AppTest.from_file), so nothing here
relies on Home.py having run first.
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.i18n import LANGUAGES, t
from core.untrusted import inert_markdown

LANG_KEY = "ui_lang"
FLASH_KEY = "ui_flash"  # (kind, message) shown once after a rerun


def lang() -> str:
    return st.session_state.get(LANG_KEY, "en")


def tr(key: str, **fmt) -> str:
    """The UI text for ``key`` in the current language."""
    return t(key, lang(), **fmt)


def language_selector() -> None:
    """Sidebar language switch; the choice lives in session state for every page."""
    current = lang()
    options = list(LANGUAGES)
    choice = st.sidebar.selectbox(
        "Language / 语言", options, index=options.index(current),
        format_func=LANGUAGES.get, key="ui_lang_select",
    )
    if choice != current:
        st.session_state[LANG_KEY] = choice
        st.rerun()


def page_start(title_key: str) -> str:
    """Title + language switch; returns the language code."""
    language_selector()
    st.title(tr(title_key))
    return lang()


def show_user_error(err: Exception) -> None:
    """A user-caused error as a clear message (never a traceback)."""
    if isinstance(err, UserError):
        st.error(inert_markdown(err.text(lang())))  # it may quote a file name or a row
    else:
        st.error(inert_markdown(f"{type(err).__name__}: {err}"))


def flash(kind: str, message: str) -> None:
    """Remember a message (``kind`` = success/info/warning/error) to show after the next rerun."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    pending = st.session_state.pop(FLASH_KEY, None)
    if pending:
        getattr(st, pending[0])(pending[1])


def show_untrusted(text: str, empty: str = "") -> None:
    """Text from outside — a dataset row, a model answer, a retrieved passage, a probe answer — as
    Markdown that makes the browser fetch nothing (no images, no raw HTML: core.untrusted)."""
    st.markdown(inert_markdown(text) if text and text.strip() else empty)


def stream_untrusted(chunks) -> str:
    """Stream a model answer into the page like ``show_untrusted``; returns the whole text.

    (``st.write_stream`` would draw each partial answer as plain Markdown, images included.)
    """
    box = st.empty()
    text = ""
    for chunk in chunks:
        text += chunk
        box.markdown(inert_markdown(text) + " ▌")
    box.markdown(inert_markdown(text))
    return text
