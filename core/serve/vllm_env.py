"""vLLM in its own virtualenv, and its server command line.

vLLM pins other torch/transformers versions than the workbench, so it never goes into our venv:
``workspace/.venvs/vllm`` is created on first use (``python -m venv`` + ``pip install vllm``), with
every step's output appended to the server's log. The base model is served under its name and each
checkpoint as a LoRA module (``--enable-lora --lora-modules name=path``), tensor parallel over the
selected GPUs.

    vllm_command(python, base_path, "demo-tiny", {"run/checkpoint-10": path}, port=8000, gpus=["0", "1"])
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core import workspace
from core.errors import UserError

VLLM_PIP_SPEC_ENV = "WORKBENCH_VLLM_SPEC"  # what `pip install` gets; default "vllm" (a pinned spec or a wheel path)
DEFAULT_VLLM_SPEC = "vllm"


def venv_dir() -> Path:
    return workspace.home() / ".venvs" / "vllm"


def venv_python(venv: Path | None = None) -> Path:
    return (venv or venv_dir()) / "bin" / "python"


def vllm_installed(venv: Path | None = None) -> bool:
    """The venv exists and imports vllm (checked by its own python, never by ours)."""
    python = venv_python(venv)
    if not python.is_file():
        return False
    done = subprocess.run([str(python), "-c", "import vllm"], capture_output=True, timeout=120)
    return done.returncode == 0


def install_commands(venv: Path | None = None) -> list[list[str]]:
    """The argv lists that create the venv and install vLLM into it (no shell)."""
    venv = venv or venv_dir()
    spec = os.environ.get(VLLM_PIP_SPEC_ENV, DEFAULT_VLLM_SPEC)
    return [[sys.executable, "-m", "venv", str(venv)],
            [str(venv_python(venv)), "-m", "pip", "install", spec]]


def ensure_vllm_env(log_path: Path, on_step=None, venv: Path | None = None) -> Path:
    """Create the vLLM venv if it is missing (output to ``log_path``); its python, or UserError on failure."""
    venv = venv or venv_dir()
    if vllm_installed(venv):
        return venv_python(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    commands = install_commands(venv)
    with open(log_path, "ab") as log:
        for number, argv in enumerate(commands, 1):
            if on_step is not None:
                on_step(number, len(commands), " ".join(argv[-2:]))
            log.write(("$ " + " ".join(argv) + "\n").encode())
            log.flush()
            code = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
            if code != 0:
                raise UserError("err.serve.vllm_install_failed", step=" ".join(argv[2:]), code=code,
                                venv=str(venv), hint="err.serve.vllm_install_failed.hint")
    workspace.atomic_write_json(venv / "workbench.json", {"spec": commands[-1][-1]})
    return venv_python(venv)


def vllm_command(python: Path | str, base_path: Path | str, base_name: str, adapters: dict[str, Path | str],
                 *, host: str = "127.0.0.1", port: int = 8000, gpus: list[str] | None = None,
                 api_key: str = "", max_lora_rank: int = 64) -> list[str]:
    """vLLM's OpenAI server for the base (named ``base_name``) plus each adapter as a LoRA module."""
    argv = [str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(base_path),
            "--served-model-name", base_name, "--host", host, "--port", str(port),
            "--tensor-parallel-size", str(max(1, len(gpus or [])))]
    if adapters:
        argv += ["--enable-lora", "--max-lora-rank", str(max_lora_rank), "--max-loras", str(len(adapters)),
                 "--lora-modules", *[f"{name}={path}" for name, path in adapters.items()]]
    if api_key:
        argv += ["--api-key", api_key]
    return argv


def max_lora_rank(adapter_paths) -> int:
    """The largest ``r`` among the adapters, rounded up to a rank vLLM accepts."""
    ranks = [int((workspace.read_json(Path(p) / "adapter_config.json", {}) or {}).get("r", 8)) for p in adapter_paths]
    need = max(ranks, default=8)
    return next((r for r in (8, 16, 32, 64, 128, 256, 320, 512) if r >= need), need)


def describe_env() -> dict:
    """For the Serve page: where the venv is and whether vLLM is there."""
    meta = workspace.read_json(venv_dir() / "workbench.json", {}) or {}
    return {"venv": str(venv_dir()), "exists": venv_python().is_file(), "spec": meta.get("spec"),
            "spec_env": VLLM_PIP_SPEC_ENV}

