"""CLI: `chat` (one reply, optionally with a run's adapter) and `compare` (checkpoints side by side on
a prompt set, with scores). Greedy by default.

    python -m core chat --model demo-tiny --adapter RUN --prompt "你是谁？" --json
    python -m core compare --model demo-tiny --adapters RUN/checkpoint-50 RUN/adapter \\
        --prompts prompts.jsonl --references --out results.csv --json
    python -m core compare --model demo-tiny --adapters RUN --eval-dataset assistant --eval-loss --json

``--references`` alone reads reference answers from the prompts file (a reference/answer/output/答案
column); ``--references FILE`` takes one reference per line from FILE. Progress goes to stderr.
"""
from __future__ import annotations

from core.cli import command, stderr_progress


def add_generation_args(parser, max_new_tokens: int = 256) -> None:
    """The generation settings as options (shared by `chat` and `compare`); greedy by default."""
    parser.add_argument("--max-new-tokens", type=int, default=max_new_tokens)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--top-k", type=int, default=50)
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--system", default="")
    parser.add_argument("--quantization", choices=["none", "4bit", "8bit"], default="none")


def settings_from_args(args):
    """GenerationSettings from the options added by add_generation_args."""
    from core.chat.generate import GenerationSettings

    return GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                              top_p=args.top_p, top_k=args.top_k,
                              repetition_penalty=args.repetition_penalty, system=args.system or "")


def compare(args) -> dict:
    """`compare`: answer a prompt set with the base and each checkpoint at once; score and save."""
    from pathlib import Path

    from core import workspace
    from core.chat import compare as C
    from core.chat.prompts import prompts_from_rows, read_prompt_file
    from core.data.shape import eval_split_rows
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
        eval_rows = eval_split_rows(args.eval_dataset, args.eval_ratio, args.seed)
        eval_source = {"dataset": args.eval_dataset, "eval_ratio": args.eval_ratio, "seed": args.seed,
                       "rows": len(eval_rows)}
    if args.prompts:
        refs = args.references if isinstance(args.references, str) else None
        prompts = read_prompt_file(args.prompts, refs)
        if not args.references:
            for item in prompts:
                item.reference = None
        elif not any(item.reference for item in prompts):
            raise UserError("err.chat.no_references", field="references", hint="err.chat.no_references.hint")
    else:
        prompts = prompts_from_rows(eval_rows, limit=args.limit)
        if not prompts:
            raise UserError("err.chat.eval_no_prompts", name=args.eval_dataset, field="dataset")
    if args.limit:
        prompts = prompts[:args.limit]

    settings = settings_from_args(args)
    lm = load_base(model_path, quantization=args.quantization)
    result = C.run_compare(lm, prompts, [c.adapter for c in columns if c.adapter], settings,
                           include_base=not args.no_base, eval_rows=eval_rows if args.eval_loss else None,
                           eval_source=eval_source if args.eval_loss else None,
                           progress=None if args.quiet else stderr_progress)
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


def register(sub) -> None:
    def chat(args) -> dict:
        from core.chat.generate import generate_reply
        from core.models.loading import load_base
        from core.train.runs import resolve_adapter

        adapter = resolve_adapter(args.adapter) if args.adapter else None
        lm = load_base(args.model, quantization=args.quantization)
        settings = settings_from_args(args)
        text = generate_reply(lm, [{"role": "user", "content": args.prompt}], settings, adapter=adapter)
        return {"text": text, "model": str(lm.path), "adapter": str(adapter) if adapter else None}

    p = command(sub, "chat", chat, "answer one prompt (greedy unless --temperature > 0)")
    p.add_argument("--model", required=True, help="listed model name or folder")
    p.add_argument("--adapter", help="RUN, RUN/checkpoint-N or RUN/adapter")
    p.add_argument("--prompt", required=True)
    add_generation_args(p)

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
