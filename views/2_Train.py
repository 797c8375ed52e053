"""Train page: pick model, dataset and settings, see the memory estimate, launch, watch and stop runs.

Training runs in a separate OS process (core.train.launcher); this page only writes a config
and then reads the run folder, so a reload or a Streamlit restart finds the job again. Settings
fields are widgets keyed ``train_<TrainConfig field>``; presets and "copy from run" fill them.

    streamlit run views/2_Train.py
"""
from __future__ import annotations

from dataclasses import fields

import streamlit as st

from core.errors import UserError
from core.train import config as train_config
from core.train import runs
from ui.common import lang, page_start, show_user_error, tr

K = "train_"  # widget-key prefix: K + TrainConfig field name
ERRORS_KEY = "train_field_errors"
MESSAGE_KEY = "train_message"
RUN_KEY = "train_selected_run"
TrainConfig = train_config.TrainConfig
FIELDS = {f.name for f in fields(TrainConfig)}
FLOAT_FIELDS = {f.name for f in fields(TrainConfig) if f.type in ("float", float)}
INT_FIELDS = {f.name for f in fields(TrainConfig) if f.type in ("int", int)}
LIVE_ORDER = {"running": 0, "stopping": 1, "queued": 2}  # which live run a fresh page shows first


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    s = int(s)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


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


def on_preset_change() -> None:
    from core.train import presets

    try:
        apply_config(presets.load_preset(st.session_state[K + "preset"]))
    except UserError as err:
        st.session_state[MESSAGE_KEY] = ("error", str(err))


def on_copy_run() -> None:
    from core.train import presets

    run_id = st.session_state.get(K + "copy_run")
    if run_id:
        try:
            apply_config(presets.config_from_run(run_id))
            st.session_state[MESSAGE_KEY] = ("success", tr("train.copied", run=run_id))
        except UserError as err:
            st.session_state[MESSAGE_KEY] = ("error", str(err))


def on_save_preset() -> None:
    from core.train import presets

    try:
        name = presets.save_preset(st.session_state.get(K + "preset_name", ""), config_from_widgets())
        st.session_state[MESSAGE_KEY] = ("success", tr("train.preset_saved", name=name))
    except UserError as err:
        st.session_state[MESSAGE_KEY] = ("error", str(err))


def on_launch() -> None:
    """Validate at the fields; launch only when everything is valid."""
    from core.train import launcher

    cfg = config_from_widgets()
    errors = launcher.check_launchable(cfg, lang())
    if errors:
        st.session_state[ERRORS_KEY] = errors
        st.session_state[MESSAGE_KEY] = ("error", tr("train.fix_fields", n=len(errors)))
        return
    try:
        status = launcher.launch_run(cfg)
    except UserError as err:
        st.session_state[ERRORS_KEY] = {err.field: str(err)} if err.field else {}
        st.session_state[MESSAGE_KEY] = ("error", str(err))
        return
    st.session_state.pop(ERRORS_KEY, None)
    st.session_state[RUN_KEY] = status.run_id
    st.session_state[MESSAGE_KEY] = ("success", tr("train.launched", run=status.run_id, status=status.status))


def field_error(name: str) -> None:
    message = st.session_state.get(ERRORS_KEY, {}).get(name)
    if message:
        st.error(message, icon="⚠️")


def init_defaults(default_preset: str) -> None:
    if st.session_state.get(K + "initialised"):
        return
    from core.train import presets

    st.session_state[K + "preset"] = default_preset
    apply_config(presets.load_preset(default_preset), keep_choice=True)
    st.session_state[K + "initialised"] = True


# ---------------------------------------------------------------- run panel
def run_label(run_id: str) -> str:
    try:
        s = runs.read_status(run_id)
    except UserError:
        return run_id
    return f"{run_id} · {tr('train.state.' + s.status)}"


def show_run(run_id: str) -> None:
    """Status, progress, ETA, log tail and Stop/Resume of one run (re-drawn every 2 s while live)."""
    from core.train import launcher

    launcher.reap()
    try:
        s = runs.read_status(run_id)
    except UserError as err:
        show_user_error(err)
        return
    cols = st.columns(4)
    cols[0].metric(tr("train.state"), tr("train.state." + s.status))
    cols[1].metric(tr("train.step"), f"{s.step} / {s.total_steps or '?'}")
    cols[2].metric(tr("train.eta"), fmt_seconds(s.eta_seconds()))
    devices = tr("train.default_device") if s.devices == ["0"] else "GPU " + ",".join(s.devices)
    cols[3].metric(tr("train.devices"), devices + (f" × {s.processes}" if s.processes > 1 else ""))
    st.progress(s.progress, text=f"{s.progress:.0%}")
    if s.status == "queued":
        st.info(tr("train.queued", reason=s.queue_reason or tr("train.queue_starting")))
    if s.parent:
        st.caption(tr("train.resumed_from", parent=s.parent))
    if s.status == "failed":
        st.error(f"{s.error or tr('train.failed_unknown')}")
        if s.hint:
            st.warning(f"{tr('train.what_to_try')}: {s.hint}")
    elif s.status == "completed":
        st.success(tr("train.completed_msg"))
    elif s.status == "stopped":
        st.info(tr("train.stopped_msg"))

    if s.live:
        if st.button(tr("train.stop"), key=f"train_stop_{run_id}", type="primary", disabled=s.status == "stopping"):
            try:
                launcher.stop_run(run_id)
                st.toast(tr("train.stop_requested"))
            except UserError as err:
                show_user_error(err)
    checkpoints = runs.list_checkpoints(run_id)
    st.caption(f"{tr('train.checkpoints')}: {', '.join(checkpoints) or tr('common.none')}"
               + (f" · {tr('train.adapter_ready')}" if runs.has_final_adapter(run_id) else ""))
    if checkpoints and not s.live:
        with st.expander(tr("train.resume")):
            c1, c2 = st.columns([2, 1])
            ckpt = c1.selectbox(tr("train.resume_from"), list(reversed(checkpoints)), key=f"train_resume_ckpt_{run_id}")
            more = c2.number_input(tr("train.resume_max_steps"), value=int(s.total_steps or 0), step=10,
                                   key=f"train_resume_steps_{run_id}")
            if st.button(tr("train.resume_button"), key=f"train_resume_{run_id}"):
                try:
                    cfg = launcher.resume_config(f"{run_id}/{ckpt}", max_steps=int(more) if more > 0 else None)
                    new = launcher.launch_run(cfg)
                    st.session_state[RUN_KEY] = new.run_id
                    st.session_state[MESSAGE_KEY] = ("success", tr("train.launched", run=new.run_id, status=new.status))
                    st.rerun()
                except UserError as err:
                    show_user_error(err)
    tail = runs.log_tail(run_id, 30)
    with st.expander(tr("train.log_tail"), expanded=s.status == "failed"):
        st.code(tail or tr("train.log_empty"), language=None)


def runs_section() -> None:
    st.subheader(tr("train.runs"))
    run_ids = runs.list_run_ids()
    if not run_ids:
        st.caption(tr("train.no_runs"))
        return
    statuses = {r: runs.read_status(r) for r in run_ids}
    live = sorted((r for r in run_ids if statuses[r].live), key=lambda r: LIVE_ORDER.get(statuses[r].status, 9))
    if st.session_state.get(RUN_KEY) not in run_ids:
        st.session_state[RUN_KEY] = live[0] if live else run_ids[0]
    run_id = st.selectbox(tr("common.run"), run_ids, key=RUN_KEY, format_func=run_label)

    @st.fragment(run_every=2 if statuses[run_id].live else None)
    def live_panel():
        show_run(run_id)
        # the run just ended: one full rerun so the run list and the timer update
        if not runs.read_status(run_id).live and statuses[run_id].live:
            statuses[run_id] = runs.read_status(run_id)
            st.rerun()

    live_panel()


# ---------------------------------------------------------------- the form
def model_and_data() -> bool:
    from core.data.store import list_datasets
    from core.models.registry import list_models

    models = [m.name for m in list_models()]
    datasets = [d.name for d in list_datasets()]
    c1, c2 = st.columns(2)
    with c1:
        if models:
            st.selectbox(tr("common.model"), models, key=K + "model")
        else:
            st.info(tr("common.no_models"))
            if st.button(tr("common.build_demo"), key="train_build_demo"):
                from core.models.demo import ensure_demo_model

                with st.spinner(tr("train.building_demo")):
                    ensure_demo_model()
                st.rerun()
        field_error("model")
    with c2:
        if datasets:
            st.selectbox(tr("common.dataset"), datasets, key=K + "dataset")
        else:
            st.session_state.pop(K + "dataset", None)
            st.info(tr("train.no_datasets"))
        field_error("dataset")
    return bool(models)


def settings_form(devices: dict) -> None:
    from core.train import presets

    c1, c2, c3 = st.columns([2, 2, 1])
    names = presets.list_presets()
    labels = {n: train_config.PRESETS[n]["label"].get(st.session_state.get("ui_lang", "en"), n)
              if n in train_config.PRESETS else f"★ {n}" for n in names}
    if st.session_state.get(K + "preset") not in names:
        st.session_state[K + "preset"] = names[0]
    c1.selectbox(tr("train.preset"), names, key=K + "preset", format_func=labels.get, on_change=on_preset_change)
    run_ids = runs.list_run_ids()
    c2.selectbox(tr("train.copy_from"), [""] + run_ids, key=K + "copy_run",
                 format_func=lambda r: r or tr("train.copy_pick"), on_change=on_copy_run)
    c3.text_input(tr("train.run_name"), key=K + "run_name", placeholder=tr("train.run_name_auto"))

    with st.expander(tr("train.section.lora"), expanded=True):
        a, b, c, d = st.columns(4)
        a.number_input("LoRA r", step=8, key=K + "lora_r")
        b.number_input("LoRA alpha", step=8, key=K + "lora_alpha")
        c.number_input("LoRA dropout", step=0.05, format="%.2f", key=K + "lora_dropout")
        d.selectbox(tr("train.quantization"), list(train_config.QUANTIZATIONS), key=K + "quantization",
                    format_func=lambda q: tr("train.quant." + q))
        for name in ("lora_r", "lora_alpha", "lora_dropout", "quantization"):
            field_error(name)
        a, b = st.columns([1, 3])
        a.checkbox(tr("train.all_linear"), key=K + "targets_all")
        if not st.session_state.get(K + "targets_all", True):
            b.multiselect(tr("train.target_modules"), devices["modules"], key=K + "targets_chosen",
                          accept_new_options=True)
        field_error("target_modules")
        a, b = st.columns(2)
        a.checkbox("DoRA", key=K + "use_dora", help=tr("train.dora_help"))
        b.checkbox("rsLoRA", key=K + "use_rslora", help=tr("train.rslora_help"))

    with st.expander(tr("train.section.data"), expanded=True):
        a, b, c, d = st.columns(4)
        a.number_input("max_length", step=128, key=K + "max_length")
        b.checkbox(tr("train.packing"), key=K + "packing", help=tr("train.packing_help"))
        c.number_input(tr("train.eval_ratio"), step=0.01, format="%.2f", key=K + "eval_ratio")
        d.number_input(tr("train.eval_steps"), step=10, key=K + "eval_steps", help=tr("train.eval_steps_help"))
        for name in ("max_length", "packing", "eval_ratio", "eval_steps"):
            field_error(name)

    with st.expander(tr("train.section.optim"), expanded=True):
        a, b, c, d = st.columns(4)
        a.number_input(tr("train.batch_size"), step=1, key=K + "batch_size")
        b.number_input(tr("train.grad_accum"), step=1, key=K + "grad_accum")
        c.number_input(tr("train.learning_rate"), step=1e-5, format="%.2e", key=K + "learning_rate")
        d.selectbox(tr("train.lr_scheduler"), list(train_config.SCHEDULERS), key=K + "lr_scheduler")
        for name in ("batch_size", "grad_accum", "learning_rate", "lr_scheduler"):
            field_error(name)
        a, b, c, d = st.columns(4)
        a.number_input(tr("train.warmup_ratio"), step=0.01, format="%.2f", key=K + "warmup_ratio")
        b.number_input(tr("train.epochs"), step=1.0, format="%.1f", key=K + "epochs")
        c.number_input(tr("train.max_steps"), step=10, key=K + "max_steps", help=tr("train.max_steps_help"))
        d.number_input(tr("train.seed"), step=1, key=K + "seed")
        for name in ("warmup_ratio", "epochs", "max_steps", "seed"):
            field_error(name)
        a, b, c, d = st.columns(4)
        a.checkbox(tr("train.gradient_checkpointing"), key=K + "gradient_checkpointing")
        b.number_input(tr("train.logging_steps"), step=1, key=K + "logging_steps")
        c.number_input(tr("train.save_steps"), step=10, key=K + "save_steps")
        d.number_input(tr("train.save_total_limit"), step=1, key=K + "save_total_limit")
        for name in ("logging_steps", "save_steps", "save_total_limit"):
            field_error(name)

    with st.expander(tr("train.section.probes"), expanded=True):
        a, b = st.columns([3, 1])
        a.text_area(tr("train.probe_prompts"), key=K + "probe_prompts", height=90,
                    placeholder=tr("train.probe_placeholder"))
        b.number_input(tr("train.probe_steps"), step=10, key=K + "probe_steps", help=tr("train.probe_steps_help"))
        b.number_input(tr("train.probe_tokens"), step=16, key=K + "probe_max_new_tokens")
        a.checkbox(tr("train.evaluate_when_done"), key=K + "evaluate_when_done",
                   help=tr("train.evaluate_when_done_help"))
        for name in ("probe_prompts", "probe_steps", "probe_max_new_tokens"):
            field_error(name)

    with st.expander(tr("train.section.devices"), expanded=bool(devices["gpus"])):
        a, b, c = st.columns(3)
        if devices["gpus"]:
            a.multiselect(tr("train.gpus"), [g.id for g in devices["gpus"]], key=K + "gpus",
                          format_func=lambda i: next(f"{g.id}: {g.name} ({fmt_bytes(g.total_bytes)})"
                                                     for g in devices["gpus"] if g.id == i))
        else:
            st.session_state[K + "gpus"] = []
            a.caption(tr("train.cpu_only"))
        b.number_input(tr("train.num_processes"), step=1, key=K + "num_processes", help=tr("train.num_processes_help"))
        c.selectbox("DeepSpeed", ["off", "zero2", "zero3"], key=K + "deepspeed", help=tr("train.deepspeed_help"),
                    format_func=lambda v: tr("train.deepspeed_off") if v == "off" else f"ZeRO-{v[-1]}")
        for name in ("gpus", "num_processes", "deepspeed"):
            field_error(name)


def memory_panel(cfg: TrainConfig) -> None:
    from core.train.memory import estimate_for_config

    st.subheader(tr("train.memory"))
    if not cfg.model:
        st.caption(tr("train.memory_pick_model"))
        return
    try:
        est = estimate_for_config(cfg)
    except (UserError, ValueError, OSError) as err:
        st.caption(f"{tr('train.memory_unavailable')}: {err}")
        return
    cols = st.columns(len(est.rows()))
    for col, (name, value) in zip(cols, est.rows()):
        col.metric(tr("train.mem." + name), fmt_bytes(value))
    device = f"{est.device_name} ({fmt_bytes(est.device_bytes)})"
    line = tr("train.memory_total", total=fmt_bytes(est.total_bytes), device=device,
              on=fmt_bytes(est.total_ckpt_bytes), off=fmt_bytes(est.total_no_ckpt_bytes),
              params=f"{est.params/1e6:.1f}M", trainable=f"{est.trainable_params/1e6:.2f}M")
    if est.fits is False:
        st.error(f"**{tr('train.will_not_fit')}** {line}"
                 + (f" {tr('train.try_ckpt')}" if not cfg.gradient_checkpointing and est.fits_with_ckpt else ""))
    elif est.device_bytes and est.total_bytes > 0.9 * est.device_bytes:
        st.warning(f"{tr('train.tight_fit')} {line}")
    else:
        st.caption(line)
    if est.device_bytes:
        st.progress(min(1.0, est.total_bytes / est.device_bytes))
    for note in est.note_texts(lang()):
        st.caption(note)


def devices_info(model_name: str | None) -> dict:
    from core.train.memory import gpu_devices, model_shape

    modules: list[str] = []
    if model_name:
        try:
            from core.models.registry import resolve_model

            shape = model_shape(resolve_model(model_name))
            modules = sorted({name for name, _, _ in shape.block_linears})
        except (UserError, OSError, ValueError):
            modules = []
    return {"gpus": gpu_devices(), "modules": modules or ["q_proj", "k_proj", "v_proj", "o_proj",
                                                          "gate_proj", "up_proj", "down_proj"]}


@st.cache_data(ttl=60, show_spinner=False)
def cached_devices(model_name: str | None) -> dict:
    return devices_info(model_name)


def main() -> None:
    page_start("train.title")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        kind, text = message
        (st.success if kind == "success" else st.error)(text)

    runs_section()
    st.divider()
    st.subheader(tr("train.new_run"))
    devices = cached_devices(st.session_state.get(K + "model"))
    init_defaults("xtuner-qlora" if devices["gpus"] else "cpu-demo")
    has_model = model_and_data()
    settings_form(devices)
    cfg = config_from_widgets()
    memory_panel(cfg)
    errors = st.session_state.get(ERRORS_KEY, {})
    shown = {"model", "dataset"} | {f for f in FIELDS}
    for name, message in errors.items():
        if name not in shown:
            st.error(message)
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.button(tr("train.launch"), key="train_launch", type="primary", on_click=on_launch, disabled=not has_model)
    c3.text_input(tr("train.preset_name"), key=K + "preset_name", label_visibility="collapsed",
                  placeholder=tr("train.preset_name"))
    c2.button(tr("train.save_preset"), key="train_save_preset", on_click=on_save_preset)
    field_error("preset_name")
    st.caption(tr("train.cli_hint"))


try:
    main()
except UserError as err:  # anything a user can cause ends here as a message
    show_user_error(err)
