"""CLI: `serve start|status|stop|list|check` — OpenAI-compatible servers as background jobs.

    python -m core serve start --model demo-tiny --adapter RUN/checkpoint-10 --wait --json
    python -m core serve check SERVE_ID --prompt "你是谁？" --json
    python -m core serve stop SERVE_ID --json
"""
from __future__ import annotations

from core.cli import command


def _payload(status) -> dict:
    out = {"serve_id": status.serve_id, "url": status.url, "engine": status.engine, "models": status.models,
           "status": status.state}
    if status.user_error() is not None:
        out["error"] = str(status.user_error())
    return out


def register(sub) -> None:
    def start(args) -> dict:
        from core.serve import server

        status = server.start_server(server.ServeRequest(
            model=args.model, adapters=args.adapter or [], engine=args.engine, host=args.host, port=args.port,
            api_key=args.api_key or "", gpus=[g for g in (args.gpus or "").split(",") if g.strip()]))
        if args.wait:
            status = server.wait_ready(status.serve_id)
            if status.state == "failed" and status.user_error() is not None:
                raise status.user_error()
        return _payload(status)

    def status(args) -> dict:
        from core.serve.server import read_status

        return _payload(read_status(args.serve_id))

    def stop(args) -> dict:
        from core.serve.server import stop_server

        return _payload(stop_server(args.serve_id))

    def listing(args) -> dict:
        from core.serve.server import list_servers

        return {"servers": [_payload(s) for s in list_servers()]}

    def check(args) -> dict:
        from core.serve.server import parity_check

        return parity_check(args.serve_id, args.prompt, model=args.model or "", max_tokens=args.max_tokens)

    parser = sub.add_parser("serve", help="OpenAI-compatible servers (transformers serve, vLLM)",
                            description="OpenAI-compatible servers (transformers serve, vLLM)")
    actions = parser.add_subparsers(dest="serve_action", required=True)
    p = command(actions, "start", start, "serve a model and its checkpoints behind an OpenAI-compatible API")
    p.add_argument("--model", required=True, help="listed model name or folder (the base)")
    p.add_argument("--adapter", action="append", help="RUN or RUN/checkpoint-N; repeat for several")
    p.add_argument("--engine", choices=("auto", "vllm", "transformers"), default="auto")
    p.add_argument("--host", default="127.0.0.1", help="bind address (beyond loopback needs --api-key)")
    p.add_argument("--port", type=int, default=0, help="0 = the first free port from 8000")
    p.add_argument("--api-key", help="clients must send it as 'Authorization: Bearer KEY'")
    p.add_argument("--gpus", help="GPU ids for vLLM tensor parallelism, e.g. 0,1")
    p.add_argument("--wait", action="store_true", help="wait until the server answers")
    p = command(actions, "status", status, "state, URL and models of a server")
    p.add_argument("serve_id")
    p = command(actions, "stop", stop, "stop a server and free its port")
    p.add_argument("serve_id")
    command(actions, "list", listing, "all servers, live and ended")
    p = command(actions, "check", check, "parity: the same prompt greedy through the API and the in-app chat")
    p.add_argument("serve_id")
    p.add_argument("--prompt", required=True)
    p.add_argument("--model", help="served model name (default: the last one, i.e. the last checkpoint)")
    p.add_argument("--max-tokens", type=int, default=64)
