"""The server process: ``python -m core.serve.worker SERVE_DIR`` (started by core.serve.server).

transformers engine: merge each checkpoint into exports/ (cached), then run ``transformers serve``'s
own FastAPI app in this process, behind a small ASGI guard that (1) checks the API key, (2) maps the
served names (``demo-tiny``, ``RUN/checkpoint-N``) to the model folders transformers loads, and (3)
answers ``/v1/models`` with those names. Every model is loaded once before the state says
``running``. vllm engine: create its venv on first use, then run vLLM's OpenAI server as a child.
It holds its folder's lock (core.jobs) for its whole life. SIGTERM stops the engine, frees the port
and ends in ``stopped``; any failure ends in ``failed`` with the user's message and the log.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from core import jobs
from core.errors import UserError
from core.serve import server

READY_TIMEOUT_S = 900
OPEN_PATHS = ("/health",)  # answered without an API key (liveness probes)


class Stop(Exception):
    """SIGTERM arrived: stop serving."""


def api_guard(app, names: dict[str, str], api_key: str):
    """ASGI wrapper around transformers' app: API key, served names -> folders, our /v1/models."""

    async def send_json(send, code: int, payload: dict):
        body = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": code,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        path = scope.get("path", "")
        if api_key and path not in OPEN_PATHS:
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization", b"").decode() != f"Bearer {api_key}":
                return await send_json(send, 401, {"error": {"message": "Invalid or missing API key.",
                                                             "type": "invalid_request_error", "code": 401}})
        if path == "/v1/models" and scope.get("method") == "GET":
            return await send_json(send, 200, {"object": "list", "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "workbench"} for name in names]})
        if scope.get("method") != "POST":
            return await app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "model" in payload:
            if payload["model"] not in names:
                return await send_json(send, 404, {"error": {
                    "message": f"Model {payload['model']!r} is not served here; served: {', '.join(names)}.",
                    "type": "invalid_request_error", "code": 404}})
            payload["model"] = names[payload["model"]]
            body = json.dumps(payload).encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-length"]
        scope = dict(scope, headers=headers + [(b"content-length", str(len(body)).encode())])
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await app(scope, replay, send)

    return guarded


def _wait_http(url: str, headers: dict, timeout: float, alive=lambda: True) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and alive():
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise UserError("err.serve.not_ready", seconds=int(timeout), hint="err.serve.crashed.hint")


def _warm(base_url: str, names: list[str], api_key: str) -> None:
    """One token from every model, so each is loaded before the server says it is running."""
    for name in names:
        body = json.dumps({"model": name, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1,
                           "temperature": 0}).encode()
        request = urllib.request.Request(f"{base_url}/chat/completions", data=body, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {api_key or 'none'}"})
        with urllib.request.urlopen(request, timeout=READY_TIMEOUT_S) as answer:
            answer.read()


def run_transformers(request: server.ServeRequest, status: server.ServeStatus) -> None:
    import uvicorn

    from core.models.registry import resolve_model

    base = resolve_model(request.model)
    names = {status.models[0]: str(base)}
    for spec in request.adapters:
        status.phase, status.detail = "merging", spec
        server.write_status(status)
        names[spec] = str(server.merged_for_serving(base, spec))
    status.phase, status.detail = "loading", ""
    server.write_status(status)

    class GuardedConfig(uvicorn.Config):
        # transformers serve builds its FastAPI app and hands it to uvicorn.Config; wrapping it there is the
        # one seam that adds the API key and our model names without copying transformers' server code.
        def __init__(self, app, *args, **kwargs):
            super().__init__(api_guard(app, names, request.api_key), *args, **kwargs)

    uvicorn.Config = GuardedConfig
    from transformers.cli.serve import Serve

    serving = Serve(host=request.host, port=request.port, model_timeout=-1, non_blocking=True, log_level="info")
    try:
        base_url = status.url
        _wait_http(f"{base_url}/models", {"Authorization": f"Bearer {request.api_key or 'none'}"}, 120,
                   alive=serving._thread.is_alive)
        _warm(base_url, list(names), request.api_key)
        status.phase, status.detail, status.ready = "serving", "", time.time()
        server.write_status(status)
        print(f"serving {', '.join(names)} at {base_url}", flush=True)
        while serving._thread.is_alive():
            serving._thread.join(timeout=1)
        raise UserError("err.serve.engine_exited", tail=server.log_tail(status.serve_id, 3),
                        hint="err.serve.crashed.hint")
    finally:
        serving.server.should_exit = True
        serving._thread.join(timeout=10)


def run_vllm(request: server.ServeRequest, status: server.ServeStatus, log_path: Path) -> None:
    from core.models.registry import resolve_model
    from core.serve import vllm_env
    from core.train.runs import resolve_adapter

    def on_step(number: int, total: int, what: str) -> None:
        status.phase, status.detail = "installing", f"{number}/{total}: {what}"
        server.write_status(status)

    python = vllm_env.ensure_vllm_env(log_path, on_step)
    status.phase, status.detail = "loading", ""
    server.write_status(status)
    adapters = {spec: resolve_adapter(spec) for spec in request.adapters}
    argv = vllm_env.vllm_command(python, resolve_model(request.model), status.models[0], adapters,
                                 host=request.host, port=request.port, gpus=request.gpus, api_key=request.api_key,
                                 max_lora_rank=vllm_env.max_lora_rank(adapters.values()))
    env = dict(os.environ)
    if request.gpus:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(request.gpus)
    print("$ " + " ".join(argv), flush=True)
    child = subprocess.Popen(argv, env=env, stdout=sys.stdout, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_http(f"{status.url}/models", {"Authorization": f"Bearer {request.api_key or 'none'}"},
                   READY_TIMEOUT_S, alive=lambda: child.poll() is None)
        status.phase, status.detail, status.ready = "serving", "", time.time()
        server.write_status(status)
        code = child.wait()
        raise UserError("err.serve.engine_exited", tail=f"vLLM exit code {code}; " + server.log_tail(status.serve_id, 3),
                        hint="err.serve.crashed.hint")
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


def main(folder: Path) -> int:
    try:
        jobs.hold_lock(folder)  # first: one process per server folder
    except jobs.JobBusy as busy:
        print(busy, file=sys.stderr)
        return 3
    serve_id = folder.name
    request = server.read_request(serve_id)
    status = jobs.read_status(folder, server.ServeStatus)
    status.status, status.phase = "running", "loading"
    status.pid, status.pid_started, status.started = os.getpid(), jobs.process_started(os.getpid()), time.time()
    server.write_status(status)

    def on_term(signum, frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    try:
        if status.engine == "vllm":
            run_vllm(request, status, folder / server.LOG_FILE)
        else:
            run_transformers(request, status)
    except Stop:
        status.status = "stopped"
    except UserError as err:
        status.fail(err)
    except Exception as err:  # noqa: BLE001 - a server must always end with a status the page can show
        import traceback

        traceback.print_exc()
        status.fail(UserError("err.serve.crashed", tail=f"{type(err).__name__}: {err}"[:300],
                              hint="err.serve.crashed.hint"))
    status.finished, status.phase, status.detail = time.time(), "", ""
    server.write_status(status)
    print(f"server finished: {status.status}", flush=True)
    return 0 if status.status == "stopped" else 1


if __name__ == "__main__":
    code = main(Path(sys.argv[1]))
    sys.stdout.flush()
    os._exit(code)  # now: a uvicorn thread still closing keep-alive connections must not keep the port
