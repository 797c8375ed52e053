"""Training presets: the built-in recipes plus the ones a user saved, and "copy from a run".

This module owns the built-in presets (``BUILTIN_PRESETS``), the default preset's name and
``from_preset``; their labels are i18n texts ``train.preset.<name>``. Every function returns a
fresh copy, so changing a loaded config never changes a preset.

A saved preset is ``workspace/presets/<name>.json`` holding the *how* of a run (LoRA, data,
optimisation and bookkeeping settings), never the model, dataset or devices, so it can be
applied to any model. Any earlier run's ``config.json`` can be loaded the same way.

    from_preset("cpu-demo", model="demo-tiny", dataset="assistant")   # a copy, with overrides
    save_preset("my-r16", TrainConfig(lora_r=16))
    load_preset("my-r16")                 # -> TrainConfig with those settings
    config_from_run("20260101-120000-demo-tiny-assistant")
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core import jobs, workspace
from core.errors import UserError
from core.train import runs
from core.train.config import TrainConfig

# The classic XTuner QLoRA recipe (internlm2_chat_7b_qlora_*): r=64, alpha=16, lr 2e-4,
# batch 1 x accumulate 16, max_length 1024 (XTuner's default 2048 halved for 24 GB cards).
_XTUNER = TrainConfig(
    quantization="4bit", lora_r=64, lora_alpha=16, lora_dropout=0.1, max_length=1024,
    batch_size=1, grad_accum=16, learning_rate=2e-4, lr_scheduler="cosine", warmup_ratio=0.03,
    epochs=3, save_steps=500, save_total_limit=3, logging_steps=10, gradient_checkpointing=True,
)
# Finishes on demo-tiny in about a minute on 2 CPU cores, and the self-introduction is learnt.
_CPU_DEMO = TrainConfig(
    quantization="4bit", lora_r=64, lora_alpha=16, lora_dropout=0.05, max_length=256,
    batch_size=4, grad_accum=1, learning_rate=3e-3, lr_scheduler="cosine", warmup_ratio=0.03,
    epochs=1, max_steps=150, save_steps=50, save_total_limit=3, logging_steps=5,
    gradient_checkpointing=False,
)
# name -> config; the label of each is the i18n text "train.preset.<name>" (core/i18n/train.py).
BUILTIN_PRESETS: dict[str, TrainConfig] = {"xtuner-qlora": _XTUNER, "cpu-demo": _CPU_DEMO}
DEFAULT_PRESET = "xtuner-qlora"
CPU_PRESET = "cpu-demo"


def default_preset(has_gpu: bool) -> str:
    """The preset a new Train form starts from: the classic QLoRA recipe on a GPU, the demo on a CPU."""
    return DEFAULT_PRESET if has_gpu else CPU_PRESET


def preset_label(name: str, lang: str = "en") -> str:
    """A built-in preset's label in ``lang``; a saved one is shown as "★ name"."""
    from core.i18n import t

    return t(f"train.preset.{name}", lang) if name in BUILTIN_PRESETS else f"★ {name}"


def from_preset(name: str, **overrides) -> TrainConfig:
    """A copy of a built-in or saved preset with ``overrides`` applied (UserError if unknown)."""
    return replace(load_preset(name), **overrides)


def presets_dir() -> Path:
    path = workspace.home() / "presets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.json") if not p.name.startswith("."))


def list_presets() -> list[str]:
    """Built-in preset names first, then saved ones."""
    return list(BUILTIN_PRESETS) + [n for n in user_preset_names() if n not in BUILTIN_PRESETS]


def is_builtin(name: str) -> bool:
    return name in BUILTIN_PRESETS


def load_preset(name: str) -> TrainConfig:
    if name in BUILTIN_PRESETS:
        return replace(BUILTIN_PRESETS[name], probe_prompts=list(BUILTIN_PRESETS[name].probe_prompts))
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
    if name in BUILTIN_PRESETS:
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
    if name in BUILTIN_PRESETS:
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
