"""Models: every local model with what it is and whether it fits this machine; download by name; delete.

Downloads are background jobs (core.models.download): the list below is read from their folders,
so a reload or a restart of the UI shows them again; a live one refreshes every second.
"""
from __future__ import annotations

import os

import streamlit as st

from core.errors import UserError
from core.units import human_duration, human_size as _size
from ui.common import flash, message_text, page_start, show_flash, show_user_error, tr
from ui.state import KEEP


def _params(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.1f} M"


def _fits(entry: dict) -> str:
    return tr("models.fits.yes" if entry["fits"] else "models.fits.no", need=_size(entry["bytes"]))


def models_table() -> list:
    from core.models.info import model_details
    from core.models.registry import list_models

    details = []
    for listed in list_models():
        try:
            found = model_details(listed.path)
        except (UserError, OSError, ValueError) as err:
            st.warning(f"{listed.name}: {message_text(err) if isinstance(err, UserError) else err}")
            continue
        found.name, found.source = listed.name, listed.source
        details.append(found)
    if not details:
        st.info(tr("common.no_models"))
        return []
    fits = details[0].fits
    st.caption(tr("models.fits", device=fits["device"], memory=_size(fits["device_bytes"])))
    rows = []
    for d in details:
        row = {tr("models.col.name"): d.name, tr("models.col.architecture"): d.architecture,
               tr("models.col.parameters"): _params(d.parameters), tr("models.col.dtype"): d.dtype,
               tr("models.col.context"): d.context_length, tr("models.col.template"): "✓" if d.has_chat_template else "—",
               tr("models.col.size"): _size(d.size_bytes), tr("models.col.license"): d.license or "—"}
        for precision, entry in d.fits["chat"].items():
            row[tr("models.fits.chat", precision=precision)] = _fits(entry)
        for method, entry in d.fits["train"].items():
            row[tr("models.fits.train", method=method.upper())] = _fits(entry)
        row[tr("models.col.source")] = d.source
        rows.append(row)
    st.dataframe(rows, hide_index=True, width="stretch")
    return details


def delete_section(details: list) -> None:
    from core.models.info import deletable_path, delete_model

    names = [d.name for d in details]
    name = st.selectbox(tr("models.details"), names, key="models_selected", persist_state=KEEP)
    chosen = next(d for d in details if d.name == name)
    st.markdown(tr("models.folder", path=chosen.path, dtype=chosen.dtype, params=_params(chosen.parameters),
                   context=chosen.context_length or "?"))
    try:
        path = deletable_path(chosen.path)
    except UserError:
        st.caption(tr("models.not_deletable"))
        return
    if st.checkbox(tr("models.delete_confirm", path=str(path), size=_size(chosen.size_bytes)),
                   key=f"models_confirm_{name}"):
        if st.button(tr("models.delete"), key="models_delete", type="primary"):
            try:
                done = delete_model(chosen.path)
            except UserError as err:
                show_user_error(err)
                return
            flash("success", tr("models.deleted", name=name, size=_size(done["freed_bytes"])))
            st.rerun()


def download_form() -> None:
    from core.models.download import DownloadRequest, start_download

    with st.form("models_download_form"):
        repo_id = st.text_input(tr("models.repo_id"), key="models_repo_id", persist_state=KEEP)
        left, right = st.columns(2)
        source = left.selectbox(tr("models.source"), ["hf", "modelscope"], key="models_source", persist_state=KEEP,
                                format_func=lambda code: tr(f"models.source.{code}"))
        revision = right.text_input(tr("models.revision"), "main", key="models_revision", persist_state=KEEP)
        # Empty by default: HF_ENDPOINT (a Hugging Face mirror) must not be sent to ModelScope.
        endpoint = st.text_input(tr("models.endpoint"), key="models_endpoint", persist_state=KEEP,
                                 placeholder=os.environ.get("HF_ENDPOINT", "") or "https://hf-mirror.com")
        name = left.text_input(tr("models.save_as"), key="models_name", persist_state=KEEP)
        patterns = right.text_input(tr("models.patterns"), key="models_patterns", persist_state=KEEP)
        submitted = st.form_submit_button(tr("models.start_download"), type="primary")
    if submitted:
        try:
            job = start_download(DownloadRequest(repo_id=repo_id, source=source, endpoint=endpoint,
                                                 revision=revision, name=name,
                                                 allow_patterns=[p for p in patterns.split(",") if p.strip()]))
        except UserError as err:
            show_user_error(err)
            return
        flash("success", tr("models.dl.started", job_id=job.job_id))
        st.rerun()


def download_row(status) -> None:
    from core.models import download as dl

    state = tr(f"models.state.{status.status}")
    text = tr("models.dl.progress", state=state, done=_size(status.bytes_done), total=_size(status.bytes_total),
              files_done=status.files_done, files_total=status.files_total, speed=_size(status.speed_bps),
              eta=human_duration(status.eta_s))
    st.markdown(f"**{status.repo_id}** → `{status.name}`")
    st.progress(status.progress, text=text)
    if status.user_error() is not None:
        show_user_error(status.user_error())
    cols = st.columns(3)
    if status.live:
        if cols[0].button(tr("models.dl.cancel"), key=f"dl_cancel_{status.job_id}"):
            dl.cancel_download(status.job_id)
            st.rerun()
        return
    if status.status in ("failed", "stopped", "unreadable"):
        if cols[0].button(tr("models.dl.resume"), key=f"dl_resume_{status.job_id}"):
            try:
                dl.resume_download(status.job_id)
            except UserError as err:
                show_user_error(err)
                return
            st.rerun()
    if cols[1].button(tr("models.dl.discard"), key=f"dl_discard_{status.job_id}"):
        dl.discard_download(status.job_id)
        st.rerun()


def downloads_section() -> None:
    from core.models.download import list_downloads

    live = any(s.live for s in list_downloads())

    @st.fragment(run_every=1.0 if live else None)
    def downloads() -> None:
        found = list_downloads()
        if not found:
            st.caption(tr("models.no_downloads"))
        for status in found:
            with st.container(border=True):
                download_row(status)
        if live and not any(s.live for s in found):
            st.rerun()  # a download finished: the models table above has a new row

    downloads()


def main() -> None:
    page_start("models.title")
    st.caption(tr("models.caption"))
    show_flash()
    st.subheader(tr("models.local"))
    details = models_table()
    if details:
        delete_section(details)
    st.subheader(tr("models.download"))
    download_form()
    st.subheader(tr("models.downloads"))
    downloads_section()


main()
