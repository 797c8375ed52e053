"""The Train page's form: model, dataset, preset and every TrainConfig setting, with errors at the fields.

Widgets are keyed ``train_<TrainConfig field>`` and kept across pages (ui.state.KEEP); ``field``
draws one setting and the error that belongs to it, so no field is named twice. Presets and
"copy from run" fill the widgets; ``config_from_widgets`` reads them back into a TrainConfig.
Errors are kept as objects (UserError, Msg or per-language texts) and rendered at draw time,
so they follow a language switch.
"""
from __future__ import annotations

from dataclasses import fields

import streamlit as st

from core.errors import UserError
from core.i18n import LANGUAGES, Msg
from core.train import config as train_config
from core.train import runs
from core.units import human_size
from ui.common import flash, lang, message_text, tr
from ui.models import build_demo_block, quantization_label
from ui.run_labels import run_label
from ui.state import KEEP

K = "train_"  # widget-key prefix: K + TrainConfig field name
ERRORS_KEY = "train_field_errors"  # {field: UserError | Msg | {lang: text}}
RUN_KEY = "train_selected_run"
INITIALISED_KEY = "train_initialised"
PROBES_FOR_KEY = "train_probes_suggested_for"  # the dataset whose probe questions were offered
TrainConfig = train_config.TrainConfig
FIELDS = {f.name for f in fields(TrainConfig)}
FLOAT_FIELDS = {f.name for f in fields(TrainConfig) if f.type in ("float", float)}
INT_FIELDS = {f.name for f in fields(TrainConfig) if f.type in ("int", int)}
DEFAULT_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


# ---------------------------------------------------------------- settings <-> widgets
def apply_config(cfg: TrainConfig, keep_choice: bool = True) -> None:
    """Put a config's settings into the widgets (model/dataset stay as chosen)."""
    for name, value in cfg.to_dict().items():
        if keep_choice and name in ("model", "dataset", "run_name", "resume_from"):
            continue
        if name == "probe_prompts":
            st.session_state[K + name] = "\n".join(value)
        elif name == "target_modules":
            targets = [t.strip() for t in value.split(",") if t.strip()]
            st.session_state[K + "targets_all"] = targets == ["all-linear"] or not targets
            st.session_state[K + "targets_chosen"] = [] if targets == ["all-linear"] else targets
        elif name == "gpus":
            st.session_state[K + name] = [g for g in value.split(",") if g]
        elif name == "deepspeed":
            st.session_state[K + name] = value or "off"
        elif name in FLOAT_FIELDS:
            st.session_state[K + name] = float(value)
        elif name in INT_FIELDS:
            st.session_state[K + name] = int(value)
        elif name in FIELDS:
            st.session_state[K + name] = value
    st.session_state.pop(ERRORS_KEY, None)


def config_from_widgets() -> TrainConfig:
    ss = st.session_state
    values = {}
    for name in FIELDS:
        if K + name in ss:
            values[name] = ss[K + name]
    values["probe_prompts"] = [p.strip() for p in str(ss.get(K + "probe_prompts", "")).splitlines() if p.strip()]
    if ss.get(K + "targets_all", True):
        values["target_modules"] = "all-linear"
    else:
        values["target_modules"] = ",".join(ss.get(K + "targets_chosen", []))
    values["gpus"] = ",".join(ss.get(K + "gpus", []) or [])
    values["deepspeed"] = "" if ss.get(K + "deepspeed", "off") == "off" else ss[K + "deepspeed"]
    values["model"] = ss.get(K + "model") or ""
    values["dataset"] = ss.get(K + "dataset") or ""
    values["resume_from"] = ""
    for name in INT_FIELDS:
        if values.get(name) is not None:
            values[name] = int(values[name])
    return TrainConfig.from_dict(values)


def init_defaults(default_preset: str) -> None:
    """Fill the form from the default preset once per browser session."""
    if st.session_state.get(INITIALISED_KEY):
        return
    from core.train import presets

    st.session_state[K + "preset"] = default_preset
    apply_config(presets.load_preset(default_preset), keep_choice=True)
    st.session_state[INITIALISED_KEY] = True


# ---------------------------------------------------------------- callbacks
def on_preset_change() -> None:
    from core.train import presets

    try:
        apply_config(presets.load_preset(st.session_state[K + "preset"]))
    except UserError as err:
        flash("error", err)


def on_copy_run() -> None:
    from core.train import presets

    run_id = st.session_state.get(K + "copy_run")
    if run_id:
        try:
            apply_config(presets.config_from_run(run_id))
            flash("success", Msg("train.copied", run=run_id))
        except UserError as err:
            flash("error", err)


def on_save_preset() -> None:
    from core.train import presets

    try:
        name = presets.save_preset(st.session_state.get(K + "preset_name", ""), config_from_widgets(),
                                   overwrite=bool(st.session_state.get(K + "preset_overwrite")))
        flash("success", Msg("train.preset_saved", name=name))
    except UserError as err:
        flash("error", err)


def on_launch() -> None:
    """Validate at the fields; launch only when everything is valid."""
    from core.train import launcher

    cfg = config_from_widgets()
    by_lang = {code: launcher.check_launchable(cfg, code) for code in LANGUAGES}
    if by_lang[lang()]:
        st.session_state[ERRORS_KEY] = {name: {code: by_lang[code].get(name, "") for code in LANGUAGES}
                                        for name in by_lang[lang()]}
        flash("error", Msg("train.fix_fields", n=len(by_lang[lang()])))
        return
    try:
        status = launcher.launch_run(cfg)
    except UserError as err:
        st.session_state[ERRORS_KEY] = {err.field: err} if err.field else {}
        flash("error", err)
        return
    st.session_state.pop(ERRORS_KEY, None)
    st.session_state[RUN_KEY] = status.run_id
    flash("success", Msg("train.launched", run=status.run_id, status=Msg("train.state." + status.status)))


def suggest_probes() -> None:
    """An assistant set gets its classic probe questions once, if the probe box is empty."""
    from core.data import store
    from core.data.assistant import probe_questions

    dataset = st.session_state.get(K + "dataset")
    if not dataset or st.session_state.get(PROBES_FOR_KEY) == dataset:
        return
    st.session_state[PROBES_FOR_KEY] = dataset
    if str(st.session_state.get(K + "probe_prompts", "")).strip():
        return
    try:
        probes = probe_questions(store.read_meta(dataset).extra)
    except UserError:
        return
    if probes:
        st.session_state[K + "probe_prompts"] = "\n".join(probes)


# ---------------------------------------------------------------- drawing
def field_error(name: str) -> None:
    """The error kept for ``name`` (if any), in the page's current language."""
    message = st.session_state.get(ERRORS_KEY, {}).get(name)
    if message:
        st.error(message_text(message), icon="⚠️")


def other_errors() -> None:
    """Errors that belong to no drawn field (e.g. a launch refused as a whole)."""
    for name, message in st.session_state.get(ERRORS_KEY, {}).items():
        if name not in FIELDS:
            st.error(message_text(message))


def field(where, widget: str, name: str, label: str, *, error: str | None = None, **options):
    """Draw the setting ``name`` as ``st.<widget>`` in ``where`` and, under it, its error.

    ``error`` names the TrainConfig field whose error belongs here when it is not ``name``
    (e.g. the "all linear layers" box carries target_modules' error)."""
    with where:
        value = getattr(st, widget)(label, key=K + name, persist_state=KEEP, **options)
        field_error(error or name)
    return value


def model_and_data() -> bool:
    from core.data.store import list_datasets
    from core.models.registry import list_models

    models = [m.name for m in list_models()]
    datasets = [d.name for d in list_datasets()]
    c1, c2 = st.columns(2)
    # With several to choose from, nothing is preselected: the run trains on what the user picked.
    if models:
        field(c1, "selectbox", "model", tr("common.model"), options=models, index=0 if len(models) == 1 else None,
              placeholder=tr("train.pick_model"))
    else:
        with c1:
            build_demo_block("train")
            field_error("model")
    if datasets:
        field(c2, "selectbox", "dataset", tr("common.dataset"), options=datasets,
              index=0 if len(datasets) == 1 else None, placeholder=tr("train.pick_dataset"))
        suggest_probes()
    else:
        with c2:
            st.info(tr("train.no_datasets"))
            field_error("dataset")
    from ui.train_extras import stage_fields

    stage_fields()  # only the stages the chosen dataset fits; continue from run; trackers
    for name in ("stage", "pref_beta", "init_adapter", "trackers"):
        field_error(name)
    return bool(models)


def settings_form(devices: dict) -> None:
    from core.train import presets

    c1, c2, c3 = st.columns([2, 2, 1])
    names = presets.list_presets()
    labels = {n: presets.preset_label(n, lang()) for n in names}
    if st.session_state.get(K + "preset") not in names:
        st.session_state[K + "preset"] = names[0]
    field(c1, "selectbox", "preset", tr("train.preset"), options=names, format_func=labels.get,
          on_change=on_preset_change)
    field(c2, "selectbox", "copy_run", tr("train.copy_from"), options=[""] + runs.list_run_ids(),
          format_func=lambda r: run_label(r) if r else tr("train.copy_pick"), on_change=on_copy_run)
    field(c3, "text_input", "run_name", tr("train.run_name"), placeholder=tr("train.run_name_auto"))

    with st.expander(tr("train.section.lora"), expanded=True):
        a, b, c, d = st.columns(4)
        field(a, "number_input", "lora_r", "LoRA r", step=8)
        field(b, "number_input", "lora_alpha", "LoRA alpha", step=8)
        field(c, "number_input", "lora_dropout", "LoRA dropout", step=0.05, format="%.2f")
        field(d, "selectbox", "quantization", tr("train.quantization"), options=list(train_config.QUANTIZATIONS),
              format_func=quantization_label)
        a, b = st.columns([1, 3])
        field(a, "checkbox", "targets_all", tr("train.all_linear"), error="target_modules")
        if not st.session_state.get(K + "targets_all", True):
            field(b, "multiselect", "targets_chosen", tr("train.target_modules"), error="-",
                  options=devices["modules"], accept_new_options=True)
        a, b = st.columns(2)
        field(a, "checkbox", "use_dora", "DoRA", help=tr("train.dora_help"))
        field(b, "checkbox", "use_rslora", "rsLoRA", help=tr("train.rslora_help"))

    with st.expander(tr("train.section.data"), expanded=True):
        a, b, c, d = st.columns(4)
        field(a, "number_input", "max_length", "max_length", step=128)
        field(b, "checkbox", "packing", tr("train.packing"), help=tr("train.packing_help"))
        field(c, "number_input", "eval_ratio", tr("train.eval_ratio"), step=0.01, format="%.2f")
        field(d, "number_input", "eval_steps", tr("train.eval_steps"), step=10, help=tr("train.eval_steps_help"))

    with st.expander(tr("train.section.optim"), expanded=True):
        a, b, c, d = st.columns(4)
        field(a, "number_input", "batch_size", tr("train.batch_size"), step=1)
        field(b, "number_input", "grad_accum", tr("train.grad_accum"), step=1)
        field(c, "number_input", "learning_rate", tr("train.learning_rate"), step=1e-5, format="%.2e")
        field(d, "selectbox", "lr_scheduler", tr("train.lr_scheduler"), options=list(train_config.SCHEDULERS))
        a, b, c, d = st.columns(4)
        field(a, "number_input", "warmup_ratio", tr("train.warmup_ratio"), step=0.01, format="%.2f")
        field(b, "number_input", "epochs", tr("train.epochs"), step=1.0, format="%.1f")
        field(c, "number_input", "max_steps", tr("train.max_steps"), step=10, help=tr("train.max_steps_help"))
        field(d, "number_input", "seed", tr("train.seed"), step=1)
        a, b, c, d = st.columns(4)
        field(a, "checkbox", "gradient_checkpointing", tr("train.gradient_checkpointing"))
        field(b, "number_input", "logging_steps", tr("train.logging_steps"), step=1)
        field(c, "number_input", "save_steps", tr("train.save_steps"), step=10)
        field(d, "number_input", "save_total_limit", tr("train.save_total_limit"), step=1)

    with st.expander(tr("train.section.probes"), expanded=True):
        a, b = st.columns([3, 1])
        field(a, "text_area", "probe_prompts", tr("train.probe_prompts"), height=90,
              placeholder=tr("train.probe_placeholder"))
        field(b, "number_input", "probe_steps", tr("train.probe_steps"), step=10, help=tr("train.probe_steps_help"))
        field(b, "number_input", "probe_max_new_tokens", tr("train.probe_tokens"), step=16)
        field(a, "checkbox", "evaluate_when_done", tr("train.evaluate_when_done"),
              help=tr("train.evaluate_when_done_help"))

    with st.expander(tr("train.section.devices"), expanded=bool(devices["gpus"])):
        a, b, c = st.columns(3)
        if devices["gpus"]:
            names_by_id = {g.id: f"{g.id}: {g.name} ({human_size(g.total_bytes)})" for g in devices["gpus"]}
            field(a, "multiselect", "gpus", tr("train.gpus"), options=list(names_by_id), format_func=names_by_id.get)
        else:
            st.session_state[K + "gpus"] = []
            a.caption(tr("train.cpu_only"))
            with a:
                field_error("gpus")
        field(b, "number_input", "num_processes", tr("train.num_processes"), step=1,
              help=tr("train.num_processes_help"))
        field(c, "selectbox", "deepspeed", "DeepSpeed", options=["off", "zero2", "zero3"],
              help=tr("train.deepspeed_help"),
              format_func=lambda v: tr("train.deepspeed_off") if v == "off" else f"ZeRO-{v[-1]}")


def save_preset_row() -> None:
    """Save the form as a named preset."""
    c1, c2 = st.columns([1, 2])
    c1.button(tr("train.save_preset"), key="train_save_preset", on_click=on_save_preset)
    field(c2, "text_input", "preset_name", tr("train.preset_name"), label_visibility="collapsed",
          placeholder=tr("train.preset_name"))
    c2.checkbox(tr("train.preset_overwrite"), key=K + "preset_overwrite")  # not kept across pages
