"""The Compare page's Scoreboard tab: evaluate every checkpoint of a run in the background, then
read the board (identity seen / held-out, perplexity Δ, drift, benchmark, losses), pick the best
checkpoint by a criterion, plot against the step, and go on with it in one click (chat side by
side, merge / export, serve). The work is core.eval; this file only draws and keeps widget state.
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from ui.common import lang, show_user_error, tr
from ui.state import KEEP

EXPORT_ADAPTER_KEY = "cmp_export_adapter"  # the export tab's adapter select box
CHAT_PAGE = "views/6_Chat.py"
SERVE_PAGE = "views/8_Serve.py"


def _metric_name(metric: str) -> str:
    return tr(f"eval.metric.{metric}")


def _options_form(run_id: str, config: dict):
    """The measurement options for ``run_id``'s dataset; returns EvalOptions or None (not submitted)."""
    from core.data import store
    from core.eval.identity import dataset_questions, default_heldout
    from core.eval.scoreboard import EvalOptions

    dataset = config.get("dataset", "")
    meta = {}
    seen: list[str] = []
    if store.exists(dataset):
        meta = store.read_meta(dataset).extra.get("assistant") or {}
        seen = dataset_questions(store.load_rows(dataset))
    with st.form(key=f"sb_form_{run_id}"):
        a, b = st.columns(2)
        name = a.text_input(tr("eval.name"), meta.get("name", ""), key=f"sb_name_{run_id}", persist_state=KEEP,
                            help=tr("eval.name_help"))
        author = b.text_input(tr("eval.author"), meta.get("author", ""), key=f"sb_author_{run_id}", persist_state=KEEP)
        heldout = st.text_area(tr("eval.heldout"), "\n".join(default_heldout(seen)), height=150,
                               key=f"sb_heldout_{run_id}", persist_state=KEEP, help=tr("eval.heldout_help", n=len(seen)))
        a, b, c = st.columns(3)
        text_path = a.text_input(tr("eval.text_path"), key=f"sb_text_{run_id}", persist_state=KEEP, help=tr("eval.text_path_help"))
        bench_file = b.text_input(tr("eval.bench_file"), key=f"sb_bench_{run_id}", persist_state=KEEP, help=tr("eval.bench_file_help"))
        reference_file = c.text_input(tr("eval.reference_file"), key=f"sb_refs_{run_id}", persist_state=KEEP,
                                      help=tr("eval.reference_file_help"))
        max_new = st.number_input(tr("eval.max_new_tokens"), 8, 1024, 64, step=8, key=f"sb_max_new_{run_id}", persist_state=KEEP)
        submitted = st.form_submit_button(tr("eval.start"), type="primary")
    if not submitted:
        return None
    questions = [q.strip() for q in heldout.splitlines() if q.strip()]
    return EvalOptions(name=name.strip(), author=author.strip(), heldout=questions or None,
                       text_path=text_path.strip(), bench_file=bench_file.strip(),
                       reference_file=reference_file.strip(), max_new_tokens=int(max_new))


def _status(run_id: str):
    """Draw the evaluation's progress or failure; returns its EvalStatus (None when never started)."""
    from core.eval.job import log_tail, read_eval_status

    status = read_eval_status(run_id)
    if status is None:
        return None
    if status.live:
        message = status.message()
        st.progress(status.progress, text=message.render(lang()) if message else tr("eval.queued"))
    elif status.status == "failed":
        error = status.error_message()
        st.error(tr("eval.failed", error=error.render(lang()) if error else ""))
        tail = log_tail(run_id)
        if tail:
            st.code(tail)
    return status


def _model_name(board) -> str | None:
    """The registry name of the board's base model folder (what the pages' model pickers hold)."""
    from pathlib import Path

    from core.models.registry import list_models

    by_path = {str(Path(m.path).resolve()): m.name for m in list_models()}
    return by_path.get(str(Path(board.model).resolve()))


def _next_steps(best: dict, board) -> None:
    """One click on with the best checkpoint: chat side by side with the base, merge / export, or
    serve it behind the OpenAI API (the Serve page opens with the model and checkpoint chosen)."""
    a, b, c = st.columns(3)
    if a.button(tr("eval.next_chat"), key="sb_next_chat"):
        model = _model_name(board)
        if model:
            st.session_state["chat_model"] = model
        st.session_state["chat_mode"] = "side"
        st.session_state["chat_adapter"] = best["label"]
        st.switch_page(CHAT_PAGE)
    if b.button(tr("eval.next_export"), key="sb_next_export"):
        st.session_state[EXPORT_ADAPTER_KEY] = best["label"]
        st.info(tr("eval.next_export_done", label=best["label"]))
    if c.button(tr("eval.next_serve"), key="sb_next_serve"):
        model = _model_name(board)
        if model:
            st.session_state["serve_model"] = model
        st.session_state["serve_adapters"] = [best["label"]]
        st.switch_page(SERVE_PAGE)


def _plot(board) -> None:
    import plotly.express as px

    curves = board.curves()
    if curves.empty or curves.step.isna().all():
        return
    metrics = list(dict.fromkeys(curves.metric))
    metric = st.selectbox(tr("eval.plot_metric"), metrics, key="sb_plot_metric", persist_state=KEEP, format_func=_metric_name)
    shown = curves[curves.metric == metric].dropna(subset=["step"]).sort_values("step")
    fig = px.line(shown, x="step", y="value", markers=True, hover_name="label",
                  labels={"step": tr("eval.step"), "value": _metric_name(metric)})
    base = next((r.get(metric) for r in board.rows if r["label"] == "base"), None)
    if base is not None:
        fig.add_hline(y=float(base), line_dash="dash", line_color="gray", annotation_text=tr("eval.base_line"))
    st.plotly_chart(fig, key="sb_plot")


def _details(board) -> None:
    identity = board.details.get("identity")
    if identity:
        with st.expander(tr("eval.identity_details", name=identity["name"])):
            st.caption(tr("eval.heldout_meaning"))
            for model in identity["models"]:
                st.markdown(f"**{model['label']}** — " + tr(
                    "eval.identity_line", seen=_pct(model["hit_rate_seen"]), heldout=_pct(model["hit_rate_heldout"]),
                    n_seen=model["n_seen"], n_heldout=model["n_heldout"]))
                if model["misses"]:
                    st.dataframe(model["misses"], hide_index=True, key=f"sb_miss_{model['label']}")
    general = board.details.get("general")
    if general:
        with st.expander(tr("eval.drift_details")):
            st.caption(tr("eval.drift_meaning"))
            table = {"prompt": [a["prompt"] for a in general[0]["answers"]]}
            for model in general:
                table[model["label"]] = [a["answer"] for a in model["answers"]]
            st.dataframe(table, hide_index=True, key="sb_drift")
    probes = board.details.get("probes")
    if probes:
        with st.expander(tr("eval.probe_details")):
            table = {"prompt": [a["prompt"] for a in probes[0]["answers"]]}
            for model in probes:
                table[model["label"]] = [a["answer"] for a in model["answers"]]
            st.dataframe(table, hide_index=True, key="sb_probes")


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _shown(table, present: list[str], run_id: str):
    """The board as the user reads it: checkpoints named without the run (the run is picked above),
    headers in the page's language, "—" where a model has no value (the base has no loss)."""
    from core.units import human_number

    shown = table.drop(columns=["checkpoint"]).assign(label=table["label"].str.removeprefix(f"{run_id}/"))
    shown["step"] = [human_number(v, ".0f") for v in shown["step"]]
    for metric in present:
        shown[metric] = [human_number(v) for v in shown[metric]]
    return shown.rename(columns={"label": tr("eval.col_model"), "step": tr("eval.step"),
                                 **{m: _metric_name(m) for m in present}})


def _board(run_id: str) -> None:
    from core.chat.metrics import SCOREBOARD_METRICS
    from core.eval.scoreboard import DEFAULT_CRITERION, best_checkpoint, load_scoreboard

    board = load_scoreboard(run_id)
    if board is None:
        st.info(tr("eval.no_board"))
        return
    table = board.table()
    present = [m for m in SCOREBOARD_METRICS if m in table.columns]
    st.dataframe(_shown(table, present, run_id), hide_index=True, key="sb_table")
    if not present:
        return
    default = DEFAULT_CRITERION if DEFAULT_CRITERION in present else present[0]
    criterion = st.selectbox(tr("eval.criterion"), present, index=present.index(default), key="sb_criterion", persist_state=KEEP,
                             format_func=_metric_name)
    best = best_checkpoint(board, criterion)
    if best:
        st.success(tr("eval.best", label=best["label"], metric=_metric_name(criterion), value=best[criterion]))
        _next_steps(best, board)
    _plot(board)
    _details(board)


@st.fragment(run_every=3)
def _follow(run_id: str) -> None:
    """While the job runs: redraw its progress every few seconds; redraw the page when it ends."""
    status = _status(run_id)
    if status is None or not status.live:
        st.rerun()


def scoreboard_tab(groups) -> None:
    """Draw the tab for the runs in ``groups`` (core.train.runs.RunCheckpoints, newest first)."""
    from core.eval.job import start_eval_job
    from core.train.runs import read_config

    st.caption(tr("eval.intro"))
    if not groups:
        st.info(tr("compare.no_runs"))
        return
    run_ids = [g.run_id for g in groups]
    run_id = st.selectbox(tr("common.run"), run_ids, key="sb_run", persist_state=KEEP)
    from core.eval.job import read_eval_status

    status = read_eval_status(run_id)
    if status is not None and status.live:
        _follow(run_id)
    else:
        _status(run_id)
        with st.expander(tr("eval.options"), expanded=not status):
            options = _options_form(run_id, read_config(run_id))
        if options is not None:
            try:
                start_eval_job(run_id, options)
                st.rerun()
            except UserError as err:
                show_user_error(err)
    _board(run_id)
