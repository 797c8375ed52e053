"""What this machine has: device, memory, library versions, free disk.

Training and chat choose precision from here so the code stays device-agnostic:
CUDA with bf16 where supported (fp16 otherwise), CPU with fp32.
"""
from __future__ import annotations

import importlib.metadata
import shutil
from dataclasses import asdict, dataclass, field

LIBRARIES = ("torch", "transformers", "peft", "bitsandbytes", "trl", "accelerate",
             "sentence-transformers", "faiss-cpu", "streamlit")


@dataclass
class GpuInfo:
    index: int
    name: str
    total_bytes: int
    free_bytes: int | None = None


@dataclass
class SystemInfo:
    device: str  # "cuda" | "cpu"
    gpus: list[GpuInfo] = field(default_factory=list)
    cpu_count: int = 0
    ram_total_bytes: int = 0
    ram_available_bytes: int = 0
    disk_free_bytes: int = 0
    versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def library_versions() -> dict[str, str]:
    """Installed versions read from package metadata (no heavy import)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def gpus() -> list[GpuInfo]:
    """GPUs from nvidia-smi: answers in milliseconds without importing torch (the Home page uses it)."""
    import subprocess

    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=index,name,memory.total,memory.free",
                              "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out)


def parse_nvidia_smi(out: str) -> list[GpuInfo]:
    """Rows of ``index, name, memory.total, memory.free`` (MiB, no units) -> GpuInfo.

    A value nvidia-smi cannot read ("[N/A]", e.g. free memory of a MIG parent) is left unknown;
    a row without a readable total is skipped rather than guessed.

        >>> parse_nvidia_smi("0, NVIDIA H100 80GB HBM3, 81559, 80800")[0].total_bytes
        85521448960
    """
    def mib(value: str) -> int | None:
        try:
            return int(float(value) * 2**20)
        except ValueError:
            return None

    found = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4 or not parts[0].isdigit():
            continue
        # a GPU name may itself hold a comma: the last two fields are the memory figures
        total, free = mib(parts[-2]), mib(parts[-1])
        if total is not None:
            found.append(GpuInfo(int(parts[0]), ", ".join(parts[1:-2]), total, free))
    return found


def compute_dtype_name() -> str:
    """bf16 on a GPU that supports it, fp16 on an older GPU, fp32 on CPU."""
    import torch

    if torch.cuda.is_available():
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def system_info(path_for_disk: str = ".") -> SystemInfo:
    import os

    import psutil

    found = gpus()
    memory = psutil.virtual_memory()
    return SystemInfo(
        device="cuda" if found else "cpu", gpus=found, cpu_count=os.cpu_count() or 0,
        ram_total_bytes=memory.total, ram_available_bytes=memory.available,
        disk_free_bytes=shutil.disk_usage(path_for_disk).free, versions=library_versions(),
    )
