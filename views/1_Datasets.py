"""Datasets page: import any common format (with a validation report before saving), browse and
measure datasets, split / mix / export them, manage them, and generate the personal-assistant set.

UI only: every operation is a call into core.data (importer, stats, shape, store); run it alone
with ``streamlit run views/1_Datasets.py`` or through Home.py's navigation.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import streamlit as st

from core.data import importer, shape, stats, store
from core.data.formats import EXPORT_FORMATS
from core.errors import UserError
from ui.common import flash, lang, show_flash, page_start, show_user_error, tr
from ui.common import show_untrusted
from ui.assistant_tab import render_assistant_tab
from ui.state import KEEP, kept_tabs

# Session-state keys (widget keys are prefixed "ds_" and unique on this page).
REPORT = "ds_report"            # the last ImportReport, waiting for save / abort
REPORT_SOURCE = "ds_report_source"
MAPPING_TEXT = "ds_mapping_text"
TOKEN_STATS = "ds_token_stats"  # {dataset: stats dict}
EXPORT_FILE = "ds_export_file"  # (filename, bytes, skipped)
TAB_KEY = "ds_tab"
TABS = ["datasets.tab_import", "datasets.tab_browse", "datasets.tab_shape", "datasets.tab_manage",
        "datasets.tab_assistant"]
UPLOAD_TYPES = ["json", "jsonl", "csv", "tsv", "parquet", "txt"]
PAGE_SIZE = 50


def _reason(bad) -> str:
    text = tr(f"datasets.reason.{bad.code}")
    detail = bad.detail_text(lang())
    return f"{text}: {detail}" if detail else text


def _note(note: dict) -> str:
    params = {k: v for k, v in note.items() if k != "code"}
    return tr(f"datasets.note.{note['code']}", **params)


@st.cache_resource(max_entries=4, show_spinner=False)
def _rows(name: str, sha256: str) -> list[dict]:  # sha256 keys the cache to the file's content
    return store.load_rows(name)


def _dataset_rows(name: str) -> list[dict]:
    return _rows(name, store.read_meta(name).sha256)


# ----------------------------------------------------------------------------- import


def _options(mapping: dict | None = None) -> importer.ImportOptions:
    ss = st.session_state
    return importer.ImportOptions(
        format=ss.get("ds_format", "auto"), mapping=mapping,
        placeholders={"name": ss.get("ds_fill_name", ""), "author": ss.get("ds_fill_author", "")},
        max_chars=int(ss.get("ds_max_chars", importer.DEFAULT_MAX_CHARS)),
        text_split=ss.get("ds_text_split"), entry=ss.get("ds_entry"),
    )


def _analyze(source: str, mapping: dict | None = None) -> None:
    options = _options(mapping)
    if source == "upload":
        upload = st.session_state.get("ds_upload")
        if upload is None:
            st.warning(tr("datasets.need_file"))
            return
        from core.limits import check_upload

        check_upload(upload.name, upload.size)  # a message about this file, before it is parsed
        report = importer.analyze_bytes(upload.getvalue(), upload.name, options)
        report.source = upload.name
    else:
        path = (st.session_state.get("ds_path") or "").strip()
        if not path:
            st.warning(tr("datasets.need_file"))
            return
        report = importer.analyze_path(path, options)
    st.session_state[REPORT] = report
    st.session_state[REPORT_SOURCE] = source
    st.session_state[MAPPING_TEXT] = json.dumps(report.mapping.to_dict(), ensure_ascii=False, indent=2)
    st.session_state["ds_save_name"] = _suggest_name(report.source)


def _suggest_name(source: str) -> str:
    import re

    stem = Path(source).stem.split(".")[0] or "dataset"
    stem = re.sub(r"[^\w\u4e00-\u9fff.\-]+", "-", stem).strip("-.") or "dataset"
    return stem[:80]


def _dataset_info_entries(path: str) -> list[str]:
    from core.data.readers import read_dataset_info

    p = Path(path).expanduser()
    if p.is_dir() and (p / "dataset_info.json").exists():
        p = p / "dataset_info.json"
    if p.name != "dataset_info.json" or not p.exists():
        return []
    try:
        return list(read_dataset_info(p))
    except UserError:
        return []


def import_tab() -> None:
    source = st.radio(tr("datasets.source"), ["upload", "path"], horizontal=True, key="ds_source", persist_state=KEEP,
                      format_func=lambda s: tr(f"datasets.source_{s}"))
    if source == "upload":
        st.file_uploader(tr("datasets.upload"), type=UPLOAD_TYPES, key="ds_upload")
    else:
        path = st.text_input(tr("datasets.path"), key="ds_path", persist_state=KEEP, help=tr("datasets.path_help"))
        entries = _dataset_info_entries(path) if path else []
        if entries:
            st.selectbox(tr("datasets.entry"), entries, key="ds_entry", persist_state=KEEP)
        else:
            st.session_state.pop("ds_entry", None)
    st.selectbox(tr("datasets.format"), importer.FORMAT_CHOICES, key="ds_format", persist_state=KEEP,
                 format_func=lambda f: tr(f"datasets.format.{f}"), help=tr("datasets.format_help"))
    with st.expander(tr("datasets.options")):
        left, right = st.columns(2)
        left.text_input(tr("datasets.fill_name"), key="ds_fill_name", persist_state=KEEP, help=tr("datasets.fill_help"))
        right.text_input(tr("datasets.fill_author"), key="ds_fill_author", persist_state=KEEP, help=tr("datasets.fill_help"))
        left.number_input(tr("datasets.max_chars"), min_value=100, max_value=10_000_000,
                          value=importer.DEFAULT_MAX_CHARS, step=1000, key="ds_max_chars", persist_state=KEEP)
        right.selectbox(tr("datasets.text_split"), [None, "line", "paragraph", "file"], key="ds_text_split", persist_state=KEEP,
                        format_func=lambda s: tr("datasets.format.auto") if s is None else tr(f"datasets.split.{s}"))
    if st.button(tr("datasets.check"), type="primary", key="ds_check"):
        try:
            with st.spinner(tr("datasets.checking")):
                _analyze(source)
        except UserError as err:
            st.session_state.pop(REPORT, None)
            show_user_error(err)
    report = st.session_state.get(REPORT)
    if report is not None:
        _report_view(report)


def _report_view(report: importer.ImportReport) -> None:
    import pandas as pd

    st.subheader(tr("datasets.report"))
    st.markdown(tr("datasets.detected", format=report.mapping.format, file_type=report.file_type,
                   encoding=report.encoding or "-"))
    cols = st.columns(3)
    cols[0].metric(tr("datasets.total"), f"{report.total:,}")
    cols[1].metric(tr("datasets.good"), f"{report.good:,}")
    cols[2].metric(tr("datasets.bad"), f"{len(report.bad_rows):,}")
    for note in report.notes:
        st.info(_note(note))
    with st.expander(tr("datasets.mapping")):
        text = st.text_area(tr("datasets.mapping"), key=MAPPING_TEXT, persist_state=KEEP, height=220,
                            help=tr("datasets.mapping_help"), label_visibility="collapsed")
        if st.button(tr("datasets.recheck"), key="ds_recheck"):
            try:
                mapping = json.loads(text)
            except ValueError as err:
                st.error(tr("datasets.mapping_bad_json", error=err))
            else:
                try:
                    _analyze(st.session_state.get(REPORT_SOURCE, "upload"), mapping)
                    st.rerun()
                except UserError as err:
                    show_user_error(err)
    if report.bad_rows:
        st.markdown(f"**{tr('datasets.bad_table')}**")
        shown = report.bad_rows[:5000]
        st.dataframe(pd.DataFrame({tr("datasets.col_line"): [b.line for b in shown],
                                   tr("datasets.col_reason"): [_reason(b) for b in shown]}),
                     hide_index=True, width="stretch", height=min(400, 38 + 35 * len(shown)))
    if report.rows:
        st.markdown(f"**{tr('datasets.preview_good')}**")
        st.dataframe(_table(report.rows[:10]), hide_index=True, width="stretch")
    left, right = st.columns([3, 2])
    name = left.text_input(tr("datasets.name"), key="ds_save_name", persist_state=KEEP)
    overwrite = right.checkbox(tr("datasets.overwrite"), key="ds_overwrite")
    b1, b2 = st.columns(2)
    if not report.rows:
        st.warning(tr("datasets.all_bad"))
    if b1.button(tr("datasets.save_good", n=f"{report.good:,}"), type="primary", key="ds_save",
                 disabled=not report.rows):
        try:
            info = importer.save_import(report, name, on_error="skip", overwrite=overwrite)
        except UserError as err:
            show_user_error(err)
        else:
            st.session_state.pop(REPORT, None)
            flash("success", tr("datasets.saved", name=info.name, rows=f"{info.rows:,}"))
            st.rerun()
    if b2.button(tr("datasets.abort"), key="ds_abort"):
        st.session_state.pop(REPORT, None)
        flash("info", tr("datasets.aborted"))
        st.rerun()


# ----------------------------------------------------------------------------- browse & stats


def _table(rows: list[dict]):
    import pandas as pd

    def clip(text: str, n: int = 200) -> str:
        return text if len(text) <= n else text[:n] + "…"

    records = []
    for row in rows:
        if "messages" in row:
            msgs = row["messages"]
            user = next((m["content"] for m in msgs if m["role"] == "user"), "")
            reply = next((m["content"] for m in reversed(msgs) if m["role"] == "assistant"), "")
            records.append({tr("datasets.col_first_user"): clip(user), tr("datasets.col_last_reply"): clip(reply),
                            tr("datasets.col_turns"): sum(m["role"] == "assistant" for m in msgs),
                            tr("datasets.col_chars"): sum(len(m["content"]) for m in msgs)})
        else:
            records.append({tr("datasets.col_text"): clip(row.get("text", ""), 400),
                            tr("datasets.col_chars"): len(row.get("text", ""))})
    return pd.DataFrame(records)


def _pick_dataset(key: str, infos: list[store.DatasetInfo]) -> str | None:
    names = [i.name for i in infos]
    return st.selectbox(tr("datasets.pick"), names, key=key, persist_state=KEEP)


def _conversation(row: dict) -> None:
    if "messages" not in row:
        st.text(row.get("text", ""))
        return
    avatars = {"system": ":material/settings:", "tool": ":material/build:"}
    for msg in row["messages"]:
        with st.chat_message(msg["role"], avatar=avatars.get(msg["role"])):
            if msg["role"] == "tool":
                st.code(msg["content"], language=None, wrap_lines=True)
            else:
                show_untrusted(msg["content"])
    if row.get("tools"):
        with st.expander(tr("datasets.tools_in_row")):
            st.json(row["tools"])


def browse_tab(infos: list[store.DatasetInfo]) -> None:
    if not infos:
        st.info(tr("datasets.no_datasets"))
        return
    name = _pick_dataset("ds_browse_name", infos)
    try:
        rows = _dataset_rows(name)
    except UserError as err:
        show_user_error(err)
        return
    view = st.radio(" ", ["table", "conversation"], horizontal=True, key="ds_view", persist_state=KEEP,
                    format_func=lambda v: tr(f"datasets.{v}"), label_visibility="collapsed")
    if view == "table":
        pages = max(1, (len(rows) + PAGE_SIZE - 1) // PAGE_SIZE)
        page = st.number_input(tr("datasets.page"), 1, pages, 1, key="ds_page", persist_state=KEEP) if pages > 1 else 1
        start = (int(page) - 1) * PAGE_SIZE
        table = _table(rows[start:start + PAGE_SIZE])
        table.index = range(start + 1, start + 1 + len(table))
        st.dataframe(table, width="stretch")
    elif rows:
        idx = st.number_input(tr("datasets.row_no"), 1, len(rows), 1, key="ds_row_no", persist_state=KEEP)
        _conversation(rows[int(idx) - 1])

    st.subheader(tr("datasets.stats"))
    basic = stats.basic_stats(rows)
    cols = st.columns(4)
    cols[0].metric(tr("datasets.rows"), f"{basic['rows']:,}")
    cols[1].metric(tr("datasets.turns"), f"{basic['turns']:,}")
    cols[2].metric(tr("datasets.chars"), f"{basic['chars']:,}")
    cols[3].metric(tr("datasets.chars_p95"), f"{basic['chars_p95']:,}")
    _token_section(name)
    _duplicates_section(name, rows, store.read_meta(name).extra)


def _model_choice() -> str | None:
    from core.models.registry import list_models

    models = {m.name: m.path for m in list_models()}
    left, right = st.columns(2)
    choice = left.selectbox(tr("datasets.model"), [None, *models], key="ds_model", persist_state=KEEP,
                            format_func=lambda m: tr("common.none") if m is None else m)
    path = right.text_input(tr("datasets.model_path"), key="ds_model_path", persist_state=KEEP)
    if path.strip():
        return path.strip()
    return models.get(choice) if choice else None


def _token_section(name: str) -> None:
    st.markdown(f"**{tr('datasets.tokens')}**")
    model_path = _model_choice()
    max_length = st.number_input(tr("datasets.max_length"), 16, 1_000_000, 2048, step=256, key="ds_max_length", persist_state=KEEP)
    if st.button(tr("datasets.measure"), key="ds_measure", disabled=not model_path):
        try:
            with st.spinner(tr("datasets.measuring")):
                result = stats.dataset_stats(name, model_path, int(max_length))
            st.session_state.setdefault(TOKEN_STATS, {})[name] = result
        except UserError as err:
            show_user_error(err)
    result = st.session_state.get(TOKEN_STATS, {}).get(name)
    if not result or "tokens" not in result:
        return
    tok = stats.length_summary(result["lengths"], int(max_length))
    cols = st.columns(4)
    cols[0].metric("p50", f"{tok['p50']:,}")
    cols[1].metric("p95", f"{tok['p95']:,}")
    cols[2].metric("max", f"{tok['max']:,}")
    cols[3].metric(tr("datasets.col_tokens"), f"{tok['total']:,}")
    if tok["over"]:
        st.warning(tr("datasets.over", over=f"{tok['over']:,}", pct=tok["over_pct"], max_length=int(max_length)))
    else:
        st.success(tr("datasets.none_over", max_length=int(max_length)))
    import plotly.express as px

    fig = px.histogram(x=result["lengths"], nbins=60, labels={"x": tr("datasets.hist_x")})
    fig.update_layout(yaxis_title=tr("datasets.hist_y"), height=300, margin=dict(l=10, r=10, t=10, b=10),
                      showlegend=False)
    fig.add_vline(x=int(max_length), line_dash="dash", line_color="red")
    st.plotly_chart(fig, width="stretch")


def _duplicates_section(name: str, rows: list[dict], extra: dict) -> None:
    from core.data.assistant import is_repeat_set

    st.markdown(f"**{tr('datasets.duplicates')}**")
    by = st.radio(tr("datasets.dup_by"), ["row", "prompt"], horizontal=True, key="ds_dup_by", persist_state=KEEP,
                  format_func=lambda b: tr(f"datasets.dup.{b}"))
    count = sum(len(g) - 1 for g in stats.find_duplicates(rows, by))
    if not count:
        st.caption(tr("datasets.dup_none"))
        return
    if is_repeat_set(extra):  # repeating a few rows N times is how this set teaches
        st.info(tr("datasets.dup_recipe", n=f"{count:,}", rows=f"{len(rows):,}"))
        return
    st.warning(tr("datasets.dup_found", n=f"{count:,}"))
    if st.button(tr("datasets.dup_remove"), key="ds_dup_remove"):
        try:
            _, removed = shape.dedupe_dataset(name, by)
        except UserError as err:
            show_user_error(err)
        else:
            flash("success", tr("datasets.dup_removed", n=f"{removed:,}"))
            st.rerun()


# ----------------------------------------------------------------------------- shape


def shape_tab(infos: list[store.DatasetInfo]) -> None:
    if not infos:
        st.info(tr("datasets.no_datasets"))
        return
    names = [i.name for i in infos]

    st.subheader(tr("datasets.split_header"))
    c1, c2, c3 = st.columns([3, 2, 1])
    split_name = c1.selectbox(tr("datasets.pick"), names, key="ds_split_name", persist_state=KEEP)
    ratio = c2.slider(tr("datasets.eval_ratio"), 0.01, 0.5, 0.1, 0.01, key="ds_split_ratio", persist_state=KEEP)
    seed = c3.number_input(tr("datasets.seed"), 0, 2**31 - 1, 42, key="ds_split_seed", persist_state=KEEP)
    split_overwrite = st.checkbox(tr("datasets.split_overwrite", name=split_name), key="ds_split_overwrite")
    if st.button(tr("datasets.split_go"), key="ds_split_go"):
        try:
            train, ev = shape.split_dataset(split_name, float(ratio), int(seed), overwrite=split_overwrite)
        except UserError as err:
            show_user_error(err)
        else:
            flash("success", tr("datasets.split_done", train=train.name, train_rows=f"{train.rows:,}",
                                 eval=ev.name, eval_rows=f"{ev.rows:,}"))
            st.rerun()

    st.subheader(tr("datasets.mix_header"))
    st.caption(tr("datasets.mix_help"))
    chosen = st.multiselect(tr("datasets.mix_sources"), names, key="ds_mix_sources", persist_state=KEEP)
    if chosen:
        import pandas as pd

        table = pd.DataFrame({"name": chosen, "weight": [1.0] * len(chosen), "repeat": [1.0] * len(chosen),
                              "allow_repeat": [True] * len(chosen)})
        edited = st.data_editor(
            table, hide_index=True, width="stretch", key=f"ds_mix_table_{'|'.join(chosen)}",
            column_config={
                "name": st.column_config.TextColumn(tr("datasets.col_name"), disabled=True),
                "weight": st.column_config.NumberColumn(tr("datasets.col_weight"), min_value=0.0, step=0.1),
                "repeat": st.column_config.NumberColumn(tr("datasets.col_repeat"), min_value=0.0, step=0.5),
                "allow_repeat": st.column_config.CheckboxColumn(tr("datasets.col_allow_repeat")),
            })
        c1, c2, c3 = st.columns([2, 3, 1])
        total = c1.number_input(tr("datasets.mix_total"), 0, 100_000_000, 0, step=1000, key="ds_mix_total", persist_state=KEEP)
        output = c2.text_input(tr("datasets.mix_output"), value="mix", key="ds_mix_output", persist_state=KEEP)
        mix_seed = c3.number_input(tr("datasets.seed"), 0, 2**31 - 1, 42, key="ds_mix_seed", persist_state=KEEP)
        mix_overwrite = st.checkbox(tr("datasets.overwrite"), key="ds_mix_overwrite")
        if st.button(tr("datasets.mix_go"), key="ds_mix_go"):
            try:
                sources = [shape.MixSource(str(r["name"]), float(r["weight"] or 0), float(r["repeat"] or 0),
                                           bool(r["allow_repeat"])) for r in edited.to_dict("records")]
                importer.check_dataset_name(output)
                info, _ = shape.mix_datasets(sources, output, int(total) or None, int(mix_seed),
                                             overwrite=mix_overwrite)
            except UserError as err:
                show_user_error(err)
            else:
                flash("success", tr("datasets.mix_done", name=info.name, rows=f"{info.rows:,}"))
                st.rerun()

    st.subheader(tr("datasets.export_header"))
    c1, c2, c3 = st.columns([3, 2, 1])
    export_name = c1.selectbox(tr("datasets.pick"), names, key="ds_export_name", persist_state=KEEP)
    fmt = c2.radio(tr("datasets.export_format"), EXPORT_FORMATS, horizontal=True, key="ds_export_format", persist_state=KEEP)
    as_jsonl = c3.checkbox("JSONL", value=fmt == "openai", key=f"ds_export_jsonl_{fmt}", persist_state=KEEP)
    if st.button(tr("datasets.export_prepare"), key="ds_export_prepare"):
        try:
            body, skipped = shape.export_bytes(_dataset_rows(export_name), fmt, jsonl=as_jsonl)
        except UserError as err:
            show_user_error(err)
        else:
            st.session_state[EXPORT_FILE] = (shape.export_filename(export_name, fmt, as_jsonl), body, skipped)
    prepared = st.session_state.get(EXPORT_FILE)
    if prepared:
        filename, body, skipped = prepared
        if skipped:
            st.warning(tr("datasets.export_skipped", n=f"{skipped:,}"))
        st.download_button(tr("datasets.export_download", file=filename), body, file_name=filename,
                           mime="application/json", key="ds_export_download")


# ----------------------------------------------------------------------------- manage


def manage_tab(infos: list[store.DatasetInfo]) -> None:
    import pandas as pd

    if not infos:
        st.info(tr("datasets.no_datasets"))
        return
    st.dataframe(pd.DataFrame({
        tr("datasets.col_name"): [i.name for i in infos],
        tr("datasets.col_rows"): [i.rows for i in infos],
        tr("datasets.col_tokens"): [i.tokens for i in infos],
        tr("datasets.col_kind"): [tr("datasets.kind." + store.dataset_kind(i)) for i in infos],
        tr("datasets.col_source"): [i.source for i in infos],
        tr("datasets.col_created"): [time.strftime("%Y-%m-%d %H:%M", time.localtime(i.created)) for i in infos],
    }), hide_index=True, width="stretch")
    names = [i.name for i in infos]

    st.subheader(tr("datasets.rename"))
    c1, c2 = st.columns(2)
    old = c1.selectbox(tr("datasets.pick"), names, key="ds_rename_from", persist_state=KEEP)
    new = c2.text_input(tr("datasets.new_name"), key="ds_rename_to", persist_state=KEEP)
    if st.button(tr("datasets.rename"), key="ds_rename_go", disabled=not new.strip()):
        try:
            new = importer.check_dataset_name(new)
            store.rename_dataset(old, new)
        except (UserError, OSError) as err:
            show_user_error(err)
        else:
            flash("success", tr("datasets.renamed", name=new))
            st.rerun()

    st.subheader(tr("datasets.delete_header"))
    victim = st.selectbox(tr("datasets.pick"), names, key="ds_delete_name", persist_state=KEEP)
    sure = st.checkbox(tr("datasets.delete_confirm", name=victim), key=f"ds_delete_sure_{victim}")
    if st.button(tr("common.delete"), key="ds_delete_go", disabled=not sure, type="primary"):
        try:
            store.delete_dataset(victim)
        except (UserError, OSError) as err:
            show_user_error(err)
        else:
            st.session_state.get(TOKEN_STATS, {}).pop(victim, None)
            flash("success", tr("datasets.deleted", name=victim))
            st.rerun()


def main() -> None:
    page_start("datasets.title")
    st.caption(tr("datasets.intro"))
    show_flash()
    tabs = kept_tabs(TAB_KEY, TABS)
    infos = store.list_datasets()
    with tabs[0]:
        import_tab()
    with tabs[1]:
        browse_tab(infos)
    with tabs[2]:
        shape_tab(infos)
    with tabs[3]:
        manage_tab(infos)
    with tabs[4]:
        render_assistant_tab()


main()
