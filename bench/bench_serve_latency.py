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
    print(f"model: hidden {args.hidden} x {args.layers} layers, {params / 1e6:.1f} M params, fp32 CPU; "
          f"{args.tokens} new tokens, median of {args.repeats}; load avg {os.getloadavg()[0]:.1f}")
    summary = {}
    for way, rows in results.items():
        ttft = statistics.median(r[0] for r in rows)
        # Both generate exactly --tokens tokens (no EOS); decode rate = the tokens after the first / their time.
        rate = statistics.median((args.tokens - 1) / (r[2] - r[0]) for r in rows if r[2] > r[0])
        summary[way] = (ttft, rate)
        print(f"{way:6s} TTFT {ttft * 1000:7.1f} ms   decode {rate:6.1f} tokens/s   "
              f"(reply {len(rows[0][1])} chars, same text both ways: {rows[0][1] == results['local'][0][1]})")
    (api_ttft, api_rate), (local_ttft, local_rate) = summary["api"], summary["local"]
    print(f"API vs in-app: TTFT {100 * (api_ttft / local_ttft - 1):+.1f} %, "
          f"throughput {100 * (api_rate / local_rate - 1):+.1f} %")
    first = statistics.median(floor)
    print(f"in-process floor (template + prefill + one token): {first * 1000:.1f} ms; "
          f"the API's first token comes {1000 * (api_ttft - first):+.1f} ms after it ({100 * (api_ttft / first - 1):+.1f} %)")


if __name__ == "__main__":
    main()
