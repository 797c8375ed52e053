"""Training presets: the built-in recipes plus the ones a user saved, and "copy from a run".

A saved preset is ``workspace/presets/<name>.json`` holding the *how* of a run (LoRA, data,
optimisation and bookkeeping settings), never the model, dataset or devices, so it can be
applied to any model. Any earlier run's ``config.json`` can be loaded the same way.

    save_preset("my-r16", TrainConfig(lora_r=16))
    load_preset("my-r16")                 # -> TrainConfig with those settings
    config_from_run("20260101-120000-demo-tiny-assistant")
"""
from __future__ import annotations

from pathlib import Path

from core import jobs, workspace
from core.errors import UserError
from core.train import runs
from core.train.config import PRESETS, TrainConfig


def presets_dir() -> Path:
    path = workspace.home() / "presets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.json") if not p.name.startswith("."))


def list_presets() -> list[str]:
    """Built-in preset names first, then saved ones."""
    return list(PRESETS) + [n for n in user_preset_names() if n not in PRESETS]


def is_builtin(name: str) -> bool:
    return name in PRESETS


def load_preset(name: str) -> TrainConfig:
    if name in PRESETS:
        return PRESETS[name]["config"]
    if not workspace.is_safe_name(name):
        raise UserError("err.train.unknown_preset", name=name, field="preset",
                        hint="err.train.preset_choices", choices=", ".join(list_presets()))
    path = presets_dir() / f"{name}.json"
    data = workspace.read_json(path)
    if data is None and not path.is_file():
        raise UserError("err.train.unknown_preset", name=name, field="preset",
                        hint="err.train.preset_choices", choices=", ".join(list_presets()))
    settings = data.get("config", data) if isinstance(data, dict) else data
    problem = "not valid JSON" if data is None else jobs.field_problem(TrainConfig, settings)
    if problem:
        raise UserError("err.train.preset_unreadable", field="preset", name=name, reason=problem,
                        hint="err.train.preset_unreadable.hint")
    return TrainConfig.from_dict(settings)


def save_preset(name: str, config: TrainConfig, *, overwrite: bool = False) -> str:
    """Save ``config``'s settings under ``name`` (atomic); built-in names are refused, and a saved
    preset of that name is replaced only with ``overwrite`` (checked and written under its lock)."""
    name = workspace.check_name(name, "preset name")
    if name in PRESETS:
        raise UserError("err.train.preset_builtin", name=name, field="preset_name", hint="err.train.preset_builtin.hint")
    errors = {k: v for k, v in config.field_messages().items() if k not in ("model", "dataset")}
    if errors:
        field, message = next(iter(errors.items()))
        raise UserError("err.train.field", name=field, problem=message, field=field)
    path = presets_dir() / f"{name}.json"
    with workspace.locked(path):
        if path.exists() and not overwrite:
            raise UserError("err.exists.preset", name=name, field="preset_name", hint="err.exists.hint")
        workspace.atomic_write_json(path, {"name": name, "config": config.preset_dict()})
    return name


def delete_preset(name: str) -> None:
    if name in PRESETS:
        raise UserError("err.train.preset_builtin_delete", name=name)
    path = presets_dir() / f"{name}.json"
    if not workspace.is_safe_name(name) or not path.exists():
        raise UserError("err.train.unknown_preset", name=name)
    path.unlink()


def config_from_run(run_id: str) -> TrainConfig:
    """The settings an earlier run used (for "copy from run"); resume/run name are cleared."""
    raw = runs.read_config(run_id)
    if not raw:
        raise UserError("err.train.run_no_config", run_id=run_id)
    problem = jobs.field_problem(TrainConfig, raw)
    if problem:
        raise UserError("err.run.config_unreadable", run_id=run_id, reason=problem)
    config = TrainConfig.from_dict(raw)
    config.run_name = ""
    config.resume_from = ""
    return config
