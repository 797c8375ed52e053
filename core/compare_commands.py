"""CLI: `compare` (checkpoints side by side on a prompt set, with scores) and `export merge|adapter-zip`.

    python -m core compare --model demo-tiny --adapters RUN/checkpoint-50 RUN/adapter \\
        --prompts prompts.jsonl --references --out results.csv --json
    python -m core compare --model demo-tiny --adapters RUN --eval-dataset assistant --eval-loss --json
    python -m core export merge --model demo-tiny --adapter RUN/checkpoint-100 --out /srv/merged --json
    python -m core export adapter-zip --adapter RUN/adapter --out adapter.zip --json

``--references`` alone reads reference answers from the prompts file (a reference/answer/output
column); ``--references FILE`` takes one reference per line from FILE. Progress goes to stderr.
"""
from __future__ import annotations

import sys

from core.chat.commands import add_generation_args, settings_from_args
from core.cli import command


def _stderr_progress(fraction: float, message: str) -> None:
    print(f"[{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)


def compare(args) -> dict:
    from pathlib import Path

    from core import workspace
    from core.chat import compare as C
    from core.errors import UserError
    from core.models.loading import load_base
    from core.models.registry import resolve_model

    if not args.prompts and not args.eval_dataset:
        raise UserError("err.chat.give_prompts", field="prompts", hint="err.chat.give_prompts.hint")
    model_path = resolve_model(args.model)
    columns = C.model_columns(args.adapters or [], include_base=not args.no_base)
    C.check_fits(model_path, [c.adapter for c in columns if c.adapter])  # before the slow load

    eval_rows = None
    eval_source = None
    if args.eval_dataset:
        eval_rows = C.eval_split_rows(args.eval_dataset, args.eval_ratio, args.seed)
        eval_source = {"dataset": args.eval_dataset, "eval_ratio": args.eval_ratio, "seed": args.seed,
                       "rows": len(eval_rows)}
    if args.prompts:
        refs = args.references if isinstance(args.references, str) else None
        prompts = C.read_prompt_file(args.prompts, refs)
        if not args.references:
            for item in prompts:
                item.reference = None
        elif not any(item.reference for item in prompts):
            raise UserError("err.chat.no_references", field="references", hint="err.chat.no_references.hint")
    else:
        prompts = C.prompts_from_rows(eval_rows, limit=args.limit)
        if not prompts:
            raise UserError("err.chat.eval_no_prompts", name=args.eval_dataset, field="dataset")
    if args.limit:
        prompts = prompts[:args.limit]

    settings = settings_from_args(args)
    lm = load_base(model_path, quantization=args.quantization)
    result = C.run_compare(lm, prompts, [c.adapter for c in columns if c.adapter], settings,
                           include_base=not args.no_base, eval_rows=eval_rows if args.eval_loss else None,
                           eval_source=eval_source if args.eval_loss else None,
                           progress=None if args.quiet else _stderr_progress)
    out = None
    if args.out:
        out = Path(args.out).expanduser().resolve()
        workspace.atomic_write_bytes(out, result.to_csv_bytes())
    saved = [] if args.no_save else C.save_result(result)
    return {
        "out": str(out) if out else None,
        "model": str(model_path),
        "models": result.labels,
        "prompts": len(result.prompts),
        "settings": result.settings,
        "metrics": {label: result.metrics.get(label, {}) for label in result.labels},
        "best": C.best_checkpoints(result),
        "differing_prompts": len(result.differing_prompts()),
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
        "saved": saved,
    }


def export_merge(args) -> dict:
    from core.export import merge_adapter

    result = merge_adapter(args.model, args.adapter, out=args.out, name=args.name, dtype=args.dtype,
                           max_shard_size=args.max_shard_size, overwrite=args.overwrite,
                           progress=None if args.quiet else _stderr_progress)
    return result.to_dict()


def export_bundle(args) -> dict:
    from core.models.bundle import write_bundle

    return write_bundle(args.model, args.adapter, args.out, overwrite=args.overwrite)


def export_adapter_zip(args) -> dict:
    from core.export import write_adapter_zip

    path = write_adapter_zip(args.adapter, args.out, include_training_state=args.training_state)
    return {"path": str(path), "size_bytes": path.stat().st_size}


def register(sub) -> None:
    p = command(sub, "compare", compare,
                "answer a prompt set with the base and each checkpoint (one base in memory); score and save")
    p.add_argument("--model", required=True, help="base model: listed name or folder")
    p.add_argument("--adapters", nargs="*", default=[], metavar="A",
                   help="RUN (final adapter), RUN/checkpoint-N, RUN/adapter or adapter folders")
    p.add_argument("--prompts", help="prompt file: .txt (one per line), .jsonl/.json or .csv")
    p.add_argument("--references", nargs="?", const=True, default=None, metavar="FILE",
                   help="score against references: alone = from the prompts file; FILE = one per line")
    p.add_argument("--eval-dataset", help="use this dataset's eval split (prompts + references)")
    p.add_argument("--eval-ratio", type=float, default=0.1, help="eval split share (match the run's)")
    p.add_argument("--seed", type=int, default=42, help="split seed (match the run's)")
    p.add_argument("--eval-loss", action="store_true", help="also eval loss / perplexity on the eval split")
    p.add_argument("--limit", type=int, help="at most this many prompts")
    p.add_argument("--out", help="write the table as CSV here (prompt, reference, one column per model)")
    p.add_argument("--no-base", action="store_true", help="leave the base model's answers out")
    p.add_argument("--no-save", action="store_true", help="do not keep the results with the runs")
    add_generation_args(p, max_new_tokens=128)
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    export = sub.add_parser("export", help="merge an adapter into its base, or zip an adapter")
    esub = export.add_subparsers(dest="export_command", required=True)
    m = command(esub, "merge", export_merge,
                "merge an adapter into its (unquantised) base and write a standard HF model folder")
    m.add_argument("--model", required=True, help="the base the run trained on")
    m.add_argument("--adapter", required=True, help="RUN, RUN/checkpoint-N, RUN/adapter or a folder")
    m.add_argument("--out", help="target folder (default workspace/exports/<name>)")
    m.add_argument("--name", help="folder name under workspace/exports/ (default RUN-checkpoint)")
    m.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"], default="auto",
                   help="saved precision; auto = bf16 on GPU, fp32 on CPU")
    m.add_argument("--max-shard-size", default="2GB")
    m.add_argument("--overwrite", action="store_true", help="replace an existing target folder")
    m.add_argument("--quiet", action="store_true")
    b = command(esub, "bundle", export_bundle, "merged model + README with vLLM/SGLang/transformers serve commands")
    b.add_argument("--model", required=True, help="the base the run trained on")
    b.add_argument("--adapter", required=True, help="RUN or RUN/checkpoint-N")
    b.add_argument("--out", required=True, help="bundle folder (model/, README.md, client_example.py)")
    b.add_argument("--overwrite", action="store_true", help="replace an existing bundle folder")
    z = command(esub, "adapter-zip", export_adapter_zip, "zip an adapter folder for download")
    z.add_argument("--adapter", required=True, help="RUN, RUN/checkpoint-N, RUN/adapter or a folder")
    z.add_argument("--out", required=True, help="zip file (or a folder to put <run>-<checkpoint>.zip in)")
    z.add_argument("--training-state", action="store_true", help="include optimizer/scheduler state")
