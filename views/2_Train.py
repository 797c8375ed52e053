"""Train page: pick model, dataset and settings, see the memory estimate, launch, watch and stop runs.

Training runs in a separate OS process (core.train.launcher); this page only writes a config
and then reads the run folder, so a reload or a Streamlit restart finds the job again. The
settings form itself is ui/train_form.py.

    streamlit run views/2_Train.py
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.i18n import Msg
from core.train import config as train_config
from core.train import runs
from core.train.failures import localize as localize_failure
from core.train.queue import queue_reason
from core.units import human_duration, human_size
from ui import train_extras, train_form
from ui.common import flash, lang, message_text, page_start, show_flash, show_user_error, tr
from ui.run_health import cost_line, price_form, stalled_warning
from ui.run_labels import run_label
from ui.state import KEEP

RUN_KEY = train_form.RUN_KEY
NEXT_RUN_KEY = "train_next_run"  # a run resumed inside the run panel, selected on the next full run
TrainConfig = train_config.TrainConfig


# ---------------------------------------------------------------- run panel
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
    cols[2].metric(tr("train.eta"), human_duration(s.eta_seconds()))
    devices = tr("train.default_device") if s.devices == ["0"] else "GPU " + ",".join(s.devices)
    cols[3].metric(tr("train.devices"), devices + (f" × {s.processes}" if s.processes > 1 else ""))
    st.progress(s.progress, text=f"{s.progress:.0%}")
    stalled_warning(s, "train")
    cost_line(s)
    train_extras.multinode_waiting(run_id, s)
    if s.status == "queued":
        waits = queue_reason(s)
        st.info(tr("train.queued", reason=message_text(waits) if waits else tr("train.queue_starting")))
    if s.parent:
        st.caption(tr("train.resumed_from", parent=s.parent))
    if s.status in ("failed", "unreadable"):
        st.error(localize_failure(s.error, lang()) or tr('train.failed_unknown'))
        if s.hint:
            st.warning(f"{tr('train.what_to_try')}: {localize_failure(s.hint, lang())}")
    elif s.status == "completed":
        st.success(tr("train.completed_msg"))
    elif s.status == "stopped":
        st.info(tr("train.stopped_msg"))
    if not s.live:
        train_extras.copy_change_form(run_id)

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
                    st.session_state[NEXT_RUN_KEY] = new.run_id  # the run list is drawn already: select it next run
                    flash("success", Msg("train.launched", run=new.run_id, status=Msg("train.state." + new.status)))
                    st.rerun()
                except UserError as err:
                    show_user_error(err)
    own, library = runs.split_log_tail(run_id, 60)
    with st.expander(tr("train.log_tail"), expanded=s.status == "failed"):
        st.code(own or tr("train.log_empty"), language=None)
        if library:
            with st.popover(tr("train.library_lines", n=len(library.splitlines()))):
                st.code(library, language=None)


def runs_section() -> None:
    st.subheader(tr("train.runs"))
    run_ids = runs.list_run_ids()
    if not run_ids:
        st.caption(tr("train.no_runs"))
        return
    statuses = {r: runs.read_status(r) for r in run_ids}
    if st.session_state.get(NEXT_RUN_KEY) in run_ids:
        st.session_state[RUN_KEY] = st.session_state.pop(NEXT_RUN_KEY)
    if st.session_state.get(RUN_KEY) not in run_ids:
        st.session_state[RUN_KEY] = runs.live_first(statuses)[0]
    run_id = st.selectbox(tr("common.run"), run_ids, key=RUN_KEY, format_func=run_label, persist_state=KEEP)

    @st.fragment(run_every=2 if statuses[run_id].live else None)
    def live_panel():
        show_run(run_id)
        # the run just ended: one full rerun so the run list and the timer update
        if not runs.read_status(run_id).live and statuses[run_id].live:
            statuses[run_id] = runs.read_status(run_id)
            st.rerun()

    live_panel()


def memory_panel(cfg: TrainConfig) -> None:
    from core.train.memory import estimate_for_config

    st.subheader(tr("train.memory"))
    if not cfg.model:
        st.caption(tr("train.memory_pick_model"))
        return
    try:
        est = estimate_for_config(cfg)
    except (UserError, ValueError, OSError) as err:
        st.caption(f"{tr('train.memory_unavailable')}: {message_text(err)}")
        return
    cols = st.columns(len(est.rows()))
    for col, (name, value) in zip(cols, est.rows()):
        col.metric(tr("train.mem." + name), human_size(value))
    device = f"{est.device_name} ({human_size(est.device_bytes)})"
    line = tr("train.memory_total", total=human_size(est.total_bytes), device=device,
              on=human_size(est.total_ckpt_bytes), off=human_size(est.total_no_ckpt_bytes),
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
    return {"gpus": gpu_devices(), "modules": modules or train_form.DEFAULT_MODULES}


@st.cache_data(ttl=60, show_spinner=False)
def cached_devices(model_name: str | None) -> dict:
    return devices_info(model_name)


def main() -> None:
    page_start("train.title")

    runs_section()
    st.divider()
    st.subheader(tr("train.new_run"))
    devices = cached_devices(st.session_state.get(train_form.K + "model"))
    from core.train import presets

    train_form.init_defaults(presets.default_preset(bool(devices["gpus"])))
    has_model = train_form.model_and_data()
    train_form.settings_form(devices)
    train_extras.multinode_fields(train_form.config_from_widgets)
    memory_panel(train_form.config_from_widgets())
    train_form.other_errors()
    st.button(tr("train.launch"), key="train_launch", type="primary", on_click=train_form.on_launch,
              disabled=not has_model)
    show_flash()  # the result of Launch (or of a preset action) next to the button
    train_form.save_preset_row()
    train_extras.sweep_form(train_form.config_from_widgets)
    st.caption(tr("train.cli_hint"))
    price_form("train")


try:
    main()
except UserError as err:  # anything a user can cause ends here as a message
    show_user_error(err)
