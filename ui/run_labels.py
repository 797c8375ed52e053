"""How a run and an adapter are named in every dropdown: run name · checkpoint step · state · date.

Run folders are ids with a timestamp (``20260105-142233-demo-tiny-assistant-1``); people see the
run's name (their own, or ``model-dataset-N``), where its training stands and when it started.

    st.selectbox(tr("chat.adapter"), [a.label for a in refs], format_func=adapter_label_for(refs))
"""
from __future__ import annotations

import time

from core.errors import UserError
from core.train import runs
from ui.common import tr


def _state_and_date(run_id: str) -> tuple[str, str]:
    try:
        status = runs.read_status(run_id)
    except UserError:
        return "?", ""
    return tr("train.state." + status.status), time.strftime("%Y-%m-%d %H:%M", time.localtime(status.created))


def run_label(run_id: str) -> str:
    """``name · state · date`` of one run."""
    state, date = _state_and_date(run_id)
    return " · ".join(p for p in (runs.run_name(run_id), state, date) if p)


def _step(ref: runs.AdapterRef) -> str:
    step = ref.step if ref.step is not None else "?"
    return tr("common.final_step" if ref.name == runs.FINAL_ADAPTER else "common.step_n", step=step)


def adapter_label(ref: runs.AdapterRef, *, short: bool = False) -> str:
    """``name · step N (final) · state · date`` of one checkpoint or final adapter; ``short``:
    ``name · step N`` (pane titles, where the pickers already showed the rest)."""
    if short:
        return f"{runs.run_name(ref.run_id)} · {_step(ref)}"
    state, date = _state_and_date(ref.run_id)
    return " · ".join(p for p in (runs.run_name(ref.run_id), _step(ref), state, date) if p)


def adapter_label_for(refs: list[runs.AdapterRef], *, short: bool = False):
    """A format_func for options that are ``ref.label`` strings ("" = no adapter stays "")."""
    by_label = {ref.label: ref for ref in refs}
    return lambda label: adapter_label(by_label[label], short=short) if label in by_label else label
