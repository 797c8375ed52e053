"""Password gate for a workbench bound beyond localhost.

./run.sh refuses a non-loopback address without WORKBENCH_PASSWORD; when one is set the app
asks for it in the browser before any page renders (compared in constant time).
"""
from __future__ import annotations

import hmac
import os

import streamlit as st

from ui.common import tr

AUTH_KEY = "ui_authenticated"


def require_password() -> None:
    """Stop the script until the right password is given (no-op when none is configured)."""
    password = os.environ.get("WORKBENCH_PASSWORD", "")
    if not password or st.session_state.get(AUTH_KEY):
        return
    st.title(tr("auth.title"))
    with st.form("login"):
        given = st.text_input(tr("auth.password"), type="password", key="login_password")
        submitted = st.form_submit_button(tr("auth.enter"))
    if submitted:
        if hmac.compare_digest(given.encode(), password.encode()):
            st.session_state[AUTH_KEY] = True
            st.rerun()
        st.error(tr("auth.wrong"))
    st.stop()
