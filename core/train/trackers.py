"""Experiment trackers a run may also report to, besides TensorBoard: Weights & Biases and SwanLab.

Nothing is sent unless the user picks a tracker for the run (``TrainConfig.trackers``), and a
tracker can only be picked when its package is installed and configured here (an API key in
the environment or its login file, or its offline mode). Neither package is a requirement.

    tracker_errors(TrainConfig(trackers="wandb"))   # {"trackers": Msg(...)} when wandb is not usable
    report_to(config)                                # ["tensorboard", "wandb"]
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

TRACKERS = ("wandb", "swanlab")
_PACKAGES = {"wandb": "wandb", "swanlab": "swanlab"}


def chosen(config) -> list[str]:
    return [t.strip() for t in (config.trackers or "").split(",") if t.strip()]


def installed(name: str) -> bool:
    return importlib.util.find_spec(_PACKAGES[name]) is not None


def configured(name: str) -> bool:
    """Whether the tracker can log without asking anything (key, login file or offline mode)."""
    home = Path.home()
    if name == "wandb":
        netrc = home / ".netrc"
        return bool(os.environ.get("WANDB_API_KEY")) or os.environ.get("WANDB_MODE") in ("offline", "disabled") \
            or (netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore"))
    if name == "swanlab":
        return bool(os.environ.get("SWANLAB_API_KEY")) or os.environ.get("SWANLAB_MODE") in ("local", "offline", "disabled") \
            or (home / ".swanlab").is_dir()
    return False


def usable() -> list[str]:
    """The trackers that could be picked on this machine."""
    return [name for name in TRACKERS if installed(name) and configured(name)]


def tracker_errors(config) -> dict:
    """{"trackers": Msg} when a picked tracker is unknown, not installed or not logged in."""
    from core.i18n import Msg

    for name in chosen(config):
        if name not in TRACKERS:
            return {"trackers": Msg("train.err.tracker_unknown", name=name, options=", ".join(TRACKERS))}
        if not installed(name):
            return {"trackers": Msg("train.err.tracker_missing", name=name)}
        if not configured(name):
            return {"trackers": Msg("train.err.tracker_login", name=name)}
    return {}


def report_to(config) -> list[str]:
    """TensorBoard always (local files), plus the trackers the user picked."""
    return ["tensorboard", *[name for name in chosen(config) if name in TRACKERS]]
