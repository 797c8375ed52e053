"""A run's health on any page: "stalled" (no step for much longer than usual) with a stop button,
and what it has cost so far / will cost at its ETA (the price per hour is a workspace setting).

    stalled_warning(status, key_prefix="train")   # draws nothing for a run that makes progress
    cost_line(status)
    price_form(key_prefix="train")                # enter the server's price per hour once
"""
from __future__ import annotations

import streamlit as st

from core.errors import UserError
from core.train import cost, runs, watchdog
from ui.common import show_user_error, tr


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def stalled_warning(status: runs.RunStatus, key_prefix: str) -> bool:
    """A warning and a stop button when the run is stalled; returns whether it is."""
    info = watchdog.stall_info(status)
    if not info.stalled:
        return False
    since = _duration(info.since_last_step or 0)
    beat = tr("health.no_heartbeat") if info.heartbeat_age is None or info.heartbeat_age > 3 * watchdog.HEARTBEAT_SECONDS \
        else tr("health.heartbeat_ok")
    st.warning(tr("health.stalled", run=status.run_id, since=since, usual=_duration(info.window or 0)) + " " + beat,
               icon="⏸️")
    if st.button(tr("health.stop"), key=f"{key_prefix}_stall_stop_{status.run_id}"):
        from core.train import launcher

        launcher.stop_run(status.run_id)
        st.rerun()
    return True


def cost_line(status: runs.RunStatus) -> None:
    """"Cost so far ¥1.20 · at ETA ¥3.40" when a price is set."""
    money = cost.run_cost(status)
    if money is None:
        return
    text = tr("health.cost_so_far", cost=cost.format_cost(money.so_far, money.currency))
    if status.live and money.at_eta is not None:
        text += " · " + tr("health.cost_at_eta", cost=cost.format_cost(money.at_eta, money.currency))
    st.caption(text)


def price_form(key_prefix: str) -> None:
    """Enter the server's price per hour once (kept in the workspace settings)."""
    current = cost.price()
    with st.expander(tr("health.price_title")):
        a, b, c = st.columns([2, 1, 1])
        amount = a.number_input(tr("health.price"), min_value=0.0, step=0.5, format="%.2f",  # a setting, not kept per page
                                value=current[0] if current else 0.0, key=f"{key_prefix}_price")
        currency = b.selectbox(tr("health.currency"), list(cost.CURRENCIES),
                               index=list(cost.CURRENCIES).index(current[1]) if current else 0,
                               key=f"{key_prefix}_currency")
        if c.button(tr("health.price_save"), key=f"{key_prefix}_price_save"):
            try:
                cost.set_price(amount, currency)
                st.rerun()
            except UserError as err:
                show_user_error(err)
        st.caption(tr("health.price_help"))
