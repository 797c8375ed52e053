"""Serve: a base model and its checkpoints behind an OpenAI-compatible API, as background jobs.

Shows each server's URL, model names, curl and Python `openai` snippets, the log tail and a parity
check (the same prompt greedy through the API and through the workbench's own chat). Servers are
read from their job folders (core.serve.server), so they show again after a reload or UI restart.
"""
from __future__ import annotations

import json

import streamlit as st

from core.errors import UserError
from ui.common import flash, page_start, show_flash, show_user_error, tr
from ui.models import model_picker
from ui.state import KEEP


def start_form() -> None:
    from core.serve.server import ENGINES, ServeRequest, start_server
    from core.train.runs import list_adapters

    model = model_picker("serve_model", tr("common.model"))
    if model is None:
        return
    adapters = st.multiselect(tr("serve.adapters"), [a.label for a in list_adapters()], key="serve_adapters", persist_state=KEEP)
    cols = st.columns(4)
    engine = cols[0].selectbox(tr("serve.engine"), ENGINES, key="serve_engine", persist_state=KEEP, help=tr("serve.engine.help"))
    host = cols[1].text_input(tr("serve.host"), "127.0.0.1", key="serve_host", persist_state=KEEP)
    port = cols[2].number_input(tr("serve.port"), 0, 65535, 0, key="serve_port", persist_state=KEEP)
    api_key = cols[3].text_input(tr("serve.api_key"), "", type="password", key="serve_api_key", persist_state=KEEP)
    if st.button(tr("serve.start"), key="serve_start", type="primary"):
        try:
            status = start_server(ServeRequest(model=model, adapters=adapters, engine=engine, host=host,
                                               port=int(port), api_key=api_key))
        except UserError as err:
            show_user_error(err)
            return
        flash("success", tr("serve.started", serve_id=status.serve_id))
        st.rerun()


def snippets(status, has_key: bool) -> None:
    model = status.models[-1]
    key = "YOUR_API_KEY" if has_key else "none"
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hello"}], "temperature": 0},
                      ensure_ascii=False)
    st.code(f"curl {status.url}/chat/completions \\\n  -H 'Content-Type: application/json' \\\n"
            f"  -H 'Authorization: Bearer {key}' \\\n  -d '{body}'", language="bash")
    st.code(f'from openai import OpenAI\n\nclient = OpenAI(base_url="{status.url}", api_key="{key}")\n'
            f'reply = client.chat.completions.create(\n    model="{model}",\n'
            f'    messages=[{{"role": "user", "content": "Hello"}}],\n    temperature=0,\n)\n'
            f'print(reply.choices[0].message.content)', language="python")


def parity(status) -> None:
    from core.serve.server import parity_check

    st.caption(tr("serve.parity.help"))
    prompt = st.text_input(tr("serve.parity.prompt"), "Who are you?", key=f"serve_parity_prompt_{status.serve_id}")
    model = st.selectbox(tr("serve.parity.model"), status.models, index=len(status.models) - 1,
                         key=f"serve_parity_model_{status.serve_id}")
    if st.button(tr("serve.parity.run"), key=f"serve_parity_{status.serve_id}"):
        try:
            with st.spinner("…"):
                result = parity_check(status.serve_id, prompt, model=model)
        except UserError as err:
            show_user_error(err)
            return
        left, right = st.columns(2)
        left.markdown(f"**{tr('serve.parity.api')}**")
        left.code(result["api_text"], language=None)
        right.markdown(f"**{tr('serve.parity.local')}**")
        right.code(result["local_text"], language=None)
        (st.success if result["equal"] else st.warning)(tr("serve.parity.equal" if result["equal"]
                                                           else "serve.parity.differ"))


def server_card(status) -> None:
    from core.serve import server

    state = tr(f"serve.state.{status.state}") + (f" ({status.detail})" if status.detail else "")
    st.markdown(f"**{status.serve_id}** — " + tr("serve.state", state=state, engine=status.engine, url=status.url))
    st.write(f"{tr('serve.models')}: " + ", ".join(f"`{m}`" for m in status.models))
    if status.user_error() is not None:
        show_user_error(status.user_error())
    cols = st.columns(4)
    if status.live:
        if cols[0].button(tr("serve.stop"), key=f"serve_stop_{status.serve_id}"):
            server.stop_server(status.serve_id)
            st.rerun()
    elif cols[0].button(tr("serve.remove"), key=f"serve_remove_{status.serve_id}"):
        import shutil

        shutil.rmtree(server.serve_dir(status.serve_id), ignore_errors=True)
        st.rerun()
    if status.state == "running":
        with st.expander(tr("serve.snippets")):
            snippets(status, bool(server.read_request(status.serve_id).api_key))
        with st.expander(tr("serve.parity")):
            parity(status)
    with st.expander(tr("serve.log")):
        st.code(server.log_tail(status.serve_id, 40) or "—", language=None)


def servers_section() -> None:
    from core.serve.server import list_servers

    starting = any(s.live and s.state != "running" for s in list_servers())

    @st.fragment(run_every=2.0 if starting else None)
    def servers() -> None:
        found = list_servers()
        if not found:
            st.caption(tr("serve.none"))
        for status in found:
            with st.container(border=True):
                server_card(status)
        if starting and not any(s.live and s.state != "running" for s in found):
            st.rerun()

    servers()


def main() -> None:
    page_start("serve.title")
    st.caption(tr("serve.caption"))
    show_flash()
    st.subheader(tr("serve.new"))
    start_form()
    st.subheader(tr("serve.servers"))
    servers_section()


main()
