"""Ship a checkpoint: merge a LoRA adapter into its base, or zip the adapter.

``merge_adapter`` loads the base *unquantised* even when the run trained it in 4-bit (merging
into NF4 weights would round the update away), at bf16 on a GPU (fp16 where bf16 is not
supported) or fp32 on CPU, applies the adapter with PEFT, ``merge_and_unload()``s it and writes
a standard Hugging Face folder — sharded safetensors, config.json, generation_config.json,
the tokenizer with its chat template — that ``AutoModelForCausalLM.from_pretrained`` loads
without PEFT. It is written into a staging folder beside the target and renamed into place,
so a failed export never leaves half a model; by default the target is
``workspace/exports/<name>``, which the model list (core.models.registry) already scans.

    merge_adapter("demo-tiny", "RUN/checkpoint-100")            # -> ExportResult(path=.../exports/RUN-checkpoint-100)
    python -m core export merge --model demo-tiny --adapter RUN/checkpoint-100 --out /srv/m --json
    write_adapter_zip("RUN/adapter", "adapter.zip")              # adapter weights + config + tokenizer

Progress goes through a ``progress(fraction, message)`` callback (message: a ``Msg`` to render in
the reader's language, or a file name); no Streamlit here.
"""
from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from core import workspace
from core.errors import UserError
from core.i18n import Msg

EXPORT_INFO = "workbench_export.json"
DTYPES = ("auto", "bfloat16", "float16", "float32")
# Files a trainer writes into checkpoint-N/ only to resume training; not part of the adapter.
TRAINING_STATE = ("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin", "trainer_state.json",
                  "scaler.pt")

Progress = Callable[[float, "str | Msg"], None]  # a Msg, or a file name as it is


@dataclass
class ExportResult:
    path: str
    base: str
    adapter: str
    dtype: str
    size_bytes: int
    files: list[str]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def merge_dtype_name(dtype: str = "auto") -> str:
    """``auto``: bf16 on a GPU that has it, fp16 on older GPUs, fp32 on CPU; else the name given."""
    if dtype not in DTYPES:
        raise UserError("err.export.dtype", dtype=dtype, field="dtype", hint="err.export.dtype.hint",
                        choices=", ".join(DTYPES))
    if dtype != "auto":
        return dtype
    from core.system import compute_dtype_name

    return compute_dtype_name()


def default_export_name(adapter_path: Path) -> str:
    """``<run_id>-<checkpoint>`` for a run's adapter, else the folder's name."""
    adapter_path = Path(adapter_path)
    parent = adapter_path.parent
    if parent.parent.resolve() == workspace.runs_dir().resolve():
        name = f"{parent.name}-{adapter_path.name}"
    else:
        name = adapter_path.name
    while len(name.encode("utf-8")) > workspace.MAX_NAME_BYTES:  # keep the end: the checkpoint
        name = name[1:]
    return name.lstrip(".-") or "export"


def _estimate_ram(base_path: Path, dtype_name: str) -> int:
    """Bytes the unquantised base needs in memory at ``dtype_name`` (from the weight files)."""
    from core.models.registry import WEIGHT_PATTERNS

    on_disk = sum(f.stat().st_size for p in WEIGHT_PATTERNS for f in base_path.glob(p))
    config = workspace.read_json(base_path / "config.json", {}) or {}
    stored = str(config.get("dtype") or config.get("torch_dtype") or "float32")
    stored_bytes = 2 if stored in ("bfloat16", "float16") else 4
    target_bytes = 4 if dtype_name == "float32" else 2
    return int(on_disk * target_bytes / stored_bytes)


def _check_memory(base_path: Path, dtype_name: str) -> None:
    import psutil
    import torch

    if torch.cuda.is_available():
        return  # device_map="auto" spreads over GPUs and CPU; let accelerate decide
    need = _estimate_ram(base_path, dtype_name)
    free = psutil.virtual_memory().available
    if need > free * 0.95:
        gib = 1024 ** 3
        raise UserError("err.export.ram", need=need / gib, free=free / gib, hint="err.export.ram.hint")


def _pick_tokenizer_source(base_path: Path, adapter_path: Path) -> Path:
    """The adapter's tokenizer when the run saved one (it may have added tokens), else the base's."""
    if (adapter_path / "tokenizer_config.json").is_file():
        return adapter_path
    return base_path


def merge_adapter(
    model: str | Path,
    adapter: str | Path,
    *,
    out: str | Path | None = None,
    name: str | None = None,
    dtype: str = "auto",
    max_shard_size: str = "2GB",
    overwrite: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Merge ``adapter`` (``RUN[/checkpoint-N]`` or a folder) into ``model`` and write a HF folder.

    Args:
        model: the base, as a listed name or a folder (the one the run trained on).
        adapter: ``RUN`` (final adapter), ``RUN/checkpoint-N``, ``RUN/adapter`` or an adapter folder.
        out: target folder; default ``workspace/exports/<name>``.
        name: folder name under exports/ (default ``<run_id>-<checkpoint>``); ignored with ``out``.
        dtype: ``auto`` (bf16 on GPU, fp32 on CPU), or bfloat16 / float16 / float32 for the saved weights.
        max_shard_size: largest safetensors shard, e.g. ``"2GB"``, ``"500MB"``.
        overwrite: replace an existing target folder (atomically) instead of refusing.
    Returns:
        ExportResult with the folder, its size and files.
    Raises:
        UserError: unknown model or adapter, adapter of another base, target exists, too little RAM.
    """
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, GenerationConfig

    from core.chat.templates import ensure_chat_template
    from core.models.checks import check_weights, load_tokenizer
    from core.models.registry import resolve_model
    from core.train.runs import resolve_adapter

    started = time.perf_counter()

    def report(fraction: float, message: Msg) -> None:
        if progress:
            progress(fraction, message)

    base_path = resolve_model(str(model))
    adapter_path = resolve_adapter(str(adapter))
    from core.models.loading import check_adapter_fits

    check_adapter_fits(base_path, adapter_path)
    if out:
        target = Path(out).expanduser().resolve()
    else:
        folder_name = workspace.check_name(name or default_export_name(adapter_path), "export name")
        target = workspace.exports_dir() / folder_name
    if target.exists() and not overwrite:
        raise UserError("err.export.exists", path=target, field="name", hint="err.common.exists_pick_other")
    if target.exists() and not target.is_dir():
        raise UserError("err.export.is_file", path=target, field="out")
    dtype_name = merge_dtype_name(dtype)
    compute = "float32" if not torch.cuda.is_available() else dtype_name
    _check_memory(base_path, compute)
    check_weights(base_path)  # a truncated or corrupt weight file is named before the long load

    report(0.05, Msg("progress.export.loading"))
    kwargs = {"dtype": getattr(torch, compute)}
    if torch.cuda.is_available():  # pragma: no cover - GPU only
        kwargs["device_map"] = "auto"
    try:
        base = AutoModelForCausalLM.from_pretrained(str(base_path), **kwargs)
    except Exception as err:  # a damaged weight file surfaces as OSError, ValueError, SafetensorError …
        raise UserError("err.models.load_failed", path=base_path, reason=f"{type(err).__name__}: {str(err)[:300]}",
                        hint="err.models.weights.hint") from err
    report(0.35, Msg("progress.export.applying"))
    try:
        peft_model = PeftModel.from_pretrained(base, str(adapter_path))
    except (OSError, ValueError, RuntimeError) as err:
        raise UserError("err.export.adapter_failed", path=adapter_path, reason=str(err)[:300],
                        hint="err.export.adapter_failed.hint") from err
    report(0.5, Msg("progress.export.merging"))
    merged = peft_model.merge_and_unload()
    if dtype_name != compute:
        merged = merged.to(getattr(torch, dtype_name))
    merged.eval()
    config = merged.config
    for stale in ("quantization_config",):  # the base was loaded unquantised; never claim otherwise
        if hasattr(config, stale):
            delattr(config, stale)
    config.dtype = dtype_name

    try:
        # A second merge into the same folder is refused while this one writes (lock_timeout=0),
        # and one that finished meanwhile is not replaced without overwrite.
        with workspace.staged_dir(target, lock_timeout=0) as staging:
            if target.exists() and not overwrite:
                raise UserError("err.export.exists", path=target, field="name", hint="err.common.exists_pick_other")
            report(0.6, Msg("progress.export.shards"))
            merged.save_pretrained(str(staging), max_shard_size=max_shard_size)
            report(0.85, Msg("progress.export.tokenizer"))
            tokenizer = load_tokenizer(_pick_tokenizer_source(base_path, adapter_path))
            ensure_chat_template(tokenizer)
            tokenizer.save_pretrained(str(staging))
            try:
                generation = GenerationConfig.from_pretrained(str(base_path))
            except OSError:
                generation = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
            if generation.pad_token_id is None:
                generation.pad_token_id = tokenizer.pad_token_id
            generation.save_pretrained(str(staging))
            info = {"base": str(base_path), "adapter": str(adapter_path), "dtype": dtype_name,
                    "created": time.time(), "built_by": "core.models.export.merge_adapter"}
            (staging / EXPORT_INFO).write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
            report(0.95, Msg("progress.export.moving"))
    finally:
        del merged, peft_model, base
    files = sorted(p.name for p in target.iterdir() if p.is_file())
    report(1.0, Msg("progress.done"))
    return ExportResult(path=str(target), base=str(base_path), adapter=str(adapter_path), dtype=dtype_name,
                        size_bytes=workspace.dir_size(target), files=files,
                        seconds=round(time.perf_counter() - started, 2))


# ----------------------------------------------------------------------------- adapter zip


def adapter_files(adapter_path: Path, include_training_state: bool = False) -> list[Path]:
    """The files that make up an adapter folder (optimizer/scheduler state left out by default).

    A symbolic link that leads out of the folder (``adapter_model.safetensors -> /etc/shadow``)
    is left out: the zip holds only what is inside the adapter folder.
    """
    root = Path(adapter_path).resolve()
    files = []
    for path in sorted(Path(adapter_path).rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        if not path.resolve().is_relative_to(root):
            continue
        if not include_training_state and path.name in TRAINING_STATE:
            continue
        files.append(path)
    return files


def adapter_zip_name(adapter_path: Path) -> str:
    return f"{default_export_name(adapter_path)}.zip"


def adapter_zip_bytes(
    adapter: str | Path, include_training_state: bool = False, progress: Progress | None = None
) -> bytes:
    """A zip of the adapter folder in memory (for a download button); the folder is the zip's root."""
    buffer = io.BytesIO()
    _write_zip(buffer, adapter, include_training_state, progress)
    return buffer.getvalue()


def write_adapter_zip(
    adapter: str | Path, out: str | Path, include_training_state: bool = False, progress: Progress | None = None
) -> Path:
    """Write the adapter zip to ``out`` atomically; returns the path."""
    out = Path(out).expanduser()
    if out.is_dir():
        out = out / adapter_zip_name(_resolve(adapter))
    buffer = io.BytesIO()
    _write_zip(buffer, adapter, include_training_state, progress)
    workspace.atomic_write_bytes(out, buffer.getvalue())
    return out.resolve()


def _resolve(adapter: str | Path) -> Path:
    from core.train.runs import resolve_adapter

    return resolve_adapter(str(adapter))


def _write_zip(fh, adapter, include_training_state: bool, progress: Progress | None) -> None:
    adapter_path = _resolve(adapter)
    files = adapter_files(adapter_path, include_training_state)
    if not any(f.name == "adapter_config.json" for f in files):
        raise UserError("err.models.not_adapter", path=adapter_path)
    root = default_export_name(adapter_path)
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i, path in enumerate(files):
            if progress:
                progress(i / len(files), path.name)
            archive.write(path, f"{root}/{path.relative_to(adapter_path).as_posix()}")
    if progress:
        progress(1.0, Msg("progress.done"))
