"""Workspace-wide defaults chosen in the UI (today: the language), in WORKBENCH_HOME/settings.json.

Small, read on a session's first run and written atomically when the user changes a default,
so a reload, a direct link or a new tab starts with what was chosen last.

    >>> save_setting("lang", "zh"); load_settings()["lang"]   # doctest: +SKIP
    'zh'
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core import workspace

SETTINGS_FILE = "settings.json"


def settings_path() -> Path:
    return workspace.home() / SETTINGS_FILE


def load_settings() -> dict[str, Any]:
    """The saved defaults; {} when there are none or the file is unreadable."""
    data = workspace.read_json(settings_path(), {})
    return data if isinstance(data, dict) else {}


def save_setting(name: str, value: Any) -> None:
    """Set one default (the others stay as they are)."""
    data = load_settings()
    if data.get(name) == value:
        return
    data[name] = value
    workspace.atomic_write_json(settings_path(), data)
