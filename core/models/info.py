"""What a local model is and whether it fits this machine: the Models page and `models info`.

Everything is read from the folder without loading weights: config.json (architecture, dtype,
context length), the safetensors headers (parameter count, via core.train.memory's model_shape),
the tokenizer's chat template, and the model card's YAML front matter (licence, through
huggingface_hub's ``metadata_load``). "Fits" is answered from the same arithmetic as the Train
page's memory estimate: chat at 16/8/4-bit (weights + a KV cache + overhead) and training with
QLoRA / LoRA at the default TrainConfig, against the first GPU (or the RAM on a CPU machine).

    python -m core models info demo-tiny --json
"""
from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core import workspace
from core.errors import UserError
from core.models import registry

CHAT_PRECISIONS = ("16bit", "8bit", "4bit")
TRAIN_METHODS = {"qlora": "4bit", "lora": "none"}  # method -> TrainConfig.quantization
CHAT_CONTEXT_TOKENS = 4096  # the KV cache a chat session is assumed to hold when answering "fits?"


@dataclass
class ModelDetails:
    name: str
    path: str
    architecture: str
    parameters: int
    dtype: str
    context_length: int | None
    has_chat_template: bool
    size_bytes: int
    license: str | None
    source: str
    fits: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _text_config(path: Path) -> dict:
    config = workspace.read_json(path / "config.json", {}) or {}
    return config.get("text_config", config) | {"architectures": config.get("architectures")}


def model_dtype(path: Path) -> str:
    """The dtype the weights are stored in: config.json's ``dtype``/``torch_dtype``, else the safetensors headers."""
    config = workspace.read_json(path / "config.json", {}) or {}
    named = config.get("dtype") or config.get("torch_dtype")
    if named:
        return str(named)
    from core.train.memory import _safetensors_headers

    counts: dict[str, int] = {}
    for info in _safetensors_headers(path).values():
        counts[info.get("dtype", "?")] = counts.get(info.get("dtype", "?"), 0) + 1
    return max(counts, key=counts.get).lower() if counts else "unknown"


def model_licence(path: Path) -> str | None:
    """``license`` (or ``license_name`` for "other") from README.md's front matter, if any."""
    card = path / "README.md"
    if not card.is_file():
        return None
    from huggingface_hub import metadata_load

    try:
        meta = metadata_load(card) or {}
    except Exception:  # a malformed card is not worth failing the Models page for
        return None
    licence = meta.get("license")
    if licence == "other" and meta.get("license_name"):
        return str(meta["license_name"])
    if isinstance(licence, list):
        return ", ".join(map(str, licence))
    return str(licence) if licence else None


def chat_memory_bytes(shape, precision: str, on_gpu: bool, context_tokens: int = CHAT_CONTEXT_TOKENS) -> int:
    """Weights at ``precision`` (decoder linears quantised; embeddings and norms at 16-bit, fp32 on CPU)
    + a KV cache of ``context_tokens`` + the fixed overhead, with the estimate's allocator slack."""
    from core.train import memory

    act = 2 if on_gpu else 4
    per_linear = {"16bit": act, "8bit": memory.INT8_BYTES_PER_PARAM, "4bit": memory.NF4_BYTES_PER_PARAM}[precision]
    weights = shape.linear_params * per_linear + shape.other_params * act
    kv_cache = 2 * shape.layers * shape.kv_dim * context_tokens * act
    overhead = memory.CUDA_OVERHEAD_BYTES if on_gpu else memory.CPU_OVERHEAD_BYTES
    return int((weights + kv_cache) * (1 + memory.ALLOCATOR_SLACK) + overhead)


def fits_machine(path: Path) -> dict:
    """{"device", "device_bytes", "chat": {precision: {"bytes", "fits"}}, "train": {method: {"bytes", "fits"}}}."""
    from core.train import memory
    from core.train.config import TrainConfig

    shape = memory.model_shape(path)
    device, mem = memory.target_device("")
    on_gpu = device == "cuda"
    # A GPU is judged by its total memory (a job there has it to itself); RAM by what is available now.
    limit = mem.total_bytes if on_gpu else (mem.free_bytes or mem.total_bytes)
    chat = {}
    for precision in CHAT_PRECISIONS:
        need = chat_memory_bytes(shape, precision, on_gpu)
        chat[precision] = {"bytes": need, "fits": need <= limit}
    train = {}
    for method, quantization in TRAIN_METHODS.items():
        config = TrainConfig(model=str(path), dataset="-", quantization=quantization)
        need = memory.estimate(shape, config, device, limit, mem.name).total_bytes
        train[method] = {"bytes": need, "fits": need <= limit}
    return {"device": mem.name, "device_bytes": limit, "chat": chat, "train": train}


def model_details(name: str, with_fits: bool = True) -> ModelDetails:
    """Everything the Models page shows about one model (``name`` as listed, or a folder)."""
    from core.models.checks import check_config, check_weights

    path = registry.resolve_model(name)
    check_config(path)  # a damaged folder is named (file and reason) instead of failing deep inside
    check_weights(path)
    listed = {m.path: m for m in registry.list_models()}.get(str(path))
    described = listed or registry.describe(path)
    config = _text_config(path)
    from core.train.memory import model_shape

    context = config.get("max_position_embeddings") or config.get("n_positions") or config.get("seq_length")
    return ModelDetails(
        name=described.name, path=str(path), architecture=described.architecture,
        parameters=model_shape(path).total_params, dtype=model_dtype(path),
        context_length=int(context) if context else None, has_chat_template=described.has_chat_template,
        size_bytes=workspace.dir_size(path), license=model_licence(path), source=described.source,
        fits=fits_machine(path) if with_fits else {},
    )


def deletable_path(name: str) -> Path:
    """The folder of a model that lives inside the workspace (models/ or exports/), else a UserError."""
    path = registry.resolve_model(name).resolve()
    home = workspace.home().resolve()
    inside = any(path.parent == root.resolve() for root in (workspace.models_dir(), workspace.exports_dir()))
    if not inside or not path.is_relative_to(home):
        raise UserError("err.models.delete_outside", name=name, path=str(path), field="model",
                        hint="err.models.delete_outside.hint")
    return path


def delete_model(name: str) -> dict:
    """Delete a model folder under workspace/models or workspace/exports (never anything outside)."""
    path = deletable_path(name)
    size = workspace.dir_size(path)
    # Rename first so a half-deleted folder never lists as a model; then remove it.
    aside = path.with_name(f".{path.name}.deleting")
    shutil.rmtree(aside, ignore_errors=True)
    path.rename(aside)
    shutil.rmtree(aside, ignore_errors=True)
    return {"name": name, "path": str(path), "deleted": True, "freed_bytes": size}
