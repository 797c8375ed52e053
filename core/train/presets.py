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

from core import workspace
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
        raise UserError(f"Unknown preset {name!r}.", field="preset", hint=f"Choose one of: {', '.join(list_presets())}.")
    data = workspace.read_json(presets_dir() / f"{name}.json")
    if not isinstance(data, dict):
        raise UserError(f"Unknown preset {name!r}.", field="preset", hint=f"Choose one of: {', '.join(list_presets())}.")
    return TrainConfig.from_dict(data.get("config", data))


def save_preset(name: str, config: TrainConfig, *, overwrite: bool = False) -> str:
    """Save ``config``'s settings under ``name`` (atomic); built-in names are refused, and a saved
    preset of that name is replaced only with ``overwrite`` (checked and written under its lock)."""
    name = workspace.check_name(name, "preset name")
    if name in PRESETS:
        raise UserError(f"{name!r} is a built-in preset.", field="preset_name", hint="Pick another name.")
    errors = {k: v for k, v in config.field_errors().items() if k not in ("model", "dataset")}
    if errors:
        field, message = next(iter(errors.items()))
        raise UserError(f"{field}: {message}", field=field)
    path = presets_dir() / f"{name}.json"
    with workspace.locked(path):
        if path.exists() and not overwrite:
            raise UserError("err.exists.preset", name=name, field="preset_name", hint="err.exists.hint")
        workspace.atomic_write_json(path, {"name": name, "config": config.preset_dict()})
    return name


def delete_preset(name: str) -> None:
    if name in PRESETS:
        raise UserError(f"{name!r} is a built-in preset and cannot be deleted.")
    path = presets_dir() / f"{name}.json"
    if not workspace.is_safe_name(name) or not path.exists():
        raise UserError(f"Unknown preset {name!r}.")
    path.unlink()


def config_from_run(run_id: str) -> TrainConfig:
    """The settings an earlier run used (for "copy from run"); resume/run name are cleared."""
    raw = runs.read_config(run_id)
    if not raw:
        raise UserError(f"Run {run_id!r} has no readable config.json.")
    config = TrainConfig.from_dict(raw)
    config.run_name = ""
    config.resume_from = ""
    return config
