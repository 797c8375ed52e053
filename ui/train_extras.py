"""Train page pieces beyond SFT: the stage (only those the dataset fits), "continue from run",
trackers, a sweep form, and "copy this run, change one field".

Widgets use the Train form's keys (``train_<TrainConfig field>``), so the form's
``config_from_widgets`` picks them up like any other setting.

    stage_fields()              # under the dataset picker
    sweep_form(config_from_widgets)
    copy_change_form(run_id)    # in a finished run's panel
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.i18n import Msg
from core.train import runs
from ui.common import flash, show_user_error, tr
from ui.state import KEEP

K = "train_"  # the Train form's widget-key prefix
SWEEP_ROWS = 3


def dataset_kind(name: str | None) -> str | None:
    from core.data import store

    if not name or not store.exists(name):
        return None
    return store.dataset_kind(store.read_meta(name))


def stage_fields() -> None:
    """Stage (only the stages the chosen dataset fits), beta, continue-from-run and trackers."""
    from core.train import stages, trackers

    kind = dataset_kind(st.session_state.get(K + "dataset"))
    options = stages.stages_for_kind(kind) if kind else ["sft"]
    if st.session_state.get(K + "stage") not in options:
        st.session_state[K + "stage"] = options[0]
    a, b, c = st.columns([2, 1, 2])
    a.selectbox(tr("train.stage"), options, key=K + "stage", format_func=lambda s: tr("stage." + s),
                help=tr("train.stage_help"), persist_state=KEEP)
    stage = st.session_state[K + "stage"]
    if stage in stages.PREFERENCE_STAGES:
        st.session_state.setdefault(K + "pref_beta", 0.1)
        b.number_input("beta" if stage != "orpo" else "lambda", min_value=0.001, max_value=10.0, step=0.05,
                       format="%.3f", key=K + "pref_beta", help=tr("train.beta_help"), persist_state=KEEP)
    finished = [r for r in runs.list_run_ids() if runs.has_final_adapter(r)]
    if st.session_state.get(K + "init_adapter") not in [""] + finished:
        st.session_state[K + "init_adapter"] = ""
    c.selectbox(tr("train.init_adapter"), [""] + finished, key=K + "init_adapter",
                format_func=lambda r: r or tr("train.init_adapter_none"), help=tr("train.init_adapter_help"),
                persist_state=KEEP)
    usable = trackers.usable()
    if usable:
        choices = [""] + usable + ([",".join(usable)] if len(usable) > 1 else [])
        if st.session_state.get(K + "trackers") not in choices:
            st.session_state[K + "trackers"] = ""
        st.selectbox(tr("train.trackers"), choices, key=K + "trackers",
                     format_func=lambda x: x or tr("train.trackers_none"), persist_state=KEEP)
    else:
        st.session_state[K + "trackers"] = ""


def multinode_fields(config_from_widgets) -> None:
    """Several machines: node count, this node's rank, the master's address; the others' commands."""
    from core.train.multinode import other_node_commands

    with st.expander(tr("train.multinode_title"), expanded=st.session_state.get(K + "nnodes", 1) > 1):
        a, b, c, d, e = st.columns([1, 1, 2, 1, 1])
        a.number_input(tr("train.nnodes"), min_value=1, max_value=1024, step=1, key=K + "nnodes", persist_state=KEEP)
        b.number_input(tr("train.node_rank"), min_value=0, step=1, key=K + "node_rank", persist_state=KEEP)
        c.text_input(tr("train.master_addr"), key=K + "master_addr", placeholder="10.0.0.1", persist_state=KEEP)
        d.number_input(tr("train.master_port"), min_value=1024, max_value=65535, step=1, key=K + "master_port",
                       persist_state=KEEP)
        e.number_input(tr("train.join_timeout"), min_value=10, max_value=86400, step=60, key=K + "join_timeout",
                       persist_state=KEEP)
        from ui.train_form import field_error

        for name in ("nnodes", "node_rank", "master_addr", "master_port", "join_timeout"):
            field_error(name)
        config = config_from_widgets()
        if config.nnodes > 1 and config.node_rank == 0:
            st.caption(tr("train.multinode_commands", n=config.nnodes - 1, timeout=config.join_timeout))
            for command in other_node_commands(config):
                st.code(command, language="bash")


def multinode_waiting(run_id: str, status) -> None:
    """While node 0 of a multi-node run waits for the others: the commands to start them."""
    from core.train.config import TrainConfig
    from core.train.multinode import other_node_commands

    config = TrainConfig.from_dict(runs.read_config(run_id))
    if config.nnodes <= 1 or status.status != "running" or status.step > 0 or config.node_rank != 0:
        return
    st.info(tr("train.multinode_waiting", n=config.nnodes, addr=config.master_addr, port=config.master_port,
               timeout=config.join_timeout))
    for command in other_node_commands(config):
        st.code(command, language="bash")


def sweep_form(config_from_widgets) -> None:
    """Pick 1-3 settings and their values: the grid becomes queued runs of one sweep."""
    from core.train import sweeps

    with st.expander(tr("train.sweep_title")):
        st.caption(tr("train.sweep_help", most=sweeps.CONFIRM_ABOVE))
        specs = []
        for i in range(SWEEP_ROWS):
            a, b = st.columns([1, 2])
            name = a.selectbox(tr("train.sweep_setting"), [""] + sorted(sweeps.SWEEPABLE), key=f"train_sweep_name_{i}",
                               format_func=lambda n: n or tr("common.none"), persist_state=KEEP)
            values = b.text_input(tr("train.sweep_values"), key=f"train_sweep_values_{i}", placeholder="1e-4, 2e-4",
                                  persist_state=KEEP)
            if name and values.strip():
                specs.append(f"{name}={values}")
        try:
            grid = sweeps.parse_grid(specs) if specs else None
        except UserError as err:
            show_user_error(err)
            grid = None
        count = sweeps.run_count(grid) if grid else 0
        confirm = True
        if count > sweeps.CONFIRM_ABOVE:
            confirm = st.checkbox(tr("train.sweep_confirm", n=count), key="train_sweep_confirm")
        if st.button(tr("train.sweep_button", n=count), key="train_sweep_launch", disabled=not grid or not confirm):
            try:
                sweep_id, run_ids = sweeps.launch_sweep(config_from_widgets(), grid, confirm=confirm)
            except UserError as err:
                show_user_error(err)
                return
            st.session_state[K + "selected_run"] = run_ids[0]
            flash("success", Msg("train.sweep_queued", sweep=sweep_id, n=len(run_ids)))
            st.rerun()


def copy_change_form(run_id: str) -> None:
    """"Copy this run, change one field": the same settings with one value changed, launched as a new run."""
    from core.train import launcher, sweeps

    with st.expander(tr("train.copy_change")):
        a, b, c = st.columns([2, 2, 1])
        name = a.selectbox(tr("train.sweep_setting"), sorted(sweeps.SWEEPABLE), key=f"train_copy_field_{run_id}")
        current = runs.read_config(run_id).get(name)
        value = b.text_input(tr("train.copy_value"), value=str(current), key=f"train_copy_value_{run_id}_{name}")
        if c.button(tr("train.copy_launch"), key=f"train_copy_launch_{run_id}"):
            try:
                status = launcher.launch_run(sweeps.copy_with(run_id, name, value))
            except UserError as err:
                show_user_error(err)
                return
            st.session_state[K + "selected_run"] = status.run_id
            flash("success", Msg("train.launched", run=status.run_id, status=Msg("train.state." + status.status)))
            st.rerun()
