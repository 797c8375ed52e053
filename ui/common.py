"""Page set-up shared by every page: language, text lookup, messages for user errors.

Each page starts with ``lang = page_start("datasets.title")`` and then writes text with
``tr("key")``. Pages must also work when run alone (AppTest.from_file), so nothing here
relies on Home.py having run first.

The language sticks: a session starts with ``?lang=`` from the URL, else the workspace default
(core.settings, saved whenever the user switches), else the browser's language
(``st.context.locale``); every page writes it back into the URL, so reloads, direct links,
bookmarks and new tabs keep it. Messages (flash, user errors, field errors) are kept as objects
and rendered when drawn, so they follow a language switch.
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.i18n import LANGUAGES, Msg, t
from core.untrusted import inert_markdown

LANG_KEY = "ui_lang"
LANG_SELECT_KEY = "ui_lang_select"
LANG_PARAM = "lang"  # ?lang=zh
FLASH_KEY = "ui_flash"  # (kind, message) shown once after a rerun


def browser_language() -> str:
    """``zh`` for a browser that prefers Chinese, else ``en``."""
    try:
        locale = st.context.locale or ""
    except (AttributeError, RuntimeError):  # no browser behind this run (bare script)
        locale = ""
    return "zh" if locale.lower().startswith("zh") else "en"


def first_language() -> str:
    """The language a new browser session starts with: URL, then workspace default, then browser."""
    from core.settings import load_settings

    asked = st.query_params.get(LANG_PARAM)
    if asked in LANGUAGES:
        return asked
    saved = load_settings().get(LANG_PARAM)
    return saved if saved in LANGUAGES else browser_language()


def lang() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        # Called outside a page run (AppTest formatting a select box's options afterwards): there
        # is no browser session to ask, and bare-mode session state is shared by every test.
        from core.settings import load_settings

        saved = load_settings().get(LANG_PARAM)
        return saved if saved in LANGUAGES else "en"
    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = first_language()
    return st.session_state[LANG_KEY]


def tr(key: str, **fmt) -> str:
    """The UI text for ``key`` in the current language."""
    return t(key, lang(), **fmt)


def set_language(code: str) -> None:
    """Switch the session's language, keep it in the URL and as the workspace default."""
    from core.settings import save_setting

    st.session_state[LANG_KEY] = code
    st.query_params[LANG_PARAM] = code
    try:
        save_setting(LANG_PARAM, code)
    except OSError:  # a read-only workspace: the URL and the session still carry the choice
        pass


def _on_language_select() -> None:
    from ui.state import restate_choices

    restate_choices()  # while every choice still decodes from the old language's labels
    set_language(st.session_state[LANG_SELECT_KEY])


def language_selector() -> None:
    """Sidebar language switch; the choice lives in session state, the URL and the workspace."""
    current = lang()
    st.session_state[LANG_SELECT_KEY] = current
    st.sidebar.selectbox("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get,
                         key=LANG_SELECT_KEY, on_change=_on_language_select)
    if st.query_params.get(LANG_PARAM) != current:
        st.query_params[LANG_PARAM] = current


def page_start(title_key: str) -> str:
    """Title + language switch; returns the language code."""
    language_selector()
    st.title(tr(title_key))
    return lang()


def message_text(message) -> str:
    """A message kept for later, in the current language: a UserError, a Msg, a {lang: text}
    dict or a plain text."""
    code = lang()
    if isinstance(message, UserError):
        return message.text(code)
    if isinstance(message, Msg):
        return message.render(code)
    if isinstance(message, dict):
        return message.get(code) or message.get("en") or ""
    return str(message)


def show_user_error(err: Exception) -> None:
    """A user-caused error as a clear message (never a traceback)."""
    if isinstance(err, UserError):
        st.error(inert_markdown(message_text(err)))  # it may quote a file name or a row
    else:
        st.error(inert_markdown(f"{type(err).__name__}: {err}"))


def flash(kind: str, message) -> None:
    """Remember a message (``kind`` = success/info/warning/error) to show after the next rerun.

    ``message`` is anything ``message_text`` renders; it is rendered when shown, in the
    language of that moment."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    """Show the remembered message here, once."""
    pending = st.session_state.pop(FLASH_KEY, None)
    if pending:
        getattr(st, pending[0])(message_text(pending[1]))


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
