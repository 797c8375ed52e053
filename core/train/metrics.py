"""Read a run's curves for the Monitor page: series per metric, EMA smoothing, config diff, probes.

Pure functions over the run folder (no Streamlit, no torch), so the page only draws.

    series(read_metrics(run_id), "loss")            -> ([5, 10, ...], [6.8, 5.1, ...])
    ema([6.8, 5.1, 4.0], 0.6)                      -> [6.8, 6.12, 5.272]
    config_diff(["run-a", "run-b"])                 -> {"learning_rate": {"run-a": 2e-4, "run-b": 1e-3}}
"""
from __future__ import annotations

from core.train import runs

# metric key in metrics.jsonl -> (label, y-axis log scale?)
CHARTS = {
    "loss": "loss",
    "eval_loss": "eval loss",
    "lr": "learning rate",
    "grad_norm": "grad norm",
    "tokens_per_s": "tokens/s",
    "gpu_mem": "memory (GB)",
}
# Config keys not worth diffing (bookkeeping that always differs between runs).
_DIFF_SKIP = {"run_id", "run_name", "model_path", "resume_checkpoint"}


def series(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(steps, values) of one metric, in step order, the last value winning for a repeated step."""
    by_step: dict[int, float] = {}
    for row in rows:
        if key in row and row[key] is not None and "step" in row:
            value = float(row[key])
            by_step[int(row["step"])] = value / 2**30 if key == "gpu_mem" else value
    steps = sorted(by_step)
    return steps, [by_step[s] for s in steps]


def ema(values: list[float], smoothing: float) -> list[float]:
    """Exponential moving average (TensorBoard-style: weight ``smoothing`` on the past), debiased."""
    if smoothing <= 0 or not values:
        return list(values)
    out, last, weight = [], 0.0, 0.0
    for value in values:
        last = smoothing * last + (1 - smoothing) * value
        weight = smoothing * weight + (1 - smoothing)
        out.append(last / weight)
    return out


def config_diff(run_ids: list[str]) -> dict[str, dict[str, object]]:
    """The config keys whose values differ between the runs: {key: {run_id: value}}."""
    configs = {r: runs.read_config(r) for r in run_ids}
    keys = sorted(set().union(*(c.keys() for c in configs.values()))) if configs else []
    diff = {}
    for key in keys:
        if key in _DIFF_SKIP:
            continue
        values = {r: configs[r].get(key) for r in run_ids}
        if len({repr(v) for v in values.values()}) > 1:
            diff[key] = values
    return diff


def probe_table(run_id: str) -> dict[str, list[tuple[int, str]]]:
    """{prompt: [(step, answer), ...]} in step order."""
    table: dict[str, list[tuple[int, str]]] = {}
    for row in runs.read_samples(run_id):
        table.setdefault(row.get("prompt", ""), []).append((int(row.get("step", 0)), row.get("answer", "")))
    for answers in table.values():
        answers.sort(key=lambda x: x[0])
    return table


def latest(rows: list[dict], key: str) -> float | None:
    steps, values = series(rows, key)
    return values[-1] if values else None
