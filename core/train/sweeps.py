"""Sweeps: a small grid of settings (e.g. learning rate × LoRA r) launched as queued runs, one sweep.

Every run of a sweep is an ordinary run (the queue starts them one after another when they share
a device); its config.json carries ``sweep`` (the sweep id) and the sweep's file
``workspace/sweeps/<id>.json`` lists the grid and the run ids, so Monitor can overlay them and
rank them. Every config is validated before the first run starts: nothing is half-started.

    grid = parse_grid(["lr=1e-4,2e-4", "lora_r=8,16"])     # {"learning_rate": [...], "lora_r": [...]}
    sweep_id, run_ids = launch_sweep(from_preset("cpu-demo", model="demo-tiny", dataset="a"), grid)
    rank_sweep(sweep_id)                                    # best final loss first
"""
from __future__ import annotations

import itertools
import time
from dataclasses import fields, replace
from pathlib import Path

from core import workspace
from core.errors import UserError
from core.train import runs
from core.train.config import TrainConfig

MAX_SETTINGS = 3
CONFIRM_ABOVE = 8  # a bigger grid needs an explicit confirmation (CLI --yes, a checkbox on the page)
ALIASES = {"lr": "learning_rate", "r": "lora_r", "alpha": "lora_alpha", "dropout": "lora_dropout",
           "beta": "pref_beta", "epochs": "epochs", "batch": "batch_size"}
# Settings a sweep may vary: numbers and switches of *how* to train (not the model, data or devices).
SWEEPABLE = tuple(f.name for f in fields(TrainConfig)
                  if f.type in ("int", "float", "bool") and f.name not in ("num_processes",))


def sweeps_dir() -> Path:
    path = workspace.home() / "sweeps"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _parse_value(name: str, text: str):
    kind = next(f.type for f in fields(TrainConfig) if f.name == name)
    text = text.strip()
    try:
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes", "on")
        return int(text) if kind == "int" else float(text)
    except ValueError:
        raise UserError("err.sweep.value", name=name, value=text, kind=kind, field="grid") from None


def parse_grid(specs: list[str]) -> dict[str, list]:
    """``["lr=1e-4,2e-4", "lora_r=8,16"]`` -> ``{"learning_rate": [0.0001, 0.0002], "lora_r": [8, 16]}``.

    Example:
        >>> parse_grid(["lr=1e-4,2e-4", "r=8"])
        {'learning_rate': [0.0001, 0.0002], 'lora_r': [8]}
    """
    grid: dict[str, list] = {}
    for spec in specs:
        name, sep, values = (spec or "").partition("=")
        name = ALIASES.get(name.strip(), name.strip())
        if not sep or name not in SWEEPABLE:
            raise UserError("err.sweep.setting", spec=spec, options=", ".join(sorted(ALIASES) + list(SWEEPABLE)),
                            field="grid")
        parsed = [_parse_value(name, v) for v in values.split(",") if v.strip()]
        if not parsed:
            raise UserError("err.sweep.setting", spec=spec, options=", ".join(SWEEPABLE), field="grid")
        grid[name] = list(dict.fromkeys(parsed))  # keep order, drop repeats
    if not 1 <= len(grid) <= MAX_SETTINGS:
        raise UserError("err.sweep.size", most=MAX_SETTINGS, field="grid")
    return grid


def grid_configs(base: TrainConfig, grid: dict[str, list]) -> list[tuple[dict, TrainConfig]]:
    """Every combination of the grid's values applied to ``base``: [(values, config), ...]."""
    names = list(grid)
    combos = [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]
    return [(values, replace(base, **values)) for values in combos]


def run_count(grid: dict[str, list]) -> int:
    count = 1
    for values in grid.values():
        count *= len(values)
    return count


def launch_sweep(base: TrainConfig, grid: dict[str, list], *, confirm: bool = False) -> tuple[str, list[str]]:
    """Queue one run per combination, tagged as one sweep; returns (sweep_id, run_ids).

    Raises:
        UserError: a grid above ``CONFIRM_ABOVE`` runs without ``confirm``, or any combination that
            does not validate (then no run is started).
    """
    from core.train import launcher

    combos = grid_configs(base, grid)
    if len(combos) > CONFIRM_ABOVE and not confirm:
        raise UserError("err.sweep.confirm", count=len(combos), limit=CONFIRM_ABOVE, field="grid")
    for values, config in combos:
        errors = launcher.check_launchable(config)
        if errors:
            name, message = next(iter(errors.items()))
            raise UserError("err.sweep.invalid", values=_label(values), name=name, message=message, field=name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    sweep_id, n = f"sweep-{stamp}", 1
    while (sweeps_dir() / f"{sweep_id}.json").exists():
        n += 1
        sweep_id = f"sweep-{stamp}-{n}"
    record = {"sweep_id": sweep_id, "grid": grid, "created": time.time(), "base": base.to_dict(), "runs": []}
    for values, config in combos:
        name = base.run_name or f"{Path(base.model).name}-{base.dataset}"
        config = replace(config, sweep=sweep_id, run_name=f"{name}-" + "-".join(f"{k}{v}" for k, v in values.items()))
        status = launcher.launch_run(config)
        record["runs"].append({"run_id": status.run_id, "values": values})
        workspace.atomic_write_json(sweeps_dir() / f"{sweep_id}.json", record)
    return sweep_id, [r["run_id"] for r in record["runs"]]


def _label(values: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def list_sweeps() -> list[dict]:
    """Saved sweeps, newest first."""
    records = [workspace.read_json(p) for p in sweeps_dir().glob("sweep-*.json")]
    return sorted((r for r in records if isinstance(r, dict)), key=lambda r: r.get("created", 0), reverse=True)


def read_sweep(sweep_id: str) -> dict:
    record = workspace.read_json(sweeps_dir() / f"{workspace.check_name(sweep_id, 'sweep id')}.json")
    if not isinstance(record, dict):
        raise UserError("err.sweep.unknown", sweep=sweep_id, field="sweep")
    return record


def rank_sweep(sweep_id: str) -> list[dict]:
    """The sweep's runs with their state and final losses, best first (eval loss, else train loss)."""
    ranked = []
    for entry in read_sweep(sweep_id)["runs"]:
        run_id = entry["run_id"]
        try:
            status = runs.read_status(run_id)
        except UserError:
            continue  # deleted since
        metrics = runs.read_metrics(run_id)
        losses = [m["loss"] for m in metrics if "loss" in m]
        evals = [m["eval_loss"] for m in metrics if "eval_loss" in m]
        ranked.append({"run_id": run_id, "values": entry["values"], "status": status.status,
                       "step": status.step, "final_loss": losses[-1] if losses else None,
                       "best_eval_loss": min(evals) if evals else None})

    def key(row: dict):
        score = row["best_eval_loss"] if row["best_eval_loss"] is not None else row["final_loss"]
        return (score is None, score if score is not None else 0.0)

    return sorted(ranked, key=key)


def copy_with(run_id: str, name: str, value) -> TrainConfig:
    """"Copy this run, change one field": the run's settings with ``name`` set to ``value``."""
    from core.train.presets import config_from_run

    name = ALIASES.get(name, name)
    if name not in SWEEPABLE:
        raise UserError("err.sweep.setting", spec=name, options=", ".join(SWEEPABLE), field="field")
    value = _parse_value(name, value) if isinstance(value, str) else value
    return replace(config_from_run(run_id), **{name: value}, sweep="")
