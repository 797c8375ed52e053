"""Benchmark: compare N checkpoints with adapters switched on ONE loaded base vs reloading per checkpoint.

Builds (once, offline) a Llama-shaped model of about 0.5B parameters with
core.models.demo.build_demo_model, and N LoRA adapters for it (random, r=16 on all linear
layers, saved as runs/bench-run/checkpoint-N — the numbers they produce do not matter, only
the cost of using them). ``--quantization 4bit`` loads the base as the QLoRA runs trained it
(NF4, quantized while loading). Then, each in a fresh subprocess so peak memory is its own:

- ``switch``: load the base once and run core.chat.compare.run_compare over base + N adapters
  (since issue 13 all models answer together in mixed-adapter batches; see bench_batch_generate.py)
  (what the Compare page and ``python -m core compare`` do);
- ``reload``: for base and for each adapter, load the base again in the same process, attach
  that one adapter, answer the same prompts, free it;
- ``restart``: for base and for each adapter, a fresh Python process that imports the stack,
  loads the base (+ that adapter) and answers the same prompts — what today's workflow of
  editing the model path in a web_demo.py and rerunning it amounts to. Timed from outside,
  so interpreter start and imports count.

Both use greedy decoding on the same prompts; the answers are checked to be identical.

    PYTHONPATH=. python bench/bench_compare.py --workdir /tmp/bench_compare \\
        --hidden 1024 --layers 24 --intermediate 5632 --checkpoints 4 --prompts 4 --max-new-tokens 8

Prints one JSON object (times, speed-up, peak RSS per mode); progress on stderr.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ["Who are you?", "你是谁？", "请做一下自我介绍", "What is your name?", "今天天气怎么样？",
           "Please introduce yourself.", "Who made you?", "机器学习是什么？"]
RUN_ID = "bench-run"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def setup(args) -> dict:
    """Build the model and the adapters under WORKBENCH_HOME (skipped when present)."""
    from core import workspace
    from core.models.demo import build_demo_model

    model_path = workspace.models_dir() / args.model_name
    if not (model_path / "config.json").exists():
        log(f"building {args.model_name} (hidden {args.hidden}, layers {args.layers}) …")
        build_demo_model(model_path, hidden_size=args.hidden, num_hidden_layers=args.layers,
                         intermediate_size=args.intermediate, num_attention_heads=args.heads,
                         num_key_value_heads=args.kv_heads)
    adapters = []
    for i in range(1, args.checkpoints + 1):
        folder = workspace.runs_dir() / RUN_ID / f"checkpoint-{i * 100}"
        adapters.append(str(folder))
        if (folder / "adapter_config.json").exists():
            continue
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM

        log(f"making adapter {folder.name} …")
        torch.manual_seed(i)
        base = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=torch.float32)
        config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", init_lora_weights=False,
                            task_type="CAUSAL_LM")
        peft_model = get_peft_model(base, config)
        with torch.no_grad():  # small random updates so each checkpoint answers a little differently
            for name, param in peft_model.named_parameters():
                if "lora_B" in name:
                    param.mul_(0.01)
        peft_model.save_pretrained(str(folder))
        del peft_model, base
        gc.collect()
    config = json.loads((model_path / "config.json").read_text())
    from safetensors import safe_open

    params = 0
    for shard in model_path.glob("*.safetensors"):
        with safe_open(str(shard), "pt") as fh:
            for key in fh.keys():
                params += _numel(fh.get_slice(key).get_shape())
    return {"model": str(model_path), "adapters": adapters, "parameters": params,
            "weights_bytes": sum(f.stat().st_size for f in model_path.glob("*.safetensors")),
            "hidden_size": config["hidden_size"], "layers": config["num_hidden_layers"]}


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def run_mode(mode: str, model: str, adapters: list[str], n_prompts: int, max_new_tokens: int,
             quantization: str = "none") -> dict:
    """One mode in this process; returns times, answers and peak RSS."""
    import torch

    from core.chat import compare as C
    from core.chat.prompts import PromptItem
    from core.chat.generate import GenerationSettings, generate_reply
    from core.models.loading import load_base

    torch.set_num_threads(os.cpu_count() or 1)
    settings = GenerationSettings(max_new_tokens=max_new_tokens, temperature=0.0, repetition_penalty=1.0)
    prompts = [PromptItem(p) for p in PROMPTS[:n_prompts]]
    load_seconds = 0.0
    started = time.perf_counter()
    answers: dict[str, list[str]] = {}
    if mode == "single":  # one model per process (the "restart" mode runs this once per model)
        adapter = adapters[0] if adapters else None
        lm = load_base(model, quantization)
        if adapter:
            lm.attach(adapter)
        label = C.BASE_LABEL if adapter is None else C.adapter_column(adapter).label
        answers[label] = [generate_reply(lm, p.chat_messages(), settings, adapter=adapter) for p in prompts]
    elif mode == "switch":
        t = time.perf_counter()
        lm = load_base(model, quantization)
        load_seconds += time.perf_counter() - t
        result = C.run_compare(lm, prompts, adapters, settings)
        answers = {label: result.answers[label] for label in result.labels}
    else:
        for adapter in [None, *adapters]:
            t = time.perf_counter()
            lm = load_base(model, quantization)
            if adapter:
                lm.attach(adapter)
            load_seconds += time.perf_counter() - t
            label = C.BASE_LABEL if adapter is None else C.adapter_column(adapter).label
            answers[label] = [generate_reply(lm, p.chat_messages(), settings, adapter=adapter) for p in prompts]
            del lm
            gc.collect()
    total = time.perf_counter() - started
    return {"mode": mode, "seconds": round(total, 2), "load_seconds": round(load_seconds, 2),
            "peak_rss_bytes": peak_rss_bytes(), "answers": answers}


def run_child(mode: str, cmd: list[str], workdir: str) -> dict:
    """Run one mode in a fresh process (its last stdout line is a JSON object) and time it from outside."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_HOME=str(Path(workdir) / "workspace"))
    log(f"mode {mode} …")
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{out.stderr[-4000:]}")
    # wall time seen from outside: interpreter start and imports included
    return json.loads(out.stdout.strip().splitlines()[-1]) | {"wall_seconds": round(time.perf_counter() - started, 2)}


def child(mode: str, info: dict, args) -> dict:
    return run_child(mode, [sys.executable, __file__, "--child", mode, "--workdir", args.workdir,
                            "--prompts", str(args.prompts), "--max-new-tokens", str(args.max_new_tokens),
                            "--quantization", args.quantization, "--info", json.dumps(info)], args.workdir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="/tmp/bench_compare")
    parser.add_argument("--model-name", default="bench-0.5b")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--intermediate", type=int, default=5632)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--checkpoints", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--quantization", choices=["none", "4bit", "8bit"], default="none",
                        help="how both modes load the base (4bit = the QLoRA setting; quantizes at load)")
    parser.add_argument("--child", choices=["switch", "reload", "single"], help=argparse.SUPPRESS)
    parser.add_argument("--info", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    os.environ.setdefault("WORKBENCH_HOME", str(Path(args.workdir) / "workspace"))
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(ROOT))
    if args.child:
        info = json.loads(args.info)
        print(json.dumps(run_mode(args.child, info["model"], info["adapters"], args.prompts, args.max_new_tokens,
                                  args.quantization),
                         ensure_ascii=False))
        return 0

    os.environ["WORKBENCH_HOME"] = str(Path(args.workdir) / "workspace")
    info = setup(args)
    # Warm the page cache once so neither mode pays the cold first read of the weights.
    for shard in Path(info["model"]).glob("*.safetensors"):
        with open(shard, "rb") as fh:
            while fh.read(64 << 20):
                pass
    switch = child("switch", info, args)
    reload = child("reload", info, args)
    restart_started, restart_answers, restart_peak = time.perf_counter(), {}, 0
    for adapter in [None, *info["adapters"]]:
        one = child("single", {**info, "adapters": [adapter] if adapter else []}, args)
        restart_answers.update(one["answers"])
        restart_peak = max(restart_peak, one["peak_rss_bytes"])
    restart = {"seconds": round(time.perf_counter() - restart_started, 2), "peak_rss_bytes": restart_peak}
    same = switch.pop("answers") == reload.pop("answers") == restart_answers
    gib = 1024 ** 3
    report = {
        "model": {"parameters": info["parameters"], "weights_gib": round(info["weights_bytes"] / gib, 2),
                  "hidden_size": info["hidden_size"], "layers": info["layers"],
                  "loaded_as": "float32 (CPU)" if args.quantization == "none" else args.quantization},
        "checkpoints": len(info["adapters"]), "models_compared": len(info["adapters"]) + 1,
        "prompts": args.prompts, "max_new_tokens": args.max_new_tokens,
        "switch": {k: v for k, v in switch.items() if k != "mode"} | {"peak_rss_gib": round(switch["peak_rss_bytes"] / gib, 2)},
        "reload": {k: v for k, v in reload.items() if k != "mode"} | {"peak_rss_gib": round(reload["peak_rss_bytes"] / gib, 2)},
        "restart": restart | {"peak_rss_gib": round(restart_peak / gib, 2)},
        "speedup": round(reload["seconds"] / switch["seconds"], 2),
        "speedup_vs_restart": round(restart["seconds"] / switch["wall_seconds"], 2),  # both with process start
        "same_answers": same,
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
