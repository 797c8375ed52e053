"""Password gate: the app refuses a public bind without WORKBENCH_PASSWORD, and asks for it.

Bound beyond loopback (``server.address`` not 127.0.0.1 / ::1 / localhost) with no password set,
every page shows only a refusal — whether started by ./run.sh (which refuses too) or by a bare
``streamlit run``. With a password set, nothing renders before it is given (compared in constant
time); wrong ones slow down per session and for the whole server (core/gate.py) and are logged
without the password; uncaught error details are never sent to the browser.
"""
from __future__ import annotations

import hmac
import logging
import os
import time
import uuid

import streamlit as st

from core.gate import PASSWORD_ENV, LoginThrottle, is_loopback
from ui.common import tr

AUTH_KEY = "ui_authenticated"
SESSION_KEY = "ui_auth_session"
log = logging.getLogger("workbench.auth")


@st.cache_resource
def login_throttle() -> LoginThrottle:
    """One throttle for the whole server process (shared by every session)."""
    return LoginThrottle()


def require_password() -> None:
    """Stop the script unless this session may see the pages."""
    password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        address = st.get_option("server.address") or ""
        if not is_loopback(address):
            st.error(tr("auth.refuse_public", address=address or "*"))
            st.stop()
        return
    # Tracebacks and exception texts stay in the server's log, for everyone (the option is global).
    st.set_option("client.showErrorDetails", "none")
    if st.session_state.get(AUTH_KEY):
        return
    session = st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex)
    st.title(tr("auth.title"))
    with st.form("login"):
        given = st.text_input(tr("auth.password"), type="password", key="login_password")
        submitted = st.form_submit_button(tr("auth.enter"))
    if submitted:
        throttle = login_throttle()
        wait = throttle.wait_before(session)
        if wait > 0:
            time.sleep(wait)
        if hmac.compare_digest(given.encode(), password.encode()):
            throttle.succeeded(session)
            st.session_state[AUTH_KEY] = True
            log.info("workbench sign-in (session %s)", session[:8])
            st.rerun()
        failures = throttle.failed(session)
        log.warning("wrong workbench password (session %s, failure %d in this session; waited %.1f s)",
                    session[:8], failures, wait)
        st.error(tr("auth.wrong"))
        if failures > 1:
            st.caption(tr("auth.slowed"))
    st.stop()
