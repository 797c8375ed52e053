"""Benchmark: answer with many models at once (mixed-adapter batches) vs one prompt and one model at a time.

Builds (once, offline) a Llama-shaped model of about 110M parameters from config and 4 random LoRA
adapters (bench_compare.setup), then, each mode in its own subprocess:

- ``batched``: load the base once; base + 4 checkpoints × 8 prompts = 40 rows answered by
  core.chat.batch.generate_many in mixed-adapter batches (what Compare / the scoreboard do now);
- ``switching``: load the base once; every model answers every prompt one at a time with the
  adapter switched by name (Compare before this change);
- ``fresh``: one new Python process per model that imports the stack, loads the base (+ adapter)
  and answers the 8 prompts one at a time (timed from outside: process start included);
- ``side`` / ``arena``: the time until every pane's answer is finished when base + 1 (side by side)
  or base + 4 (arena) stream from one batched generation (core.chat.batch.stream_many), against the
  time of one answer alone, same prompt and length.

Greedy decoding everywhere; the batched answers are checked against the switching ones.

    PYTHONPATH=. python bench/bench_batch_generate.py --workdir /tmp/bench_batch --max-new-tokens 24

Prints one JSON object; progress on stderr. Note the machine load (``uptime``) with the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_compare import PROMPTS, run_child, setup  # noqa: E402 - the shared model + adapters builder, child runner


def _settings(max_new_tokens: int):
    from core.chat.generate import GenerationSettings

    return GenerationSettings(max_new_tokens=max_new_tokens, temperature=0.0, repetition_penalty=1.0)


def _messages(prompt: str) -> list[dict]:
    return [{"role": "user", "content": prompt}]


def run_mode(mode: str, model: str, adapters: list[str], n_prompts: int, max_new_tokens: int,
             dtype: str = "float32") -> dict:
    """One mode in this process (the base is loaded once, outside the timed part but reported)."""
    import torch

    from core.chat.batch import Request, generate_many, stream_many
    from core.chat.generate import generate_reply
    from core.models.loading import load_base

    torch.set_num_threads(os.cpu_count() or 1)
    settings = _settings(max_new_tokens)
    prompts = PROMPTS[:n_prompts]
    started = time.perf_counter()
    lm = load_base(model)
    for adapter in adapters:
        lm.attach(adapter)
    if dtype != "float32":  # what the matrix products cost at another precision (the app uses float32 on CPU)
        lm.model.to(getattr(torch, dtype))
    load_seconds = time.perf_counter() - started
    models = [None, *adapters]
    weights = next(lm.model.parameters())
    out: dict = {"mode": mode, "load_seconds": round(load_seconds, 2), "loaded_as": f"{weights.dtype} on {weights.device}"}
    t = time.perf_counter()
    if mode == "batched":
        requests = [Request(_messages(p), a) for a in models for p in prompts]
        answers = generate_many(lm, requests, settings, batch_rows=len(requests))
        out["answers"] = answers
    elif mode in ("switching", "single"):
        out["answers"] = [generate_reply(lm, _messages(p), settings, adapter=a) for a in models for p in prompts]
    elif mode in ("side", "arena"):
        panes = models[:2] if mode == "side" else models
        prompt = prompts[0]

        def finish_time(rows: list) -> tuple[float, list[str]]:
            texts = ["" for _ in rows]
            begun = time.perf_counter()
            for event in stream_many(lm, [Request(_messages(prompt), a) for a in rows], settings):
                texts[event.row] += event.text
            return time.perf_counter() - begun, texts

        finish_time([adapters[0]])  # warm-up: first-call allocations are not the mode's cost
        alone, alone_text = finish_time([adapters[0]])
        together, texts = finish_time(panes)
        out.update(alone_seconds=round(alone, 2), together_seconds=round(together, 2), panes=len(panes),
                   ratio=round(together / alone, 2), same_answer=texts[1] == alone_text[0],
                   tokens=[len(lm.tokenizer(x, add_special_tokens=False)["input_ids"]) for x in texts])
    out["seconds"] = round(time.perf_counter() - t, 2)
    return out


def child(mode: str, info: dict, args, adapters: list[str] | None = None) -> dict:
    return run_child(mode, [sys.executable, __file__, "--child", mode, "--workdir", args.workdir,
                            "--prompts", str(args.prompts), "--max-new-tokens", str(args.max_new_tokens),
                            "--dtype", args.dtype,
                            "--info", json.dumps({**info, "adapters": info["adapters"] if adapters is None else adapters})],
                     args.workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/bench_batch")
    parser.add_argument("--model-name", default="bench-110m")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=10)
    parser.add_argument("--intermediate", type=int, default=2816)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--checkpoints", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32",
                        help="cast the loaded model (the app loads float32 on a CPU)")
    parser.add_argument("--modes", nargs="+", default=["many", "side", "arena"], choices=["many", "side", "arena"],
                        help="many = batched vs switching vs a fresh process per model")
    parser.add_argument("--child", choices=["batched", "switching", "single", "side", "arena"], help=argparse.SUPPRESS)
    parser.add_argument("--info", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    os.environ["WORKBENCH_HOME"] = str(Path(args.workdir) / "workspace")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.child:
        info = json.loads(args.info)
        print(json.dumps(run_mode(args.child, info["model"], info["adapters"], args.prompts, args.max_new_tokens,
                                  args.dtype), ensure_ascii=False))
        return 0

    info = setup(args)
    for shard in Path(info["model"]).glob("*.safetensors"):  # warm the page cache for every mode alike
        with open(shard, "rb") as fh:
            while fh.read(64 << 20):
                pass
    load_before = os.getloadavg()
    report: dict = {
        "model": {"parameters": info["parameters"], "hidden_size": info["hidden_size"], "layers": info["layers"],
                  "loaded_as": None},
        "models": len(info["adapters"]) + 1, "prompts": args.prompts, "max_new_tokens": args.max_new_tokens,
    }
    if "many" in args.modes:
        batched = child("batched", info, args)
        report["model"]["loaded_as"] = batched["loaded_as"]
        switching = child("switching", info, args)
        fresh_started, fresh_answers = time.perf_counter(), []
        for adapter in [None, *info["adapters"]]:
            fresh_answers += child("single", info, args, adapters=[adapter] if adapter else [])["answers"]
        fresh_seconds = time.perf_counter() - fresh_started
        report.update({
            "batched_seconds": batched["seconds"], "batched_wall_seconds": batched["wall_seconds"],
            "switching_seconds": switching["seconds"], "switching_wall_seconds": switching["wall_seconds"],
            "fresh_process_seconds": round(fresh_seconds, 2),
            "speedup_vs_switching": round(switching["seconds"] / batched["seconds"], 2),
            "speedup_vs_fresh_process": round(fresh_seconds / batched["wall_seconds"], 2),  # both with process start
            "same_answers_batched_vs_switching": batched["answers"] == switching["answers"],
            "same_answers_switching_vs_fresh": switching["answers"] == fresh_answers,
        })
    for mode, key in (("side", "side_by_side"), ("arena", "arena")):
        if mode in args.modes:
            panes = child(mode, info, args)
            report["model"]["loaded_as"] = panes["loaded_as"]
            report[key] = {k: panes[k] for k in ("alone_seconds", "together_seconds", "ratio", "panes", "tokens",
                                                  "same_answer")}
    report.update({"cpu_count": os.cpu_count(), "load_average_before": [round(x, 1) for x in load_before],
                   "load_average_after": [round(x, 1) for x in os.getloadavg()]})
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
