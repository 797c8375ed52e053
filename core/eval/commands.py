"""CLI: `eval identity | general | bench | run` — did the fine-tune work?

    python -m core eval identity --model demo-tiny --adapters RUN/checkpoint-10 RUN --name 小智 --json
    python -m core eval general --model demo-tiny --adapters RUN --text wiki_demo.txt --json
    python -m core eval bench --model demo-tiny --adapters RUN --file ceval.csv --json
    python -m core eval run RUN --text wiki_demo.txt --json          # the scoreboard
    python -m core eval run RUN --background                          # as a job that survives the shell

Progress goes to stderr; ``--json`` prints one object on stdout.
"""
from __future__ import annotations

from core.cli import command, stderr_progress


def _models_args(p) -> None:
    p.add_argument("--model", required=True, help="base model: listed name or folder")
    p.add_argument("--adapters", nargs="*", default=[], metavar="A",
                   help="RUN (final adapter), RUN/checkpoint-N, RUN/adapter or adapter folders")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--quantization", choices=["none", "4bit", "8bit"], default="none")


def _settings(args):
    from core.chat.generate import GenerationSettings

    return GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=0, repetition_penalty=1.0)


def _batch_progress(done: int, total: int) -> None:
    stderr_progress(done / max(total, 1), f"answers {done}/{total}")


def _training_dataset(args) -> str | None:
    """The dataset the phrasings were trained on: --dataset, else the first adapter's run's."""
    from core.data import store
    from core.errors import UserError
    from core.train.runs import read_config

    if args.dataset:
        return args.dataset
    for spec in args.adapters:
        try:
            dataset = read_config(str(spec).partition("/")[0]).get("dataset")
        except UserError:  # an adapter folder outside any run: no dataset to read
            continue
        if dataset and store.exists(dataset):
            return dataset
    return None


def eval_identity(args) -> dict:
    from core.data.assistant import PRESETS
    from core.eval.identity import identity_spec_for_dataset, make_spec, measure_identity, read_question_file
    from core.models.loading import load_base

    heldout = read_question_file(args.heldout) if args.heldout else None
    dataset = _training_dataset(args)
    if dataset:
        spec = identity_spec_for_dataset(dataset, args.name, args.author, heldout)
    else:  # no dataset known: the personal-assistant generator's phrasings were the training ones
        seen = list(dict.fromkeys(q for preset in PRESETS.values() for q in preset["questions"]))
        spec = make_spec(args.name or "", args.author or "", seen, heldout)
    lm = load_base(args.model, quantization=args.quantization)
    scores = measure_identity(lm, args.adapters, spec, _settings(args),
                              progress=None if args.quiet else _batch_progress)
    return {"name": spec.name, "models": [s.to_dict() for s in scores]}


def eval_general(args) -> dict:
    from core.chat.prompts import read_prompt_file
    from core.eval.general import load_general_text, measure_general
    from core.models.loading import load_base

    text = load_general_text(args.text, args.text_dataset) if (args.text or args.text_dataset) else None
    prompts = [item.prompt for item in read_prompt_file(args.prompts)] if args.prompts else None
    lm = load_base(args.model, quantization=args.quantization)
    rows = measure_general(lm, args.adapters, text=text, prompts=prompts, settings=_settings(args),
                           progress=None if args.quiet else _batch_progress)
    keys = ("label", "perplexity", "perplexity_delta", "drift_rouge_l") + (("answers",) if args.answers else ())
    return {"models": [{k: row[k] for k in keys} for row in rows]}


def eval_bench(args) -> dict:
    from core.eval.bench import run_benchmark

    rows = run_benchmark(args.model, args.adapters, args.file, batch_size=args.batch_size,
                         progress=None if args.quiet else lambda d, n: stderr_progress(d / max(n, 1), f"model {d}/{n}"))
    return {"models": rows}


def eval_run(args) -> dict:
    from core.eval.identity import read_question_file
    from core.eval.job import start_eval_job, wait_for_eval
    from core.eval.scoreboard import EvalOptions, best_checkpoint, build_scoreboard, load_scoreboard, scoreboard_path

    options = EvalOptions(name=args.name or "", author=args.author or "",
                          heldout=read_question_file(args.heldout) if args.heldout else None,
                          text_path=args.text or "", text_dataset=args.text_dataset or "",
                          drift_prompts=None, bench_file=args.bench or "", reference_file=args.references or "",
                          max_new_tokens=args.max_new_tokens, quantization=args.quantization)
    if args.background:
        status = start_eval_job(args.run, options)
        if args.wait:
            status = wait_for_eval(args.run, timeout=args.timeout)
        board = load_scoreboard(args.run) if status.status == "completed" else None
        if board is None:
            return {"run": args.run, "status": status.to_dict()}
    else:
        board = build_scoreboard(args.run, options, progress=None if args.quiet else stderr_progress)
    best = best_checkpoint(board, args.criterion)
    return {"run": board.run_id, "model": board.model, "rows": board.rows, "criterion": args.criterion,
            "best": best["label"] if best else None, "saved": str(scoreboard_path(board.run_id)),
            "seconds": round(board.seconds, 2)}


def register(sub) -> None:
    from core.chat.metrics import SCOREBOARD_METRICS
    from core.eval.scoreboard import DEFAULT_CRITERION

    group = sub.add_parser("eval", help="did it work? identity meter, forgetting check, benchmark, scoreboard")
    esub = group.add_subparsers(dest="eval_command", required=True)

    p = command(esub, "identity", eval_identity,
                "hit rate of the new identity on the training phrasings vs held-out ones, misses listed")
    _models_args(p)
    p.add_argument("--name", help="the new identity's name (default: from the dataset's meta)")
    p.add_argument("--author", help="its author")
    p.add_argument("--dataset", help="the training dataset (its questions are the seen phrasings)")
    p.add_argument("--heldout", help="file of held-out questions (one per line); default: built-in zh + en")
    p.add_argument("--quiet", action="store_true")

    p = command(esub, "general", eval_general,
                "forgetting check: perplexity on a general text, drift (ROUGE-L to the base's answers)")
    _models_args(p)
    p.add_argument("--text", help="a general text file to measure perplexity on (e.g. wiki_demo.txt)")
    p.add_argument("--text-dataset", help="... or a saved dataset's text")
    p.add_argument("--prompts", help="general prompt set for drift (default: built-in zh + en)")
    p.add_argument("--answers", action="store_true", help="include every answer in the output")
    p.add_argument("--quiet", action="store_true")

    p = command(esub, "bench", eval_bench, "accuracy on a local C-Eval/MMLU-layout CSV through lm-evaluation-harness")
    _models_args(p)
    p.add_argument("--file", required=True, help="CSV: question,A,B,C,D,answer (header optional)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--quiet", action="store_true")

    p = command(esub, "run", eval_run, "the scoreboard of a run: every checkpoint × every measurement")
    p.add_argument("run", help="run id")
    p.add_argument("--name", help="identity name (default: the assistant dataset's)")
    p.add_argument("--author")
    p.add_argument("--heldout", help="file of held-out identity questions")
    p.add_argument("--text", help="general text file for perplexity")
    p.add_argument("--text-dataset", help="... or a saved dataset's text")
    p.add_argument("--bench", help="C-Eval/MMLU-layout CSV for benchmark accuracy")
    p.add_argument("--references", help="prompt file with references for BLEU / ROUGE-L")
    p.add_argument("--criterion", choices=SCOREBOARD_METRICS, default=DEFAULT_CRITERION,
                   help="what 'best checkpoint' means")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--quantization", choices=["none", "4bit", "8bit"], default="none")
    p.add_argument("--background", action="store_true", help="run as a background job (survives the shell)")
    p.add_argument("--wait", action="store_true", help="with --background: wait and print the scoreboard")
    p.add_argument("--timeout", type=float, default=3600)
    p.add_argument("--quiet", action="store_true")
