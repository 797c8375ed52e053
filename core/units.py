"""The one place that writes sizes, durations and measured values for people: ``human_size``,
``human_duration``, ``human_number``.

    >>> human_size(3 * 1024**3), human_duration(3725), human_number(0.123456), human_number(None)
    ('3.0 GB', '1:02:05', '0.1235', '—')
"""
from __future__ import annotations


def human_size(n: float | None) -> str:
    """Bytes as B/KB/MB/GB/TB (binary steps); "—" when unknown."""
    if n is None:
        return "—"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def human_duration(seconds: float | None) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour on; "—" when unknown."""
    if seconds is None:
        return "—"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def human_number(value: float | None, spec: str = ".4g") -> str:
    """A measured value (a loss, a score, a step) in ``spec``; "—" when there is none (None or NaN)."""
    if value is None or value != value:  # NaN is the one value unequal to itself
        return "—"
    return format(value, spec)
