#!/usr/bin/env bash
# GPU check: on a CUDA machine, exercise the real GPU path end to end and write one JSON report.
#
#   bench/gpu_check.sh [REPORT.json]        (default bench/out/gpu_check.json; ~10 min on one GPU)
#
# Steps (each recorded as ok/failed with its time; a failure does not stop the later steps):
#   1. build a ~0.5B Llama-shaped model from config (random weights, demo tokenizer) into a
#      scratch workspace — nothing is downloaded;
#   2. QLoRA (4-bit NF4, bf16 compute) with packing: the worker's packing isolation self-check
#      runs first; tokens/s and the peak torch.cuda.max_memory_allocated (metrics.jsonl
#      "gpu_mem") are set against our memory estimate (`train estimate`); Liger / flash-attention
#      are used when installed (requirements-gpu.txt) and the log says which;
#   3. the side-by-side chat path: the same prompt answered by the base and by the adapter;
#   4. a two-checkpoint compare (BLEU/ROUGE-L/eval loss) of the run's checkpoints;
#   5. a served model through `python -m core serve start --engine vllm` when that command and
#      vLLM exist here; otherwise reported as "not available";
#   6. the timing targets a CPU cannot show (docs/BENCHMARKS.md): side by side and arena from one
#      batched generation against one answer alone (bench/bench_batch_generate.py --modes side
#      arena: ≤ 1.3× / ≤ 1.6×), and the OpenAI API against the in-app chat (bench/bench_serve_latency.py,
#      transformers serve: ≤ 10 %).
# GPU_CHECK_ALLOW_CPU=1 runs the same steps on a CPU with a tiny model (checks the script itself).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REPORT=${1:-bench/out/gpu_check.json}
mkdir -p "$(dirname "$REPORT")"
[ -f .venv/bin/activate ] && . .venv/bin/activate
export PYTHONPATH=$ROOT HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export WORKBENCH_HOME=${GPU_CHECK_HOME:-$(mktemp -d /tmp/gpu_check.XXXXXX)}
STEPS_DIR=$WORKBENCH_HOME/.gpu_check
mkdir -p "$STEPS_DIR"
MAX_STEPS=${GPU_CHECK_STEPS:-60}
LOG_STEPS=5

step() {  # step NAME COMMAND...: run it, keep its stdout (JSON) and stderr, record rc and seconds
    local name=$1; shift
    local start=$(date +%s%N)
    "$@" >"$STEPS_DIR/$name.out" 2>"$STEPS_DIR/$name.err"
    local rc=$?
    local seconds=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    echo "{\"rc\": $rc, \"seconds\": $seconds}" >"$STEPS_DIR/$name.rc"
    echo "[$name] rc=$rc" >&2
    return $rc
}

SIZE="hidden_size=1536, intermediate_size=4096, num_hidden_layers=20, num_attention_heads=16, num_key_value_heads=8"
PANES_SIZE=(--max-new-tokens 64)                       # bench_batch_generate's 114M model
SERVE_SIZE=(--hidden 2048 --layers 16 --repeats 5)     # ~1B Llama shape, random weights
if ! python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    if [ "${GPU_CHECK_ALLOW_CPU:-0}" != 1 ]; then
        echo '{"ok": false, "error": "no CUDA device: this check needs a GPU (torch.cuda.is_available() is False)"}' | tee "$REPORT"
        exit 1
    fi
    SIZE="hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2"
    MAX_STEPS=4
    LOG_STEPS=1
    PANES_SIZE=(--hidden 128 --layers 2 --intermediate 256 --heads 4 --kv-heads 2 --max-new-tokens 8)
    SERVE_SIZE=(--hidden 128 --layers 2 --tokens 16 --repeats 2)
fi
export GPU_CHECK_SIZE=$SIZE

step build python - <<'PY'
import json, os
from core import workspace
from core.models.demo import build_demo_model
size = {k.strip(): int(v) for k, v in (p.split("=") for p in os.environ["GPU_CHECK_SIZE"].split(","))}
path = build_demo_model(workspace.models_dir() / "llama-0.5b", max_position_embeddings=4096, **size)
from transformers import AutoConfig
cfg = AutoConfig.from_pretrained(path)
params = cfg.num_hidden_layers * (2 * cfg.hidden_size ** 2 + 2 * cfg.hidden_size * cfg.hidden_size // 2
                                  + 3 * cfg.hidden_size * cfg.intermediate_size) + 2 * cfg.vocab_size * cfg.hidden_size
print(json.dumps({"model": str(path), "parameters": params}))
PY

step data python -m core data assistant --name 小智 --author 张三 --n $((MAX_STEPS * 40)) --lang zh --out assistant --json

TRAIN_ARGS=(--model llama-0.5b --dataset assistant --preset xtuner-qlora --quantization 4bit --packing true
            --max-length 1024 --batch-size 4 --grad-accum 1 --max-steps "$MAX_STEPS" --save-steps $((MAX_STEPS / 2))
            --logging-steps "$LOG_STEPS" --eval-ratio 0.02 --eval-steps $((MAX_STEPS / 2)) --probe "你是谁？" --lr 2e-4)
step estimate python -m core train estimate "${TRAIN_ARGS[@]}" --json
step train python -m core train start "${TRAIN_ARGS[@]}" --wait --json
RUN_ID=$(python -c "import json,sys; print(json.load(open(sys.argv[1])).get('run_id',''))" "$STEPS_DIR/train.out" 2>/dev/null)

step chat_base python -m core chat --model llama-0.5b --prompt "你是谁？" --max-new-tokens 32 --json
step chat_adapter python -m core chat --model llama-0.5b --adapter "$RUN_ID" --prompt "你是谁？" --max-new-tokens 32 --json
CKPTS=$(python -c "
import json, sys
from core.train import runs
print(' '.join(f'{sys.argv[1]}/{c}' for c in runs.list_checkpoints(sys.argv[1])[-2:]))" "$RUN_ID" 2>/dev/null)
# shellcheck disable=SC2086
step compare python -m core compare --model llama-0.5b --adapters $CKPTS --eval-dataset assistant --eval-ratio 0.02 \
    --eval-loss --limit 8 --max-new-tokens 32 --quiet --json

if python -m core serve --help >/dev/null 2>&1 && python -c "import vllm" >/dev/null 2>&1; then
    step serve python -m core serve start --engine vllm --model llama-0.5b --adapter "$RUN_ID" --wait --json
    SERVE_ID=$(python -c "import json,sys; print(json.load(open(sys.argv[1])).get('serve_id',''))" "$STEPS_DIR/serve.out" 2>/dev/null)
    [ -n "$SERVE_ID" ] && step serve_stop python -m core serve stop "$SERVE_ID" --json
else
    echo '{"available": false, "reason": "not available: `python -m core serve` or vLLM is missing here"}' >"$STEPS_DIR/serve.out"
    echo '{"rc": null, "seconds": 0}' >"$STEPS_DIR/serve.rc"
fi

step panes python bench/bench_batch_generate.py --workdir "$WORKBENCH_HOME/panes" --modes side arena "${PANES_SIZE[@]}"
step serve_latency python bench/bench_serve_latency.py --json "${SERVE_SIZE[@]}"

python - "$STEPS_DIR" "$REPORT" "$RUN_ID" <<'PY'
import json, sys, platform
from pathlib import Path
steps_dir, report_path, run_id = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def load(path):
    """The step's JSON output; a library may print a line or two before it (DeepSpeed does)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    for start in [0] + [i + 1 for i, c in enumerate(text) if c == "\n" and text[i + 1:i + 2] == "{"]:
        try:
            return json.loads(text[start:])
        except ValueError:
            continue
    return None

steps, failures = {}, []
for rc_file in sorted(steps_dir.glob("*.rc")):
    name = rc_file.stem
    rc = load(rc_file) or {}
    out = load(steps_dir / f"{name}.out")
    steps[name] = {"rc": rc.get("rc"), "seconds": rc.get("seconds"), "result": out}
    if rc.get("rc") not in (0, None):
        err = (steps_dir / f"{name}.err").read_text(errors="replace")[-2000:]
        failures.append({"step": name, "rc": rc.get("rc"), "stderr_tail": err})
import torch
report = {"gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU dry run)", "torch": torch.__version__, "python": platform.python_version(),
          "run_id": run_id, "steps": steps, "failures": failures}
if run_id:
    from core.train import runs
    metrics = runs.read_metrics(run_id)
    speeds = [m["tokens_per_s"] for m in metrics if "tokens_per_s" in m]
    peak = max((m.get("gpu_mem", 0) for m in metrics), default=0)
    estimate = (steps.get("estimate", {}).get("result") or {}).get("total_bytes")
    log = (runs.run_dir(run_id) / runs.LOG_FILE).read_text(errors="replace")
    report.update(
        tokens_per_s_median=sorted(speeds)[len(speeds) // 2] if speeds else None,
        peak_max_memory_allocated_bytes=peak, estimate_bytes=estimate,
        estimate_error=(estimate - peak) / peak if estimate and peak else None,
        packing_check=[l for l in log.splitlines() if l.startswith("packing isolation check")],
        speed_notes=[l for l in log.splitlines() if l.startswith(("Liger kernels", "packed rows"))],
        final_loss=next((m["loss"] for m in reversed(metrics) if "loss" in m), None))
panes = steps.get("panes", {}).get("result") or {}
latency = steps.get("serve_latency", {}).get("result") or {}
report["targets"] = {  # the figures docs/BENCHMARKS.md waits for from a GPU
    "side_by_side_ratio": (panes.get("side_by_side") or {}).get("ratio"), "side_by_side_target": 1.3,
    "arena_ratio": (panes.get("arena") or {}).get("ratio"), "arena_target": 1.6,
    "api_ttft_vs_in_app_pct": latency.get("ttft_vs_in_app_pct"),
    "api_decode_vs_in_app_pct": latency.get("decode_vs_in_app_pct"), "api_target_pct": 10}
report["ok"] = not failures
report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2))
print(json.dumps({k: v for k, v in report.items() if k != "steps"}, ensure_ascii=False, indent=2))
PY
