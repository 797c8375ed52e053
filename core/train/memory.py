"""Estimate a run's training memory before launch, and the memory of the devices to run it on.

The estimate adds up, from the model's own tensor shapes (read from the safetensors headers, no
weights loaded; config.json for other formats):

- weights at the chosen precision: 4-bit NF4 ≈ 0.52 byte/param for the linear layers inside the
  decoder blocks (4 bits + double-quantised absmax), 8-bit ≈ 1 byte; embeddings, norms and
  lm_head stay at compute precision (bf16 on GPU, fp32 on CPU) — bitsandbytes does not quantise
  them; plus, when quantised, the dequantised copy of the largest linear layer used by a matmul;
- LoRA parameters for the targeted layers (r·(in+out) each, + out for DoRA), their gradients
  and two AdamW states each (bf16 for a quantised base as TRL casts them, fp32 otherwise);
- activations for batch × max_length: per block about 7·h + 2·kv + 4·i values per token kept
  for backward on CPU (+ LoRA-dropout copies), or only the block input with gradient checkpointing
  (then one block's activations are recomputed at a time); the logits (batch × length × vocab)
  with their fp32 copy and gradient dominate for small models with big vocabularies;
- a fixed overhead: the CUDA context on a GPU, the training process's own objects on a CPU, and
  allocator slack;
- per GPU under DeepSpeed: ZeRO-2 divides gradients and optimizer states by the number of
  processes, ZeRO-3 the weights too (plus one block gathered whole while it runs).

It is compared with the selected GPU's memory (``nvidia-smi``, no torch import) or the RAM on a
CPU-only machine. ``bench/bench_train_memory.py`` measures the error against the real peak.

    est = estimate_for_config(from_preset("cpu-demo", model="demo-tiny", dataset="x"))
    est.total_bytes, est.fits
"""
from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core import workspace

GIB = 2 ** 30
NF4_BYTES_PER_PARAM = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit + 8-bit absmax per 64 + fp32 per 256 blocks
INT8_BYTES_PER_PARAM = 1.0 + 4 / 4096  # + a row scale
CUDA_OVERHEAD_BYTES = int(0.6 * GIB)  # CUDA context + kernels, not seen by the allocator
# What a CPU training process holds besides the tensors (trainer, dataloader, thread pools, bnb):
# measured with bench/bench_train_memory.py on demo-tiny at batch 1 x 128, where tensors are ~nothing.
CPU_OVERHEAD_BYTES = 52 * 2 ** 20
ALLOCATOR_SLACK = 0.10  # fragmentation / caching allocator rounding
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}


@dataclass
class ModelShape:
    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_dim: int  # num_key_value_heads * head_dim
    vocab: int
    block_linears: list[tuple[str, int, int]] = field(default_factory=list)  # (leaf name, in, out) per linear
    other_params: int = 0  # embeddings, norms, lm_head: never quantised

    @property
    def linear_params(self) -> int:
        return sum(i * o for _, i, o in self.block_linears)

    @property
    def total_params(self) -> int:
        return self.linear_params + self.other_params


@dataclass
class MemoryEstimate:
    params: int
    trainable_params: int
    weights_bytes: int
    lora_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int  # with the chosen gradient-checkpointing setting
    activations_no_ckpt_bytes: int
    activations_ckpt_bytes: int
    overhead_bytes: int
    total_bytes: int
    total_no_ckpt_bytes: int
    total_ckpt_bytes: int
    gradient_checkpointing: bool
    device: str  # "cuda" | "cpu"
    device_name: str = ""
    device_bytes: int | None = None
    notes: list[dict] = field(default_factory=list)  # {"code": ..., **values}; texts in core/i18n/train.py

    @property
    def fits(self) -> bool | None:
        return None if not self.device_bytes else self.total_bytes <= self.device_bytes

    @property
    def fits_with_ckpt(self) -> bool | None:
        return None if not self.device_bytes else self.total_ckpt_bytes <= self.device_bytes

    def rows(self) -> list[tuple[str, int]]:
        return [("weights", self.weights_bytes), ("lora", self.lora_bytes), ("gradients", self.gradients_bytes),
                ("optimizer", self.optimizer_bytes), ("activations", self.activations_bytes),
                ("overhead", self.overhead_bytes)]

    def note_texts(self, lang: str = "en") -> list[str]:
        from core.i18n import t

        return [t("train.memnote." + n["code"], lang, **{k: v for k, v in n.items() if k != "code"})
                for n in self.notes]

    def to_dict(self) -> dict:
        return asdict(self) | {"fits": self.fits, "fits_with_ckpt": self.fits_with_ckpt,
                               "total_gb": round(self.total_bytes / GIB, 3), "notes": self.note_texts()}


def _safetensors_headers(path: Path) -> dict[str, dict]:
    tensors: dict[str, dict] = {}
    for file in sorted(path.glob("*.safetensors")):
        with open(file, "rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(size))
        tensors.update({k: v for k, v in header.items() if k != "__metadata__"})
    return tensors


def model_shape(path: Path | str) -> ModelShape:
    """Layer sizes of a local model folder from its safetensors headers (or config.json)."""
    path = Path(path)
    cfg = workspace.read_json(path / "config.json", {}) or {}
    cfg = cfg.get("text_config", cfg)
    hidden = int(cfg.get("hidden_size", 0))
    heads = int(cfg.get("num_attention_heads", 1) or 1)
    head_dim = int(cfg.get("head_dim") or (hidden // heads if heads else 0))
    shape = ModelShape(hidden=hidden, layers=int(cfg.get("num_hidden_layers", 0)),
                       intermediate=int(cfg.get("intermediate_size", 4 * hidden)), heads=heads,
                       kv_dim=int(cfg.get("num_key_value_heads", heads) or heads) * head_dim,
                       vocab=int(cfg.get("vocab_size", 0)))
    tensors = _safetensors_headers(path)
    if tensors:
        for name, info in tensors.items():
            dims = info.get("shape", [])
            count = 1
            for d in dims:
                count *= int(d)
            leaf = name.rsplit(".", 2)[-2] if name.count(".") >= 2 else name
            is_block_linear = (len(dims) == 2 and name.endswith(".weight") and ".layers." in name
                               and "norm" not in leaf and "embed" not in name)
            if is_block_linear:
                shape.block_linears.append((leaf, int(dims[1]), int(dims[0])))
            else:
                shape.other_params += count
        return shape
    # No safetensors: a Llama-shaped model from config.json.
    h, i, kv = shape.hidden, shape.intermediate, shape.kv_dim
    for _ in range(shape.layers):
        shape.block_linears += [("q_proj", h, h), ("k_proj", h, kv), ("v_proj", h, kv), ("o_proj", h, h),
                                ("gate_proj", h, i), ("up_proj", h, i), ("down_proj", i, h)]
    tied = cfg.get("tie_word_embeddings", False)
    shape.other_params = shape.vocab * h * (1 if tied else 2) + (2 * shape.layers + 1) * h
    return shape


def estimate(shape: ModelShape, config, device: str = "cpu", device_bytes: int | None = None,
             device_name: str = "") -> MemoryEstimate:
    """The memory a run of ``config`` (a TrainConfig) needs on ``device`` ("cuda" or "cpu")."""
    on_gpu = device == "cuda"
    act = 2 if on_gpu else 4  # compute precision: bf16 on GPU, fp32 on CPU
    h, L, i, kv, V = shape.hidden, shape.layers, shape.intermediate, shape.kv_dim, shape.vocab
    quant = config.quantization
    per_linear = {"4bit": NF4_BYTES_PER_PARAM, "8bit": INT8_BYTES_PER_PARAM}.get(quant, act)
    weights = shape.linear_params * per_linear + shape.other_params * act
    notes: list[dict] = []
    if quant != "none" and shape.block_linears:
        biggest = max(a * b for _, a, b in shape.block_linears)
        weights += 2 * biggest * act  # dequantised weight of one matmul (+ its backward use)
    targets = [t.strip() for t in config.target_modules.split(",") if t.strip()]
    targeted = [(n, a, b) for n, a, b in shape.block_linears if targets == ["all-linear"] or n in targets]
    lora_params = sum(config.lora_r * (a + b) + (b if config.use_dora else 0) for _, a, b in targeted)
    lora_dtype = 2 if quant != "none" else 4  # TRL casts adapters of a quantised base to bf16; else fp32
    lora = lora_params * lora_dtype
    grads = lora
    optimizer = 2 * lora  # AdamW exp_avg + exp_avg_sq, same dtype as the parameter
    # DeepSpeed ZeRO splits state across the processes: ZeRO-2 the gradients and optimizer states,
    # ZeRO-3 the weights too (each block's weights are gathered whole only while it runs).
    shards = max(1, config.processes) if config.deepspeed else 1
    if shards > 1:
        if on_gpu:
            optimizer += lora_params * 4  # fp32 master copy of the trainable weights
        grads, optimizer = grads / shards, optimizer / shards
        notes.append({"code": "deepspeed", "stage": f"ZeRO-{config.deepspeed[-1]}", "shards": shards})
        if config.deepspeed == "zero3" and shape.layers:
            one_block = (weights - shape.other_params * act) / shape.layers
            weights, lora = weights / shards + one_block, lora / shards
    tokens = config.batch_size * config.max_length
    dropout_copies = sum(a for _, a, _ in targeted) / max(1, L) if config.lora_dropout > 0 else 0
    # Saved for backward per token in a Llama block (counted with saved_tensors_hooks on CPU): the two
    # RMSNorms keep their input in fp32 and their output (2 x (4 + act)·h bytes), attention q, k, v,
    # rotated q/k, GQA-expanded k/v and its output, the MLP gate, up, SiLU(gate) and their product.
    per_block = (5 * h + 2 * kv + 4 * i + dropout_copies) * act + 2 * 4 * h
    per_block += dropout_copies  # the dropout masks, 1 byte each (0 without dropout)
    per_block += 2 * config.lora_r * len(targeted) / max(1, L) * act  # LoRA A outputs
    logits = tokens * V * (act + 4 + 4)  # logits, their fp32 copy for the loss, the gradient
    embeddings = tokens * h * act
    act_full = tokens * per_block * L + logits + embeddings
    act_ckpt = tokens * h * act * L + tokens * per_block + logits + embeddings
    activations = act_ckpt if config.gradient_checkpointing else act_full
    fixed = weights + lora + grads + optimizer
    overhead = CUDA_OVERHEAD_BYTES if on_gpu else CPU_OVERHEAD_BYTES
    slack = 1 + ALLOCATOR_SLACK

    def total(a: float) -> int:
        return int((fixed + a) * slack + overhead)

    if config.packing:
        notes.append({"code": "packing"})
    return MemoryEstimate(
        params=shape.total_params, trainable_params=int(lora_params), weights_bytes=int(weights),
        lora_bytes=int(lora), gradients_bytes=int(grads), optimizer_bytes=int(optimizer),
        activations_bytes=int(activations), activations_no_ckpt_bytes=int(act_full),
        activations_ckpt_bytes=int(act_ckpt), overhead_bytes=int(overhead + (fixed + activations) * ALLOCATOR_SLACK),
        total_bytes=total(activations), total_no_ckpt_bytes=total(act_full), total_ckpt_bytes=total(act_ckpt),
        gradient_checkpointing=config.gradient_checkpointing, device=device, device_name=device_name,
        device_bytes=device_bytes, notes=notes,
    )


@dataclass
class DeviceMemory:
    id: str  # GPU index, or "cpu"
    name: str
    total_bytes: int
    free_bytes: int | None = None


def gpu_devices() -> list[DeviceMemory]:
    """GPUs (from core.system's nvidia-smi query: fast, no torch import); [] when there is none."""
    from core.system import gpus

    return [DeviceMemory(str(g.index), g.name, g.total_bytes, g.free_bytes) for g in gpus()]


def cpu_device() -> DeviceMemory:
    import psutil

    memory = psutil.virtual_memory()
    return DeviceMemory("cpu", "CPU RAM", int(memory.total), int(memory.available))


def target_device(gpus: str) -> tuple[str, DeviceMemory]:
    """("cuda", the smallest selected GPU) — every DDP rank holds a full copy — or ("cpu", RAM)."""
    found = gpu_devices()
    if not found:
        return "cpu", cpu_device()
    chosen = [g for g in found if g.id in [x.strip() for x in gpus.split(",") if x.strip()]] or found[:1]
    return "cuda", min(chosen, key=lambda g: g.total_bytes)


def estimate_for_config(config, gpu_memory_gb: float | None = None) -> MemoryEstimate:
    """Estimate for a TrainConfig against its selected device (or ``gpu_memory_gb`` if given)."""
    from core.models.registry import resolve_model

    path = resolve_model(config.model)
    device, mem = target_device(config.gpus)
    if gpu_memory_gb:
        device, mem = "cuda", DeviceMemory("given", f"{gpu_memory_gb:g} GB GPU", int(gpu_memory_gb * GIB))
    return estimate(model_shape(path), config, device, mem.total_bytes, mem.name)
