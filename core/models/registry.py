"""Find local Hugging Face model folders and name them.

Sources, in order: ``workspace/models/*``, every folder in ``MODEL_DIRS`` (``:``- or
``,``-separated; each entry may be a model folder itself or a folder of model folders), and
merged exports in ``workspace/exports/*``. A model is named by its listed name or a path.

    >>> [m.name for m in list_models()]          # doctest: +SKIP
    ['demo-tiny', 'Qwen2.5-0.5B-Instruct']
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from core import workspace
from core.errors import UserError
from core.models.demo import DEMO_NAME, ensure_demo_model
from core.units import human_size  # noqa: F401  (kept importable from here for older callers)

WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt")


@dataclass
class ModelInfo:
    name: str
    path: str
    size_bytes: int
    architecture: str
    has_chat_template: bool
    source: str  # "workspace" | "MODEL_DIRS" | "exports"

    def to_dict(self) -> dict:
        return asdict(self)


def is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any(
        next(path.glob(p), None) is not None for p in WEIGHT_PATTERNS
    )


def has_chat_template(path: Path) -> bool:
    if (path / "chat_template.jinja").is_file() or (path / "chat_template.json").is_file():
        return True
    config = workspace.read_json(path / "tokenizer_config.json", {}) or {}
    return bool(config.get("chat_template"))


def describe(path: Path, name: str | None = None, source: str = "path") -> ModelInfo:
    config = workspace.read_json(path / "config.json", {}) or {}
    archs = config.get("architectures") or [config.get("model_type", "unknown")]
    size = sum(f.stat().st_size for p in WEIGHT_PATTERNS for f in path.glob(p))
    return ModelInfo(
        name=name or path.name, path=str(path), size_bytes=size, architecture=str(archs[0]),
        has_chat_template=has_chat_template(path), source=source,
    )


def _extra_dirs() -> list[Path]:
    raw = os.environ.get("MODEL_DIRS", "")
    return [Path(p).expanduser() for p in re.split(r"[:,]", raw) if p.strip()]


def _candidates() -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    roots = [(workspace.models_dir(), "workspace")] + [(d, "MODEL_DIRS") for d in _extra_dirs()]
    roots.append((workspace.exports_dir(), "exports"))
    for root, source in roots:
        if not root.is_dir():
            continue
        if is_model_dir(root):
            found.append((root, source))
            continue
        for child in sorted(root.iterdir()):
            if child.is_dir() and not child.name.startswith(".") and is_model_dir(child):
                found.append((child, source))
    return found


def list_models() -> list[ModelInfo]:
    """Every model folder found, each name unique (a clash gets its source appended)."""
    infos: list[ModelInfo] = []
    seen: set[str] = set()
    for path, source in _candidates():
        name = path.name if path.name not in seen else f"{path.name} ({source})"
        seen.add(name)
        infos.append(describe(path, name, source))
    return infos


def resolve_model(name_or_path: str) -> Path:
    """A listed name, ``demo-tiny`` (built on first use) or a folder path -> the model folder."""
    if not name_or_path:
        raise UserError("err.models.no_model", field="model", hint="err.models.no_model.hint")
    for info in list_models():
        if info.name == name_or_path:
            return Path(info.path)
    if name_or_path == DEMO_NAME:
        return ensure_demo_model()
    path = Path(name_or_path).expanduser()
    if path.is_dir() and is_model_dir(path):
        return path.resolve()
    raise UserError("err.models.not_found", name=name_or_path, field="model", hint="err.models.not_found.hint")


def model_signature(path: Path) -> dict:
    """The parts of config.json an adapter depends on; two bases with equal signatures fit the same adapters."""
    config = workspace.read_json(Path(path) / "config.json", {}) or {}
    keys = ("model_type", "hidden_size", "num_hidden_layers", "vocab_size", "intermediate_size",
            "num_attention_heads", "num_key_value_heads")
    return {k: config.get(k) for k in keys}

