"""Time to first token and tokens/s: through the OpenAI API (transformers serve) vs the in-app chat.

Builds a Llama-shaped model from config (random weights; default hidden 512 x 8 layers, ~40M params,
so the forward pass and not the HTTP stack dominates, as with real models), starts a server for it
with the workbench's own serve path, and streams the same greedy prompt N times both ways: through
the ``openai`` client (stream=True) and through core.chat.generate.stream_reply in this process.
Reports the median TTFT and decode tokens/s of each and the API's overhead. The in-app streamer
shows whole words, so its first piece can wait for a word boundary while the API streams token by
token; the in-process floor (template + prefill + one token, no streamer) is reported beside them.

    python bench/bench_serve_latency.py [--hidden 512 --layers 8 --tokens 128 --repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PROMPT = "Tell me about the weather today, please."
PAUSE_S = 1.0


def timed_stream(pieces) -> tuple[float, str, float]:
    """(seconds to the first piece, the text, seconds in all) of an iterator of text pieces."""
    start = time.perf_counter()
    first, text = None, []
    for piece in pieces:
        if piece:
            text.append(piece)
            if first is None:
                first = time.perf_counter() - start
    return first or 0.0, "".join(text), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object (for bench/gpu_check.sh)")
    args = parser.parse_args()
    os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="bench-serve-")
    from openai import OpenAI

    from core import workspace
    from core.chat.generate import GenerationSettings, generate_reply, stream_reply
    from core.models.demo import build_demo_model
    from core.models.loading import load_base
    from core.serve import server

    path = build_demo_model(workspace.models_dir() / "bench-model", hidden_size=args.hidden,
                            intermediate_size=4 * args.hidden, num_hidden_layers=args.layers)
    # No end-of-sequence token for the benchmark: every reply is exactly --tokens long both ways.
    for name in ("generation_config.json", "config.json"):
        config = workspace.read_json(path / name, {})
        config["eos_token_id"] = None
        workspace.atomic_write_json(path / name, config)
    messages = [{"role": "user", "content": PROMPT}]
    status = server.wait_ready(server.start_server(server.ServeRequest(model=str(path), engine="transformers")).serve_id)
    assert status.state == "running", status.error
    try:
        api = OpenAI(base_url=status.url, api_key="none", max_retries=0)

        def api_pieces():
            for chunk in api.chat.completions.create(model=status.models[0], messages=messages, stream=True,
                                                     temperature=0, max_tokens=args.tokens):
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

        lm = load_base(str(path))
        settings = GenerationSettings(max_new_tokens=args.tokens, temperature=0.0, repetition_penalty=1.0)
        one_token = GenerationSettings(max_new_tokens=1, temperature=0.0, repetition_penalty=1.0)
        results, floor = {"api": [], "local": []}, []
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            # A pause before each: the OpenMP threads of the process that just generated keep spinning
            # for a while and would slow the other one (two processes, two cores).
            time.sleep(PAUSE_S)
            results["api"].append(timed_stream(api_pieces()))
            time.sleep(PAUSE_S)
            results["local"].append(timed_stream(stream_reply(lm, messages, settings)))
            time.sleep(PAUSE_S)
            started = time.perf_counter()
            generate_reply(lm, messages, one_token)
            floor.append(time.perf_counter() - started)
    finally:
        server.stop_server(status.serve_id)
    params = sum(p.numel() for p in lm.model.parameters())
    summary = {way: {"ttft_ms": round(1000 * statistics.median(r[0] for r in rows), 1),
                     # both generate exactly --tokens tokens (no EOS): decode rate = the tokens after the first / their time
                     "decode_tokens_per_s": round(statistics.median((args.tokens - 1) / (r[2] - r[0])
                                                                    for r in rows if r[2] > r[0]), 1),
                     "reply_chars": len(rows[0][1])}
               for way, rows in results.items()}
    api, local = summary["api"], summary["local"]
    report = {"model": {"hidden": args.hidden, "layers": args.layers, "parameters": params,
                        "loaded_as": f"{next(lm.model.parameters()).dtype} on {lm.device}"},
              "tokens": args.tokens, "repeats": args.repeats, "api": api, "local": local,
              "floor_ms": round(1000 * statistics.median(floor), 1),
              "ttft_vs_in_app_pct": round(100 * (api["ttft_ms"] / local["ttft_ms"] - 1), 1),
              "decode_vs_in_app_pct": round(100 * (api["decode_tokens_per_s"] / local["decode_tokens_per_s"] - 1), 1),
              "same_text": results["api"][0][1] == results["local"][0][1], "load_average": round(os.getloadavg()[0], 1)}
    report["api_after_floor_ms"] = round(api["ttft_ms"] - report["floor_ms"], 1)
    if args.json:
        print(json.dumps(report))
        return
    print(f"model: hidden {args.hidden} x {args.layers} layers, {params / 1e6:.1f} M params, "
          f"{report['model']['loaded_as']}; {args.tokens} new tokens, median of {args.repeats}; "
          f"load avg {report['load_average']}")
    for way, row in summary.items():
        print(f"{way:6s} TTFT {row['ttft_ms']:7.1f} ms   decode {row['decode_tokens_per_s']:6.1f} tokens/s   "
              f"(reply {row['reply_chars']} chars)")
    print(f"same text both ways: {report['same_text']}")
    print(f"API vs in-app: TTFT {report['ttft_vs_in_app_pct']:+.1f} %, throughput {report['decode_vs_in_app_pct']:+.1f} %")
    print(f"in-process floor (template + prefill + one token): {report['floor_ms']:.1f} ms; the API's first token "
          f"comes {report['api_after_floor_ms']:+.1f} ms after it ({100 * (api['ttft_ms'] / report['floor_ms'] - 1):+.1f} %)")


if __name__ == "__main__":
    main()
