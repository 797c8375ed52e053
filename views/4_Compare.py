"""Compare: checkpoints side by side on a prompt set, with scores; then merge one and ship it.

UI only. The work is in core.chat.compare (answers on one loaded base, adapters switched),
core.chat.metrics (BLEU / ROUGE-L / exact match / eval loss) and core.models.export (merge, zip).
The loaded base is shared with the Chat page through ui.models' cache.

    streamlit run views/4_Compare.py
"""
from __future__ import annotations

import html
import time

import streamlit as st

from core.chat.metrics import COMPARE_METRICS
from core.errors import UserError
from core.untrusted import inert_html, inert_markdown
from ui.common import message_text, page_start, show_user_error, tr

from ui.export_tab import export_tab
from ui.models import build_demo_block, get_loaded_model, quantization_label, quantization_select, unload_all
from ui.run_labels import run_label
from ui.scoreboard_tab import scoreboard_tab
from ui.state import KEEP, kept_tabs

RESULT_KEY = "cmp_result"  # CompareResult.to_dict() of the comparison on screen


# ----------------------------------------------------------------------------- choosing


def pick_model(models, groups) -> str | None:
    """The base model select; defaults to the base of the newest run that is in the list."""
    from pathlib import Path

    if not models:
        build_demo_block("cmp")
        return None
    names = [m.name for m in models]
    if st.session_state.get("cmp_model") not in names:
        default = names[0]
        by_path = {str(Path(m.path).resolve()): m.name for m in models}
        for base in (group.base_model for group in groups):
            if base and str(Path(base).resolve()) in by_path:
                default = by_path[str(Path(base).resolve())]
                break
        st.session_state["cmp_model"] = default
    return st.selectbox(tr("common.model"), names, key="cmp_model", persist_state=KEEP)


def ref_step_label(ref) -> str:
    """A checkpoint within its run: "step N" or "final (step N)"."""
    from core.train.runs import FINAL_ADAPTER

    step = ref.step if ref.step is not None else "?"
    return tr("common.final_step", step=step) if ref.name == FINAL_ADAPTER else tr("common.step_n", step=step)


def distinct_steps(refs) -> list:
    """One adapter per step: the final adapter stands for the checkpoint saved at the same step."""
    from core.train.runs import FINAL_ADAPTER

    by_step: dict = {}
    for ref in refs:  # sorted by step, the final adapter last
        if ref.step not in by_step or ref.name == FINAL_ADAPTER:
            by_step[ref.step] = ref
    return list(by_step.values())


def default_run(matching) -> str | None:
    """The run whose checkpoints are preselected: the newest completed one (else the newest)."""
    from core.train.runs import read_status

    for run_id, _, _ in matching:
        try:
            if read_status(run_id).status == "completed":
                return run_id
        except UserError:
            continue
    return matching[0][0] if matching else None


def pick_checkpoints(model_path, groups) -> list[str]:
    """One multiselect per run (grouped by run); runs of other bases in an expander."""
    from pathlib import Path

    from core.chat.compare import adapter_fits

    st.subheader(tr("compare.checkpoints"))
    if not groups:
        st.info(tr("compare.no_runs"))
        return []
    if st.session_state.get("cmp_ck_for") != str(model_path):  # a new base: fresh default picks
        for key in [k for k in st.session_state if str(k).startswith("cmp_ck_")]:
            del st.session_state[key]
        st.session_state["cmp_ck_for"] = str(model_path)
    matching, other = [], []
    for group in groups:
        fits = model_path and adapter_fits(model_path, group.adapters[0].path)
        (matching if fits else other).append((group.run_id, group.base_model, group.adapters))
    chosen: list[str] = []

    def run_select(run_id, base, refs, default_all: bool, warn: bool):
        by_path = {r.path: r for r in refs}
        key = f"cmp_ck_{run_id}"
        if key not in st.session_state:
            st.session_state[key] = [r.path for r in distinct_steps(refs)] if default_all else []
        picked = st.multiselect(tr("compare.run_label", run=run_label(run_id), base=Path(base).name if base else "?"),
                                list(by_path), key=key, persist_state=KEEP,
                                format_func=lambda p: ref_step_label(by_path[p]),
                                help=tr("compare.other_base", base=base) if warn else None)
        chosen.extend(p for p in picked if p in by_path)

    preselected = default_run(matching)
    for run_id, base, refs in matching:
        run_select(run_id, base, refs, default_all=run_id == preselected, warn=False)
    if other:
        with st.expander(tr("compare.other_runs", n=len(other))):
            for run_id, base, refs in other:
                st.caption(tr("compare.other_base", base=base))
                run_select(run_id, base, refs, default_all=False, warn=True)
    return chosen


def pick_prompts(groups):
    """(prompts, eval_rows, eval_source) from the chosen source; raises UserError when unusable."""
    from core.chat import compare as C
    from core.chat import prompts as P
    from core.data.shape import eval_split_rows

    st.subheader(tr("compare.prompt_source"))
    source = st.radio(tr("compare.prompt_source"), ["typed", "file", "dataset"], key="cmp_source", persist_state=KEEP,
                      horizontal=True, label_visibility="collapsed",
                      format_func=lambda s: tr(f"compare.source_{s}"))
    if source == "typed":
        text = st.text_area(tr("compare.typed_label"), tr("compare.typed_default"), key="cmp_typed", persist_state=KEEP, height=120)
        return (lambda: (P.parse_prompt_text(text), None, None)), False
    if source == "file":
        upload = st.file_uploader(tr("compare.file_label"), type=["txt", "jsonl", "json", "csv", "tsv"],
                                  key="cmp_file")

        def from_file():
            if upload is None:
                raise UserError(tr("compare.file_needed"), field="prompts")
            from core.limits import check_upload

            check_upload(upload.name, upload.size)
            return P.parse_prompt_file(upload.getvalue(), upload.name), None, None
        return from_file, False
    from core.data.store import list_datasets

    names = [d.name for d in list_datasets()]
    if not names:
        st.info(tr("compare.no_datasets"))
        return (lambda: (_ for _ in ()).throw(UserError(tr("compare.no_datasets")))), False
    ratio, seed, held = 0.1, 42, False
    dataset_default = names[0]
    if groups:
        ds, ratio, seed, held = C.run_eval_split(groups[0].run_id)
        dataset_default = ds if ds in names else dataset_default
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
    dataset = c1.selectbox(tr("common.dataset"), names, index=names.index(dataset_default), key="cmp_dataset", persist_state=KEEP)
    eval_ratio = c2.number_input(tr("compare.eval_ratio"), 0.01, 0.9, float(ratio), step=0.05, key="cmp_ratio", persist_state=KEEP)
    split_seed = int(c3.number_input(tr("compare.seed"), 0, 2**31 - 1, int(seed), key="cmp_seed", persist_state=KEEP))
    limit = int(c4.number_input(tr("compare.limit"), 1, P.MAX_PROMPTS, 20, key="cmp_limit", persist_state=KEEP))
    if groups and dataset == dataset_default and abs(eval_ratio - ratio) < 1e-9 and split_seed == seed:
        st.caption(tr("compare.held_out", ratio=ratio, seed=seed) if held else tr("compare.not_held_out"))
    want_loss = st.checkbox(tr("compare.eval_loss"), True, key="cmp_eval_loss", persist_state=KEEP)

    def from_dataset():
        rows = eval_split_rows(dataset, eval_ratio, split_seed)
        prompts = P.prompts_from_rows(rows, limit=limit)
        if not prompts:
            raise UserError("err.chat.eval_no_prompts", name=dataset, field="dataset")
        source_info = {"dataset": dataset, "eval_ratio": eval_ratio, "seed": split_seed, "rows": len(rows)}
        return prompts, (rows if want_loss else None), (source_info if want_loss else None)
    return from_dataset, want_loss


def generation_settings():
    from core.chat.generate import GenerationSettings

    with st.expander(tr("compare.settings")):
        c1, c2, c3 = st.columns(3)
        settings = GenerationSettings(
            max_new_tokens=int(c1.number_input(tr("compare.max_new_tokens"), 1, 4096, 128, key="cmp_max_new", persist_state=KEEP)),
            temperature=float(c2.number_input(tr("compare.temperature"), 0.0, 2.0, 0.0, step=0.1, key="cmp_temp", persist_state=KEEP)),
            repetition_penalty=float(c3.number_input(tr("compare.repetition_penalty"), 1.0, 2.0, 1.0, step=0.05,
                                                     key="cmp_rep", persist_state=KEEP)),
            system=st.text_input(tr("compare.system"), "", key="cmp_system", persist_state=KEEP),
        )
    st.caption(settings_text(settings.to_dict()))
    return settings


def settings_text(s: dict) -> str:
    if not s.get("temperature"):
        return tr("compare.settings_greedy", n=s.get("max_new_tokens"), rp=s.get("repetition_penalty"))
    return tr("compare.settings_sampled", t=s.get("temperature"), n=s.get("max_new_tokens"))


# ----------------------------------------------------------------------------- running


def run_comparison(model, quant, adapters, include_base, build_prompts, settings) -> None:
    from core.chat import compare as C
    from core.models.registry import resolve_model

    try:
        if not adapters and not include_base:
            raise UserError(tr("compare.nothing_selected"))
        prompts, eval_rows, eval_source = build_prompts()
        C.check_fits(resolve_model(model), adapters)  # refuse before the slow load
        with st.spinner(tr("compare.loading", model=model)):
            lm = get_loaded_model(model, quant)
        n_models = len(adapters) + int(include_base)
        bar = st.progress(0.0, text=tr("compare.running", n=len(prompts), m=n_models))
        result = C.run_compare(lm, prompts, adapters, settings, include_base=include_base,
                               eval_rows=eval_rows, eval_source=eval_source,
                               progress=lambda f, m: bar.progress(f, text=message_text(m)))
        bar.empty()
        C.save_result(result)
        st.session_state[RESULT_KEY] = result.to_dict()
    except UserError as err:
        show_user_error(err)


# ----------------------------------------------------------------------------- results


def show_results(result) -> None:
    from pathlib import Path

    st.subheader(tr("compare.results"))
    st.caption(tr("compare.result_caption", n=len(result.prompts), m=len(result.columns),
                  model=Path(result.model).name, quant=quantization_label(result.quantization),
                  settings=settings_text(result.settings)))
    if not result.complete:
        st.warning(tr("compare.stopped"))
    if result.saved:
        st.caption(tr("compare.saved", paths=", ".join(result.saved)))
    show_metrics(result)
    st.markdown(f"#### {tr('compare.answers')}")
    if "answers" in result.seconds:
        st.caption(tr("compare.answers_time", seconds=result.seconds["answers"], rows=len(result.prompts) *
                      len(result.columns)))
    answers = result.table().rename(columns={c: tr(f"table.col.{c}") for c in ("prompt", "reference")})
    st.dataframe(answers, hide_index=True, width="stretch", key="cmp_table")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.created))
    st.download_button(tr("compare.download_csv"), result.to_csv_bytes(), file_name=f"compare-{stamp}.csv",
                       mime="text/csv", key="cmp_download_csv")
    show_per_prompt(result)


def show_metrics(result) -> None:
    from core.chat.compare import best_checkpoints

    st.markdown(f"#### {tr('compare.metrics')}")
    table = result.metrics_table()
    present = [m for m in COMPARE_METRICS if table[m].notna().any()]
    if not result.has_references:
        st.info(tr("compare.no_references"))
    shown = table[["model", "step"] + present].rename(
        columns={**{m: tr(f"compare.metric_{m}") for m in present},
                 **{c: tr(f"table.col.{c}") for c in ("model", "step")}})
    st.dataframe(shown, hide_index=True, width="stretch", key="cmp_metrics")
    best = best_checkpoints(result)
    if best:
        st.caption(" · ".join(tr("compare.best", metric=tr(f"compare.metric_{m}"), model=label)
                              for m, label in best.items()))
    if present:
        show_plot(result, present)


def show_plot(result, present) -> None:
    import plotly.graph_objects as go

    from core.chat.compare import metric_curves
    from core.train.runs import run_name

    curves = metric_curves(result)
    st.markdown(f"#### {tr('compare.plot')}")
    metric = st.radio(tr("compare.plot_metric"), present, horizontal=True, key="cmp_plot_metric", persist_state=KEEP,
                      format_func=lambda m: tr(f"compare.metric_{m}"))
    data = curves[curves.metric == metric]
    stepped = data[data.step.notna()]
    if stepped.empty:
        st.caption(tr("compare.plot_no_steps"))
        return
    fig = go.Figure()
    for run_id, group in stepped.groupby("run", sort=False):
        group = group.sort_values("step")
        fig.add_trace(go.Scatter(x=group.step, y=group.value, mode="lines+markers", name=run_name(run_id),
                                 text=group.checkpoint, hovertemplate="%{text}<br>%{x}: %{y:.4g}<extra></extra>"))
    base = data[data.step.isna()]
    if not base.empty:
        fig.add_hline(y=float(base.value.iloc[0]), line_dash="dash", line_color="gray",
                      annotation_text=tr("compare.plot_base"))
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=50, b=10), xaxis_title=tr("compare.step"),
                      yaxis_title=tr(f"compare.metric_{metric}"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="right", x=1))
    st.plotly_chart(fig, key="cmp_plot")


def highlighted(base_text: str, text: str) -> str:
    from core.chat.compare import diff_segments

    if not text:
        return f"<i>{html.escape(tr('compare.empty_answer'))}</i>"
    parts = []
    for piece, changed in diff_segments(base_text, text):
        escaped = inert_html(piece)
        parts.append(f"<mark style='background:#ffe08a;padding:0 1px'>{escaped}</mark>" if changed else escaped)
    return "<div style='white-space:pre-wrap;line-height:1.5'>" + "".join(parts) + "</div>"


def show_per_prompt(result) -> None:
    from core.chat.metrics import answer_scores

    st.markdown(f"#### {tr('compare.per_prompt')}")
    differing = result.differing_prompts()
    if not differing:
        st.caption(tr("compare.all_same"))
    only = st.checkbox(tr("compare.only_differing", n=len(differing)), bool(differing), key="cmp_only_diff", persist_state=KEEP)
    indices = differing if only and differing else list(range(len(result.prompts)))
    diff_set = set(differing)
    i = st.selectbox(tr("compare.pick_prompt"), indices, key="cmp_prompt_pick", persist_state=KEEP,
                     format_func=lambda k: f"#{k + 1}{' ≠' if k in diff_set else ''} · {result.prompts[k].prompt[:80]}")
    if i is None or i >= len(result.prompts):
        return
    item = result.prompts[i]
    against = "base"
    if item.reference:
        against = st.radio(tr("compare.highlight_against"), ["base", "reference"], horizontal=True,
                           key="cmp_against", persist_state=KEEP, format_func=lambda a: tr(f"compare.against_{a}"))
    st.markdown(f"**{inert_markdown(item.prompt)}**")
    if item.reference:
        st.caption(f"{tr('compare.reference')}: {inert_markdown(item.reference)}")
    labels = result.labels
    first = result.answers.get(labels[0], [""] * (i + 1))
    anchor = item.reference if against == "reference" else (first[i] if i < len(first) else "")
    for label in labels:
        answers = result.answers.get(label, [])
        text = answers[i] if i < len(answers) else ""
        with st.container(border=True):
            line = f"**{label}**"
            if item.reference:
                s = answer_scores(text, item.reference)
                line += f" · BLEU {s['bleu']:.1f} · ROUGE-L {s['rouge_l']:.3f} · EM {s['exact_match']:.0f}"
            st.markdown(line)
            if label == labels[0] and against == "base":
                st.markdown(f"<div style='white-space:pre-wrap'>{inert_html(text) or tr('compare.empty_answer')}</div>",
                            unsafe_allow_html=True)
            else:
                st.markdown(highlighted(anchor, text), unsafe_allow_html=True)


def show_history() -> None:
    from datetime import datetime

    from core.chat.compare import list_saved, load_saved

    with st.expander(tr("compare.history")):
        saved = list_saved()
        if not saved:
            st.caption(tr("compare.history_none"))
            return
        by_path = {s["path"]: s for s in saved}
        path = st.selectbox(tr("compare.history"), list(by_path), key="cmp_history", persist_state=KEEP, label_visibility="collapsed",
                            format_func=lambda p: tr("compare.history_item",
                                                     when=datetime.fromtimestamp(by_path[p]["created"]).strftime("%Y-%m-%d %H:%M"),
                                                     run=by_path[p]["run_id"], m=len(by_path[p]["models"]),
                                                     n=by_path[p]["prompts"]))
        if st.button(tr("compare.open"), key="cmp_history_open"):
            try:
                st.session_state[RESULT_KEY] = load_saved(path).to_dict()
            except UserError as err:
                show_user_error(err)


def compare_tab(models, groups) -> None:
    from core.chat.compare import CompareResult
    from core.models.registry import resolve_model

    c1, c2 = st.columns([3, 2])
    with c1:
        model = pick_model(models, groups)
    quant = quantization_select("cmp_quant", where=c2)
    model_path = None
    if model:
        try:
            model_path = resolve_model(model)
        except UserError as err:
            show_user_error(err)
    include_base = st.checkbox(tr("compare.include_base"), True, key="cmp_include_base", persist_state=KEEP)
    adapters = pick_checkpoints(model_path, groups)
    build_prompts, _ = pick_prompts(groups)
    settings = generation_settings()
    b1, b2 = st.columns([1, 1])
    if b1.button(tr("compare.run"), type="primary", key="cmp_run", disabled=model is None):
        run_comparison(model, quant, adapters, include_base, build_prompts, settings)
    if b2.button(tr("compare.unload"), key="cmp_unload"):
        unload_all()
        st.toast(tr("common.unloaded"))
    show_history()
    if st.session_state.get(RESULT_KEY):
        show_results(CompareResult.from_dict(st.session_state[RESULT_KEY]))


def main() -> None:
    from core.train.runs import checkpoints_by_run
    from core.models.registry import list_models

    page_start("compare.title")
    st.caption(tr("compare.intro"))
    try:
        models = list_models()
        groups = checkpoints_by_run()
    except UserError as err:
        show_user_error(err)
        return
    tab_compare, tab_scoreboard, tab_export = kept_tabs(
        "cmp_tab", ["compare.tab_compare", "compare.tab_scoreboard", "compare.tab_export"])
    with tab_compare:
        compare_tab(models, groups)
    with tab_scoreboard:
        scoreboard_tab(groups)
    with tab_export:
        export_tab(models, groups)


main()
