"""Knowledge page: create knowledge bases, add documents with per-file results, preview chunking,
manage documents and the index, and try retrieval before using it in Chat.

UI only: every operation is a call into core.rag (store, loaders, chunking, retrieval). Run it
alone with ``streamlit run views/5_Knowledge.py`` or through Home.py's navigation.
"""
from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path

import streamlit as st

from core.errors import UserError
from core.untrusted import inert_markdown
from core.rag import chunking, loaders, store
from core.rag.store import INDEX_CHOICES, IngestProgress, IngestReport, SourceFile
from ui.state import KEEP
from ui.common import flash, lang, message_text, show_flash, page_start, show_user_error, tr

# Session-state keys (widget keys are prefixed "kb_" and unique on this page).
SELECTED = "kb_selected"
SELECT_NEXT = "kb_select_next"    # a base to select on the next run (set after create/delete)
LAST_REPORT = "kb_last_report"    # (kb name, IngestReport)
SEARCH_RESULT = "kb_search_result"
TEST_RESULT = "kb_test_result"     # (kb name, retrieval.evaluate(...))
SYNC_RESULT = "kb_sync_result"     # (kb name, SyncReport.to_dict(every_language=True))


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


# ----------------------------------------------------------------------------- create

def create_form(expanded: bool) -> None:
    with st.expander(tr("knowledge.create"), expanded=expanded):
        with st.form("kb_create_form", clear_on_submit=False):
            name = st.text_input(tr("knowledge.name"), key="kb_new_name", help=tr("knowledge.name_help"))
            embedder = st.text_input(tr("knowledge.embedder"), key="kb_new_embedder",
                                     placeholder="all-MiniLM-L6-v2", help=tr("knowledge.embedder_help"))
            st.caption(tr("knowledge.embedder_note"))
            c1, c2, c3 = st.columns(3)
            size = c1.number_input(tr("knowledge.chunk_size"), chunking.MIN_CHUNK_SIZE, 4000,
                                   chunking.DEFAULT_CHUNK_SIZE, step=50, key="kb_new_size")
            overlap = c2.number_input(tr("knowledge.overlap"), 0, 2000, chunking.DEFAULT_OVERLAP,
                                      step=10, key="kb_new_overlap")
            index = c3.selectbox(tr("knowledge.index"), INDEX_CHOICES, key="kb_new_index",
                                 format_func=lambda c: tr(f"knowledge.index_{c}"), help=tr("knowledge.index_help"))
            submitted = st.form_submit_button(tr("knowledge.create_button"), type="primary")
        if submitted:
            try:
                with st.spinner(tr("knowledge.loading_embedder")):
                    info = store.create_kb(name, embedder.strip() or None, chunk_size=int(size),
                                           overlap=int(overlap), index=index)
            except UserError as err:
                show_user_error(err)
                return
            st.session_state[SELECT_NEXT] = info.name
            flash("success", tr("knowledge.created", name=info.name))
            st.rerun()


# ----------------------------------------------------------------------------- overview

def overview(info: store.KbInfo) -> None:
    c1, c2, c3, c4 = st.columns([1, 1, 2, 1])  # the embedder name is the long one
    c1.metric(tr("knowledge.metric_docs"), info.documents)
    c2.metric(tr("knowledge.metric_chunks"), f"{info.chunks:,}")
    c3.metric(tr("knowledge.metric_embedder"), info.embedder_name)
    c4.metric(tr("knowledge.metric_index"), info.index_type)
    st.caption(tr("knowledge.settings_caption", size=info.chunk_size, overlap=info.overlap, dim=info.dim,
                  disk=_human_bytes(info.size_bytes)))


# ----------------------------------------------------------------------------- add documents

def _result_rows(report: IngestReport) -> list[dict]:
    rows = []
    for f in report.files:
        status = message_text(f.error or f.note) if f.error or f.note else tr("knowledge.status_ok")
        rows.append({tr("knowledge.col_file"): f.path, tr("knowledge.col_chunks"): f.chunks,
                     tr("knowledge.col_status"): status, tr("knowledge.col_format"): f.format or "",
                     tr("knowledge.col_encoding"): f.encoding or ""})
    return rows


def add_tab(name: str) -> None:
    uploads = st.file_uploader(tr("knowledge.upload"), accept_multiple_files=True, key="kb_uploads")
    server_path = st.text_input(tr("knowledge.server_path"), key="kb_server_path",
                                help=tr("knowledge.server_path_help"), placeholder="/data/docs")
    if st.button(tr("knowledge.ingest"), key="kb_ingest", type="primary"):
        items: list = [SourceFile(path=Path(u.name), source=u.name, data=u.getvalue()) for u in uploads or []]
        if server_path.strip():
            items.append(Path(server_path.strip()).expanduser())
        if not items:
            st.warning(tr("knowledge.nothing_to_ingest"))
        else:
            bar = st.progress(0.0)
            status = st.empty()
            results = st.container()

            def on_progress(ev: IngestProgress) -> None:
                i, n = ev.file_index + 1, max(ev.file_count, 1)
                if ev.stage == "reading":
                    status.caption(tr("knowledge.progress_reading", i=i, n=n, path=ev.path))
                    bar.progress(ev.file_index / n)
                elif ev.stage == "embedding":   # one pass over the chunks of every file
                    status.caption(tr("knowledge.progress_embedding_all", done=ev.done, total=ev.total))
                    bar.progress(ev.done / ev.total if ev.total else 0.0)
                elif ev.result is not None:
                    r = ev.result
                    line = f"{r.path}: {r.chunks} {tr('knowledge.col_chunks').lower()}" if not r.error \
                        else f"{r.path}: {message_text(r.error)}"
                    (results.warning if r.error else results.caption)(line)
                    bar.progress(i / n)

            try:
                report = store.ingest(name, items, progress=on_progress)
            except UserError as err:
                show_user_error(err)
                return
            st.session_state[LAST_REPORT] = (name, report)
            st.rerun()
    last = st.session_state.get(LAST_REPORT)
    if last and last[0] == name:
        report = last[1]
        ok = sum(1 for f in report.files if not f.error)
        st.success(tr("knowledge.ingest_summary", chunks=report.chunks, ok=ok, n=len(report.files),
                      seconds=round(report.seconds, 3)))
        skipped = len(report.files) - ok
        if skipped:
            st.warning(tr("knowledge.ingest_skipped", n=skipped))
        st.dataframe(_result_rows(report), hide_index=True, width="stretch", key="kb_report_table")


# ----------------------------------------------------------------------------- preview

def preview_tab(info: store.KbInfo) -> None:
    st.caption(tr("knowledge.preview_hint"))
    upload = st.file_uploader(tr("knowledge.preview_file"), key="kb_preview_upload")
    path = st.text_input(tr("knowledge.preview_path"), key="kb_preview_path")
    c1, c2 = st.columns(2)
    size = c1.number_input(tr("knowledge.chunk_size"), chunking.MIN_CHUNK_SIZE, 4000, info.chunk_size,
                           step=50, key="kb_preview_size")
    overlap = c2.number_input(tr("knowledge.overlap"), 0, 2000, info.overlap, step=10, key="kb_preview_overlap")
    if upload is None and not path.strip():
        return
    try:
        if upload is not None:
            loaded = loaders.load_bytes(upload.getvalue(), upload.name)
        else:
            loaded = loaders.load_file(Path(path.strip()).expanduser())
        chunks = chunking.chunk_text(loaded.text, int(size), int(overlap))
    except UserError as err:
        show_user_error(err)
        return
    st.info(tr("knowledge.preview_summary", chunks=len(chunks), chars=f"{len(loaded.text):,}",
               format=loaded.format, encoding=loaded.encoding or "—"))
    st.dataframe([{"#": c.index, tr("knowledge.col_chars"): len(c.text), tr("knowledge.col_text"): c.text}
                  for c in chunks[:500]], hide_index=True, width="stretch", key="kb_preview_table")


# ----------------------------------------------------------------------------- documents

def docs_tab(name: str, info: store.KbInfo) -> None:
    kb = store.get_kb(name)
    if not kb.documents:
        st.info(tr("knowledge.no_docs"))
    else:
        st.dataframe([{tr("knowledge.col_file"): d["source"], tr("knowledge.col_chunks"): d["chunks"],
                       tr("knowledge.col_chars"): d["chars"], tr("knowledge.col_format"): d["format"],
                       tr("knowledge.col_encoding"): d.get("encoding") or "",
                       tr("knowledge.col_added"): datetime.fromtimestamp(d["added"]).strftime("%Y-%m-%d %H:%M")}
                      for d in kb.documents], hide_index=True, width="stretch", key="kb_docs_table")
        ids = {f"{d['source']} ({d['chunks']})": d["id"] for d in kb.documents}  # sources are unique
        c1, c2 = st.columns([3, 1])
        label = c1.selectbox(tr("knowledge.doc_to_delete"), list(ids), key="kb_doc_pick")
        doc_id = ids[label]
        c2.write("")
        if c2.button(tr("knowledge.delete_doc"), key="kb_doc_delete"):
            try:
                doc = store.delete_document(name, doc_id)
            except UserError as err:
                show_user_error(err)
                return
            flash("success", tr("knowledge.doc_deleted", name=doc["source"], chunks=doc["chunks"]))
            st.rerun()
    st.divider()
    c1, c2, c3 = st.columns([2, 2, 1])
    index = c1.selectbox(tr("knowledge.index"), INDEX_CHOICES, index=INDEX_CHOICES.index(info.index_choice),
                         format_func=lambda c: tr(f"knowledge.index_{c}"), key="kb_rebuild_index",
                         help=tr("knowledge.index_help"))
    reembed = c2.checkbox(tr("knowledge.reembed"), key="kb_rebuild_reembed")
    if c3.button(tr("knowledge.rebuild"), key="kb_rebuild"):
        try:
            with st.spinner(tr("knowledge.rebuild")):
                new = store.rebuild(name, index=index, reembed=reembed)
        except UserError as err:
            show_user_error(err)
            return
        flash("success", tr("knowledge.rebuilt", index=new.index_type))
        st.rerun()
    with st.expander(tr("knowledge.danger")):
        confirm = st.checkbox(tr("common.confirm_delete"), key="kb_delete_confirm")
        if st.button(tr("knowledge.delete_kb", name=name), key="kb_delete", disabled=not confirm):
            try:
                store.delete_kb(name)
            except UserError as err:
                show_user_error(err)
                return
            st.session_state[SELECT_NEXT] = None
            flash("success", tr("knowledge.kb_deleted", name=name))
            st.rerun()


# ----------------------------------------------------------------------------- search

def search_tab(name: str, info: store.KbInfo) -> None:
    from core.rag import retrieval

    if not info.chunks:
        st.info(tr("knowledge.empty_kb"))
        return
    with st.form("kb_search_form"):
        query = st.text_input(tr("knowledge.query"), key="kb_query", placeholder=tr("knowledge.query_placeholder"),
                              persist_state=KEEP)
        from ui.rag_panel import mode_picker

        mode = mode_picker("kb_mode")
        c1, c2, c3 = st.columns(3)
        k = c1.slider(tr("rag.top_k"), 1, 20, retrieval.DEFAULT_K, key="kb_k", persist_state=KEEP)
        threshold = c2.slider(tr("rag.threshold"), 0.0, 1.0, 0.0, step=0.05, key="kb_threshold", persist_state=KEEP,
                              help=tr("rag.threshold_help"))
        neighbors = c3.number_input(tr("rag.neighbors"), 0, 5, 0, key="kb_neighbors", help=tr("rag.neighbors_help"),
                                    persist_state=KEEP)
        reranker = st.text_input(tr("rag.reranker"), key="kb_reranker", help=tr("rag.reranker_help"), persist_state=KEEP)
        submitted = st.form_submit_button(tr("knowledge.search"), type="primary")
    if submitted:
        try:
            kb = store.get_kb(name)
            started = time.perf_counter()
            hits = retrieval.search(kb, query, k=int(k), threshold=float(threshold), neighbors=int(neighbors),
                                    mode=mode, reranker=reranker.strip() or None)
            ms = (time.perf_counter() - started) * 1000
        except UserError as err:
            show_user_error(err)
            return
        st.session_state[SEARCH_RESULT] = (name, [h.to_dict() for h in hits], ms)
    result = st.session_state.get(SEARCH_RESULT)
    if not result or result[0] != name:
        return
    hits, ms = result[1], result[2]
    if not hits:
        st.warning(tr("knowledge.no_hits"))
        return
    from ui.rag_panel import rank_caption, show_passage

    st.caption(tr("knowledge.search_time", n=len(hits), ms=ms))
    for rank, data in enumerate(hits, 1):
        hit = retrieval.Hit.from_dict(data)
        with st.container(border=True):
            st.markdown("**" + tr("knowledge.hit_header", rank=rank, score=hit.score,
                                  name=inert_markdown(hit.name or hit.source), chunk=hit.chunk) + "**")
            st.caption(rank_caption(hit))
            if hit.last > hit.first:
                st.caption(tr("knowledge.hit_span", first=hit.first, last=hit.last))
            show_passage(hit.text, hit.query)


# ----------------------------------------------------------------------------- retrieval test

def test_tab(name: str, info: store.KbInfo) -> None:
    from core.rag import retrieval

    if not info.chunks:
        st.info(tr("knowledge.empty_kb"))
        return
    st.caption(tr("knowledge.test_hint"))
    with st.form("kb_test_form"):
        cases_text = st.text_area(tr("knowledge.test_cases"), key="kb_test_cases", height=160,
                                  placeholder=tr("knowledge.test_placeholder"))
        k = st.slider(tr("rag.top_k"), 1, 20, retrieval.DEFAULT_K, key="kb_test_k")
        submitted = st.form_submit_button(tr("knowledge.test_run"), type="primary")
    if submitted:
        try:
            cases = retrieval.parse_test_cases(cases_text)
            with st.spinner(tr("knowledge.test_running", n=len(cases))):
                result = retrieval.evaluate(store.get_kb(name), cases, k=int(k))
        except UserError as err:
            show_user_error(err)
            return
        st.session_state[TEST_RESULT] = (name, result)
    last = st.session_state.get(TEST_RESULT)
    if not last or last[0] != name:
        return
    result = last[1]
    cols = st.columns(len(result["recall"]))
    for col, (mode, recall) in zip(cols, result["recall"].items()):
        col.metric(tr("knowledge.test_recall", mode=tr(f"rag.mode_{mode}"), k=result["k"]), f"{recall:.0%}")
    st.dataframe([{tr("knowledge.query"): c["question"], tr("knowledge.test_expected"): c["expected"],
                   **{tr(f"rag.mode_{m}"): c[m] or "–" for m in result["recall"]}} for c in result["cases"]],
                 hide_index=True, width="stretch", key="kb_test_table")


# ----------------------------------------------------------------------------- folder sync

def sync_tab(name: str) -> None:
    from core.rag import sync

    settings = sync.sync_settings(name)
    st.caption(tr("knowledge.sync_hint"))
    c1, c2 = st.columns([3, 1])
    folder = c1.text_input(tr("knowledge.sync_folder"), value=settings.get("folder", ""), key=f"kb_sync_folder_{name}",
                           placeholder="/data/docs")
    every = c2.number_input(tr("knowledge.sync_every"), 0, sync.MAX_EVERY_MINUTES,
                            int(settings.get("every_minutes") or 0), key=f"kb_sync_every_{name}",
                            help=tr("knowledge.sync_every_help"))
    b1, b2 = st.columns(2)
    if b1.button(tr("knowledge.sync_now"), key="kb_sync_now", type="primary"):
        bar = st.progress(0.0)

        def on_progress(ev: IngestProgress) -> None:
            if ev.stage == "embedding":
                bar.progress(ev.done / ev.total if ev.total else 0.0)

        try:
            report = sync.sync_folder(name, folder.strip() or None, progress=on_progress)
        except UserError as err:
            show_user_error(err)
            return
        st.session_state[SYNC_RESULT] = (name, report.to_dict(every_language=True))
        st.rerun()   # the counts above change
    if b2.button(tr("knowledge.sync_save"), key="kb_sync_save"):
        try:
            sync.set_schedule(name, folder.strip(), int(every))
        except UserError as err:
            show_user_error(err)
            return
        st.success(tr("knowledge.sync_saved", minutes=int(every)) if every else tr("knowledge.sync_saved_off"))
    last = st.session_state.get(SYNC_RESULT)
    report = last[1] if last and last[0] == name else settings.get("last_report")
    if not report:
        return
    if report.get("error"):
        st.warning(message_text(report["error"]))
        return
    st.success(tr("knowledge.sync_summary", added=len(report["added"]), updated=len(report["updated"]),
                  removed=len(report["removed"]), unchanged=report["unchanged"], chunks=report["chunks"]))
    rows = ([{tr("knowledge.col_file"): p, tr("knowledge.col_status"): tr("knowledge.sync_added")} for p in report["added"]]
            + [{tr("knowledge.col_file"): p, tr("knowledge.col_status"): tr("knowledge.sync_updated")} for p in report["updated"]]
            + [{tr("knowledge.col_file"): p, tr("knowledge.col_status"): tr("knowledge.sync_removed")} for p in report["removed"]]
            + [{tr("knowledge.col_file"): f["path"], tr("knowledge.col_status"): message_text(f["error"])}
               for f in report["failed"]])
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", key="kb_sync_table")


# ----------------------------------------------------------------------------- page

def main() -> None:
    page_start("knowledge.title")
    st.caption(tr("knowledge.intro"))
    show_flash()
    try:
        infos = {info.name: info for info in store.list_kbs()}
    except UserError as err:
        show_user_error(err)
        return
    if SELECT_NEXT in st.session_state:  # set before the selectbox exists in this run
        chosen = st.session_state.pop(SELECT_NEXT)
        if chosen in infos:
            st.session_state[SELECTED] = chosen
        else:
            st.session_state.pop(SELECTED, None)
    if not infos:
        st.info(tr("knowledge.none_yet"))
        create_form(expanded=True)
        return
    names = list(infos)
    if st.session_state.get(SELECTED) not in names:
        st.session_state[SELECTED] = names[0]
    name = st.selectbox(tr("knowledge.select"), names, key=SELECTED, persist_state=KEEP)
    create_form(expanded=False)
    info = infos[name]
    overview(info)
    try:
        kb = store.get_kb(name)
        while kb.notes:   # e.g. the lexical index was just built for an older base: say it once
            st.info(kb.notes.pop(0).render(lang()))
    except UserError as err:
        show_user_error(err)
    add, preview, docs, search, test, follow = st.tabs([
        tr("knowledge.tab_add"), tr("knowledge.tab_preview"), tr("knowledge.tab_docs"), tr("knowledge.tab_search"),
        tr("knowledge.tab_test"), tr("knowledge.tab_sync")])
    try:
        with add:
            add_tab(name)
        with preview:
            preview_tab(info)
        with docs:
            docs_tab(name, info)
        with search:
            search_tab(name, info)
        with test:
            test_tab(name, info)
        with follow:
            sync_tab(name)
    except UserError as err:
        show_user_error(err)
    with st.sidebar:
        if st.button(tr("knowledge.unload"), key="kb_unload"):
            from core.rag import embeddings

            store.unload_kbs()
            embeddings.unload_embedders()
            st.toast(tr("common.unloaded"))


main()
