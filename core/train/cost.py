"""What a run costs: the server's price per hour (a workspace setting) × the time it has run.

The price is entered once (Train or Monitor page, or ``python -m core train price 2.5 --currency $``)
and kept in WORKBENCH_HOME/settings.json. A run costs from the moment it started running (time
in the queue is free) until it finished, or until now; "at ETA" adds the remaining time.

    set_price(12.0, "¥")
    run_cost(runs.read_status(run_id))   # -> RunCost(so_far=1.8, at_eta=6.0, currency="¥") or None
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from core import settings
from core.errors import UserError

CURRENCIES = ("$", "¥")
PRICE_KEY, CURRENCY_KEY = "price_per_hour", "price_currency"


@dataclass
class RunCost:
    so_far: float
    at_eta: float | None  # None while the ETA is unknown
    currency: str

    def to_dict(self) -> dict:
        return {"cost_so_far": round(self.so_far, 4), "cost_at_eta": None if self.at_eta is None else round(self.at_eta, 4),
                "currency": self.currency}


def price() -> tuple[float, str] | None:
    """(price per hour, currency), or None when no price was entered."""
    saved = settings.load_settings()
    value = saved.get(PRICE_KEY)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return None
    currency = saved.get(CURRENCY_KEY)
    return float(value), currency if currency in CURRENCIES else CURRENCIES[0]


def set_price(per_hour: float, currency: str = "$") -> None:
    """Save the price per hour (0 clears it)."""
    if currency not in CURRENCIES:
        raise UserError("err.cost.currency", options=" ".join(CURRENCIES), field="currency")
    if not isinstance(per_hour, (int, float)) or per_hour < 0 or per_hour > 1_000_000:
        raise UserError("err.cost.price", field="price_per_hour")
    settings.save_setting(PRICE_KEY, float(per_hour) if per_hour > 0 else None)
    settings.save_setting(CURRENCY_KEY, currency)


def format_cost(amount: float, currency: str) -> str:
    return f"{currency}{amount:,.2f}"


def run_cost(status, now: float | None = None) -> RunCost | None:
    """The cost of a run so far and at its ETA, or None when no price is set or it never ran."""
    rate = price()
    if rate is None or not status.started:
        return None
    per_hour, currency = rate
    now = time.time() if now is None else now
    end = status.finished if status.finished and not status.live else now
    so_far = per_hour * max(0.0, end - status.started) / 3600
    eta = status.eta_seconds() if status.live else 0.0
    at_eta = None if eta is None else so_far + per_hour * eta / 3600
    return RunCost(so_far, at_eta, currency)
