"""Start, find, stop and check OpenAI-compatible servers (the UI and CLI side; the process is worker.py).

A server is a core.jobs background job: a folder ``workspace/serve/<serve_id>/`` (request.json,
status.json, serve.log) and one process started by the one launcher, holding the folder's lock, so it
outlives the page and a restart of the UI. Engines:

- ``transformers``: ``transformers serve`` (in our venv; CPU or GPU). It serves model folders, so a
  checkpoint is first merged into ``exports/serve-<run>-<checkpoint>-<hash>`` (cached by the
  adapter's content hash: the same checkpoint is merged once).
- ``vllm``: on a GPU, base + checkpoints as LoRA modules in one server, from its own venv.

``auto`` picks vLLM when a GPU is present, else transformers. The server binds 127.0.0.1 unless a
host is given; beyond loopback an API key is required.

    status = start_server(ServeRequest(model="demo-tiny", adapters=["RUN/checkpoint-10"]))
    wait_ready(status.serve_id).url      # http://127.0.0.1:8000/v1
"""
from __future__ import annotations

import hashlib
import ipaddress
import os
import signal
import socket
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from core import jobs, workspace
from core.errors import UserError

ENGINES = ("auto", "vllm", "transformers")
REQUEST_FILE, STATUS_FILE, LOG_FILE = "request.json", jobs.STATUS_FILE, "serve.log"
STOP_FILE = "stop.requested"  # written by stop_server: a server killed after it is "stopped", not "failed"
DEFAULT_PORT = 8000
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MERGE_PREFIX = "serve-"  # exports/serve-<adapter>-<hash>: merged copies made for transformers serve


@dataclass
class ServeRequest:
    model: str
    adapters: list[str] = field(default_factory=list)  # RUN or RUN/checkpoint-N
    engine: str = "auto"
    host: str = "127.0.0.1"
    port: int = 0  # 0 = the first free port from 8000
    api_key: str = ""
    gpus: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ServeStatus(jobs.JobStatus):
    """status (core.jobs): queued -> running -> stopping -> stopped | failed. While running, ``phase``
    says what it does (merging, installing vLLM, loading, serving) and ``ready`` when it first answered."""

    ID_FIELD: ClassVar[str] = "serve_id"
    LOG_FILE: ClassVar[str] = LOG_FILE
    serve_id: str
    engine: str = ""
    host: str = "127.0.0.1"
    port: int = 0
    models: list[str] = field(default_factory=list)
    phase: str = ""  # merging | installing | loading | serving
    detail: str = ""  # e.g. which checkpoint is being merged, the vLLM install step
    ready: float | None = None
    message: dict | None = None  # {"key", "params", "hint"}: the error (English in ``error``) in any language

    @property
    def state(self) -> str:
        """What the pages and the CLI call it: starting | installing | running | stopping | stopped | failed."""
        if self.status == "queued":
            return "starting"
        if self.status == "running":
            return "running" if self.ready else ("installing" if self.phase == "installing" else "starting")
        return self.status

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}/v1"

    def user_error(self) -> UserError | None:
        if self.message:
            return UserError(self.message["key"], hint=self.message.get("hint"), **(self.message.get("params") or {}))
        if self.error:
            return UserError("err.serve.crashed", tail=self.error, hint="err.serve.crashed.hint")
        return None

    def fail(self, err: UserError) -> None:
        self.status = "failed"
        self.message = {"key": err.key, "hint": err.hint.key if err.hint is not None else None,
                        "params": {k: v for k, v in err.params.items() if isinstance(v, (str, int, float))}}
        self.error, self.hint = err.message.render("en"), err.hint.render("en") if err.hint is not None else None

    def to_dict(self) -> dict:
        return super().to_dict() | {"url": self.url, "state": self.state}


# --- folders ----------------------------------------------------------------------------------

def serve_root() -> Path:
    path = workspace.home() / "serve"
    path.mkdir(parents=True, exist_ok=True)
    return path


def serve_dir(serve_id: str) -> Path:
    return serve_root() / workspace.check_name(serve_id, "server id")


def write_status(status: ServeStatus) -> None:
    """Only the server process writes its status (and the starter, its first one)."""
    jobs.write_status(serve_dir(status.serve_id), status)


def read_request(serve_id: str) -> ServeRequest:
    return ServeRequest(**workspace.read_json(serve_dir(serve_id) / REQUEST_FILE))


def read_status(serve_id: str) -> ServeStatus:
    """The server's status as it really is (a vanished process reads as failed, or stopped if asked to); never writes."""
    folder = serve_dir(serve_id)
    if not folder.is_dir():
        raise UserError("err.serve.unknown", serve_id=serve_id, hint="err.serve.unknown.hint")
    return jobs.reconcile(folder, jobs.read_status(folder, ServeStatus), vanished=_vanished)


def _vanished(status: ServeStatus, tail: str, returncode: int | None) -> ServeStatus:
    verdict = replace(status)
    if (serve_dir(status.serve_id) / STOP_FILE).exists():
        verdict.status = "stopped"
    else:
        verdict.fail(UserError("err.serve.crashed", tail=" ".join(tail.splitlines()[-3:])[-300:],
                               hint="err.serve.crashed.hint"))
    return verdict


def list_servers() -> list[ServeStatus]:
    return [read_status(p.name) for p in sorted(serve_root().iterdir(), reverse=True) if (p / STATUS_FILE).is_file()]


def log_tail(serve_id: str, lines: int = 40) -> str:
    try:
        text = (serve_dir(serve_id) / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# --- checks before starting -------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # As servers bind (uvicorn, vLLM): closed connections in TIME_WAIT do not make a port busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(host: str, start: int = DEFAULT_PORT) -> int:
    taken = {s.port for s in list_servers() if s.live}
    for port in range(start, start + 200):
        if port not in taken and port_free(host, port):
            return port
    raise UserError("err.serve.no_free_port", start=start, hint="err.serve.port_in_use.hint")


def choose_engine(engine: str) -> str:
    if engine not in ENGINES:
        raise UserError("err.serve.bad_engine", engine=engine, field="engine")
    if engine != "auto":
        return engine
    from core.system import gpus

    return "vllm" if gpus() else "transformers"


def adapter_name(spec: str) -> str:
    """The model name a checkpoint is served under: the spec as typed, e.g. ``RUN/checkpoint-20``."""
    return spec.strip().strip("/")


def adapter_hash(adapter: Path, base: Path) -> str:
    digest = hashlib.sha256(str(base.resolve()).encode())
    for name in sorted(p.name for p in adapter.iterdir() if p.name.startswith("adapter_")):
        digest.update(name.encode())
        digest.update((adapter / name).read_bytes())
    return digest.hexdigest()[:12]


def merged_for_serving(base: Path, spec: str, progress=None) -> Path:
    """The base with the checkpoint merged in, under exports/ (reused when the adapter is unchanged)."""
    from core.models.export import merge_adapter
    from core.train.runs import resolve_adapter

    adapter = resolve_adapter(spec)
    slug = adapter_name(spec).replace("/", "-")[:60]
    name = f"{MERGE_PREFIX}{slug}-{adapter_hash(adapter, base)}"
    target = workspace.exports_dir() / name
    if (target / "config.json").is_file():
        return target
    return Path(merge_adapter(base, adapter, name=name, progress=progress).path)


def check_request(request: ServeRequest) -> ServeRequest:
    """Everything that can be refused before a process starts, with the user's message."""
    from core.models.registry import resolve_model
    from core.train.runs import resolve_adapter

    resolve_model(request.model)
    for spec in request.adapters:
        resolve_adapter(spec)
    engine = choose_engine(request.engine)
    host = (request.host or "127.0.0.1").strip()
    if not is_loopback(host) and not request.api_key:
        raise UserError("err.serve.key_required", host=host, field="api_key", hint="err.serve.key_required.hint")
    if request.port and not 0 < request.port < 65536:
        raise UserError("err.serve.bad_port", port=request.port, field="port")
    if request.port and not port_free(host, request.port):
        raise UserError("err.serve.port_in_use", port=request.port, host=host, field="port",
                        hint="err.serve.port_in_use.hint")
    port = request.port or pick_port(host)
    if engine == "vllm":
        from core.system import gpus

        if not gpus():
            raise UserError("err.serve.vllm_needs_gpu", field="engine", hint="err.serve.vllm_needs_gpu.hint")
        check_fits_gpu(request.model)
    return ServeRequest(request.model, [adapter_name(a) for a in request.adapters], engine, host, port,
                        request.api_key, list(request.gpus))


def check_fits_gpu(model: str) -> None:
    """Refuse a model whose 16-bit weights cannot fit the GPU, from the estimate, before anything starts."""
    from core.models.info import chat_memory_bytes
    from core.models.registry import human_size, resolve_model
    from core.train.memory import model_shape, target_device

    device, mem = target_device("")
    need = chat_memory_bytes(model_shape(resolve_model(model)), "16bit", on_gpu=device == "cuda")
    if device == "cuda" and need > mem.total_bytes:
        raise UserError("err.serve.too_big", model=model, need=human_size(need), device=mem.name,
                        have=human_size(mem.total_bytes), field="model", hint="err.serve.too_big.hint")


# --- start / wait / stop ----------------------------------------------------------------------

def start_server(request: ServeRequest) -> ServeStatus:
    """Check, write the job folder and start the server process; returns at once (state ``starting``)."""
    request = check_request(request)
    base_name = Path(request.model).name if os.sep in request.model else request.model
    serve_id = jobs.free_id(serve_root(), time.strftime("%Y%m%d-%H%M%S") + f"-{request.port}")
    folder = serve_root() / serve_id
    folder.mkdir(parents=True)
    workspace.atomic_write_json(folder / REQUEST_FILE, asdict(request))
    os.chmod(folder / REQUEST_FILE, 0o600)  # it may hold the API key
    status = ServeStatus(serve_id=serve_id, engine=request.engine, host=request.host, port=request.port,
                         models=[base_name] + request.adapters)
    write_status(status)
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    jobs.launch(folder, [sys.executable, "-m", "core.serve.worker", str(folder)], log_name=LOG_FILE, env=env,
                cwd=PROJECT_ROOT)
    return status


def wait_ready(serve_id: str, timeout: float = 600, poll: float = 0.3) -> ServeStatus:
    """Wait until the server answers (running) or ends (failed/stopped)."""
    deadline = time.time() + timeout
    while True:
        jobs.reap()
        status = read_status(serve_id)
        if status.state in ("running", "failed", "stopped", "unreadable") or time.time() > deadline:
            return status
        time.sleep(poll)


def stop_server(serve_id: str, timeout: float = 30) -> ServeStatus:
    """SIGTERM to the server's session (it stops the engine and frees the port); SIGKILL if it hangs.
    Returns once the process is gone and its port is free."""
    folder = serve_dir(serve_id)
    status = read_status(serve_id)
    if not status.live:
        return status
    workspace.atomic_write_text(folder / STOP_FILE, f"{time.time()}\n")
    jobs.signal_job(folder, status, signal.SIGTERM, group=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs.reap()
        status = read_status(serve_id)
        # Done when the process is gone and the kernel has let go of its port (its other threads may
        # still be exiting for a moment after the main one became a zombie).
        if not status.live and not jobs.process_alive(*jobs.job_process(folder, status)) and port_free(
                status.host, status.port):
            return status
        time.sleep(0.1)
    jobs.signal_job(folder, status, signal.SIGKILL, group=True)
    time.sleep(0.3)
    jobs.reap()
    return read_status(serve_id)  # killed: "stopped" (it was asked to), and the kernel closed its sockets


# --- using a server ---------------------------------------------------------------------------

def client(serve_id: str, timeout: float = 120):
    """An ``openai.OpenAI`` client for a running server."""
    from openai import OpenAI

    status = read_status(serve_id)
    if status.state != "running":
        raise UserError("err.serve.not_running", serve_id=serve_id, state=status.state,
                        hint="err.serve.not_running.hint")
    key = read_request(serve_id).api_key or "none"
    return OpenAI(base_url=status.url, api_key=key, timeout=timeout, max_retries=0)


def api_reply(serve_id: str, model: str, messages: list[dict], max_tokens: int = 64) -> str:
    """One greedy reply through the server's chat completions API."""
    import openai

    try:
        answer = client(serve_id).chat.completions.create(model=model, messages=messages, temperature=0,
                                                          max_tokens=max_tokens)
    except (openai.APIConnectionError, openai.APIStatusError) as err:
        raise UserError("err.serve.api_error", serve_id=serve_id, detail=str(err)[:300],
                        hint="err.serve.crashed.hint") from err
    return answer.choices[0].message.content or ""


def parity_check(serve_id: str, prompt: str, model: str = "", max_tokens: int = 64) -> dict:
    """The same prompt, greedy, through the API and through the workbench's own chat: equal or not."""
    from core.chat.generate import GenerationSettings, generate_reply
    from core.models.loading import load_base
    from core.train.runs import resolve_adapter

    status = read_status(serve_id)
    request = read_request(serve_id)
    model = model or status.models[-1]
    if model not in status.models:
        raise UserError("err.serve.unknown_model", model=model, models=", ".join(status.models), field="model")
    messages = [{"role": "user", "content": prompt}]
    api_text = api_reply(serve_id, model, messages, max_tokens)
    adapter = resolve_adapter(model) if model in request.adapters else None
    local = load_base(request.model)
    settings = GenerationSettings(max_new_tokens=max_tokens, temperature=0.0, repetition_penalty=1.0)
    local_text = generate_reply(local, messages, settings, adapter=adapter)
    return {"model": model, "prompt": prompt, "api_text": api_text, "local_text": local_text,
            "equal": api_text.strip() == local_text.strip()}


def running_targets() -> list[tuple[str, str]]:
    """(serve_id, model name) for every model of every running server: what Chat can talk to."""
    return [(s.serve_id, m) for s in list_servers() if s.state == "running" for m in s.models]


def stream_api_reply(serve_id: str, model: str, messages: list[dict], settings):
    """Stream a reply from a running server with the chat's GenerationSettings (pieces of text)."""
    import openai

    kwargs = {"temperature": settings.temperature, "max_tokens": settings.max_new_tokens}
    if settings.temperature > 0:
        kwargs["top_p"] = settings.top_p
    if settings.system:
        messages = [{"role": "system", "content": settings.system}] + messages
    try:
        for chunk in client(serve_id).chat.completions.create(model=model, messages=messages, stream=True, **kwargs):
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content
    except (openai.APIConnectionError, openai.APIStatusError) as err:
        raise UserError("err.serve.api_error", serve_id=serve_id, detail=str(err)[:300],
                        hint="err.serve.crashed.hint") from err
