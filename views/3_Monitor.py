"""Monitor page: loss, eval loss, learning rate, grad norm, tokens/s and memory curves of one or
more runs (overlaid, EMA-smoothed), reward curves of DPO/ORPO/KTO runs, the probe answers step by
step, and the config diff. A sweep can be picked to overlay its runs and rank them; a stalled run
is flagged with a stop button, and the cost so far / at ETA shows when a price is set.

Curves come from each run's metrics.jsonl; while a selected run is live the charts re-draw by
themselves every 2 s (``st.fragment(run_every=...)``), nothing else on the page reruns.

    streamlit run views/3_Monitor.py
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.train import metrics, runs, sweeps
from core.units import human_number
from core.untrusted import inert_markdown
from ui.common import page_start, show_user_error, tr
from ui.run_health import cost_line, price_form, stalled_warning
from ui.run_labels import run_label
from ui.state import KEEP

RUNS_KEY = "monitor_runs"
EMA_KEY = "monitor_ema"
PROBE_RUN_KEY = "monitor_probe_run"
SWEEP_KEY = "monitor_sweep"
REFRESH_SECONDS = 2
COLORS = ["#3b6ea5", "#d9534f", "#5cb85c", "#f0ad4e", "#9b59b6", "#17a2b8", "#795548", "#e83e8c"]
LEGEND = dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1)  # above the plot, clear of axis titles
LEGEND_CHARS = 24
CHART_KEYS = ("loss", "eval_loss", "rewards_margins", "rewards_accuracy", "rewards_chosen", "rewards_rejected",
              "lr", "grad_norm", "tokens_per_s", "gpu_mem")


def short_name(run_id: str) -> str:
    """A legend entry: the run's name, cut to LEGEND_CHARS."""
    name = runs.run_name(run_id)
    return name if len(name) <= LEGEND_CHARS else name[:LEGEND_CHARS - 1] + "…"


def figure(key: str, data: dict[str, list[dict]], smoothing: float):
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (run_id, rows) in enumerate(data.items()):
        steps, values = metrics.series(rows, key)
        if not steps:
            continue
        color = COLORS[i % len(COLORS)]
        name = short_name(run_id)
        smooth = key in ("loss", "grad_norm", "tokens_per_s") and smoothing > 0
        if smooth:
            fig.add_scatter(x=steps, y=values, mode="lines", line=dict(color=color, width=1), opacity=0.25,
                            name=name, legendgroup=run_id, showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=steps, y=metrics.ema(values, smoothing) if smooth else values,
                        mode="lines+markers" if len(steps) < 30 else "lines",
                        line=dict(color=color, width=2, dash="dash" if key == "eval_loss" else "solid"),
                        name=name, legendgroup=run_id)
    fig.update_layout(title=dict(text=tr(f"monitor.chart.{key}"), x=0, xanchor="left", font_size=14), height=280,
                      margin=dict(l=10, r=10, t=60, b=10), xaxis_title=tr("monitor.step"), uirevision=key,
                      legend=LEGEND)
    return fig


def probes_panel(run_id: str) -> None:
    table = metrics.probe_table(run_id)
    if not table:
        st.caption(tr("monitor.no_probes"))
        return
    for prompt, answers in table.items():
        st.markdown(f"**{tr('monitor.prompt')}:** {inert_markdown(prompt)}")
        for step, answer in reversed(answers[-6:]):
            st.markdown(f"`{tr('monitor.step')} {step}` {inert_markdown(answer.strip()) or tr('monitor.empty_answer')}")
        if len(answers) > 6:
            with st.expander(tr("monitor.all_answers", n=len(answers))):
                st.dataframe([{tr("monitor.step"): s, tr("monitor.col.answer"): a} for s, a in answers],
                             hide_index=True, width="stretch")


def status_line(statuses: dict[str, runs.RunStatus]) -> None:
    parts = []
    for run_id, s in statuses.items():
        total = f"/{s.total_steps}" if s.total_steps else ""
        parts.append(f"**{runs.run_name(run_id)}**: {tr('train.state.' + s.status)} · {tr('monitor.step')} {s.step}{total}")
    st.markdown("  \n".join(parts))
    for s in statuses.values():
        stalled_warning(s, "monitor")
        cost_line(s)


def charts(selected: list[str], smoothing: float) -> None:
    statuses = {r: runs.read_status(r) for r in selected}
    data = {r: runs.read_metrics(r) for r in selected}
    status_line(statuses)
    left, right = st.columns([3, 2])
    with left:
        present = [k for k in CHART_KEYS if any(metrics.series(rows, k)[0] for rows in data.values())]
        if not present:
            st.info(tr("monitor.no_metrics"))
        for i in range(0, len(present), 2):
            cols = st.columns(2)
            for col, key in zip(cols, present[i:i + 2]):
                col.plotly_chart(figure(key, data, smoothing), key=f"monitor_chart_{key}", width="stretch",
                                config={"displayModeBar": False})
    with right:
        st.markdown(f"#### {tr('monitor.probes')}")
        probe_run = st.session_state.get(PROBE_RUN_KEY)
        if probe_run not in selected:
            probe_run = selected[0]
        if len(selected) > 1:
            probe_run = st.selectbox(tr("common.run"), selected, index=selected.index(probe_run), format_func=run_label,
                                     key=PROBE_RUN_KEY, persist_state=KEEP)
        probes_panel(probe_run)


def main() -> None:
    st.set_page_config(layout="wide")  # curves and probe answers side by side
    page_start("monitor.title")
    run_ids = runs.list_run_ids()
    if not run_ids:
        st.info(tr("monitor.no_runs"))
        return
    statuses = {r: runs.read_status(r) for r in run_ids}
    if RUNS_KEY not in st.session_state:
        st.session_state[RUNS_KEY] = runs.live_first(statuses)[:1]
    else:
        st.session_state[RUNS_KEY] = [r for r in st.session_state[RUNS_KEY] if r in run_ids]
    sweep_pick(run_ids)
    c1, c2 = st.columns([3, 1])
    selected = c1.multiselect(tr("monitor.runs"), run_ids, key=RUNS_KEY, persist_state=KEEP,
                              format_func=run_label)
    smoothing = c2.slider(tr("monitor.smoothing"), 0.0, 0.99, 0.6, 0.01, key=EMA_KEY, persist_state=KEEP, help=tr("monitor.smoothing_help"))
    if not selected:
        st.info(tr("monitor.pick_runs"))
        return
    live = any(statuses[r].live for r in selected)

    @st.fragment(run_every=REFRESH_SECONDS if live else None)
    def live_charts():
        charts(selected, smoothing)
        if live and not any(runs.read_status(r).live for r in selected):
            st.rerun()  # the last live run ended: stop refreshing

    live_charts()
    if live:
        st.caption(tr("monitor.live", s=REFRESH_SECONDS))

    if st.session_state.get(SWEEP_KEY):
        sweep_ranking(st.session_state[SWEEP_KEY])
    if len(selected) > 1:
        st.markdown(f"#### {tr('monitor.config_diff')}")
        diff = metrics.config_diff(selected)
        if diff:
            names = {r: run_label(r) for r in selected}
            if len(set(names.values())) < len(names):  # two runs under one name: their ids tell them apart
                names = {r: r for r in selected}
            st.dataframe([{tr("monitor.col.setting"): k} | {names[r]: str(v.get(r)) for r in selected}
                          for k, v in diff.items()],
                         hide_index=True, width="stretch")
        else:
            st.caption(tr("monitor.same_config"))
    st.caption(tr("monitor.tensorboard", path=str(runs.run_dir(selected[0]) / runs.TENSORBOARD_DIR)))
    price_form("monitor")


def on_sweep_change() -> None:
    sweep_id = st.session_state.get(SWEEP_KEY)
    if sweep_id:
        st.session_state[RUNS_KEY] = [r["run_id"] for r in sweeps.read_sweep(sweep_id)["runs"]]


def sweep_pick(run_ids: list[str]) -> None:
    """Pick a sweep: its runs become the overlaid selection."""
    known = {r["sweep_id"]: r for r in sweeps.list_sweeps()}
    if not known:
        return
    st.selectbox(tr("sweep.pick"), [""] + list(known), key=SWEEP_KEY, on_change=on_sweep_change, persist_state=KEEP,
                 format_func=lambda s: tr("sweep.label", sweep=s, n=len(known[s]["runs"])) if s else tr("sweep.none"))


def sweep_ranking(sweep_id: str) -> None:
    st.markdown(f"#### {tr('sweep.ranking')}")
    rows = sweeps.rank_sweep(sweep_id)  # a run without eval steps has no eval loss: human_number shows "—"
    st.dataframe([{"#": i + 1, tr("sweep.col_run"): runs.run_name(r["run_id"]), **{k: str(v) for k, v in r["values"].items()},
                   tr("sweep.col_state"): tr("train.state." + r["status"]), tr("sweep.col_step"): r["step"],
                   tr("sweep.col_final_loss"): human_number(r["final_loss"]),
                   tr("sweep.col_best_eval"): human_number(r["best_eval_loss"])}
                  for i, r in enumerate(rows)],
                 hide_index=True, width="stretch", key="monitor_sweep_ranking")


try:
    main()
except UserError as err:
    show_user_error(err)
