"""``python -m core data …``: import, list, stats, split, mix, export, rename, delete (+ assistant).

    python -m core data import alpaca.json --name alpaca --json
    python -m core data import dataset_info.json --entry identity --name me --fill name=Aria --fill author=Lab
    python -m core data stats alpaca --model workspace/models/demo-tiny --max-length 1024
    python -m core data mix identity:repeat=5 alpaca --output assistant-mix
    python -m core data export alpaca --format sharegpt

``data import`` exits 1 when the import is aborted (``--on-error abort`` and bad rows, or no
good rows); nothing is saved then. The handlers only parse arguments and call core.data.
"""
from __future__ import annotations

import argparse
import time

from core.cli import CliExit, command
from core.data import importer, shape, stats, store
from core.data.formats import EXPORT_FORMATS
from core.errors import UserError


def register(sub) -> None:
    data = sub.add_parser("data", help="datasets: import, inspect, split, mix, export",
                          description="Datasets: import any common format, inspect, split, mix, export.")
    data_sub = data.add_subparsers(dest="data_command", required=True)

    p = command(data_sub, "import", _import, "import a file (JSON, JSONL, CSV, Parquet, TXT) as a dataset")
    p.add_argument("path", help="data file on this machine, or a dataset_info.json (with --entry)")
    p.add_argument("--name", required=True, help="name of the new dataset")
    p.add_argument("--format", default="auto", choices=importer.FORMAT_CHOICES)
    p.add_argument("--on-error", default="skip", choices=importer.ON_ERROR,
                   help="skip: save the good rows; abort: save nothing if any row is bad")
    p.add_argument("--entry", help="entry name when PATH is a dataset_info.json")
    p.add_argument("--fill", action="append", default=[], metavar="KEY=VALUE",
                   help="fill {{KEY}} placeholders, e.g. --fill name=Aria --fill author=Lab")
    p.add_argument("--max-chars", type=int, default=importer.DEFAULT_MAX_CHARS, help="longest row accepted")
    p.add_argument("--text-split", choices=("line", "paragraph", "file"), help="rows of a TXT file")
    p.add_argument("--overwrite", action="store_true", help="replace a dataset of the same name")

    command(data_sub, "list", _list, "list datasets")

    p = command(data_sub, "stats", _stats, "rows, turns, characters, token lengths, duplicates")
    p.add_argument("name")
    p.add_argument("--model", help="model folder whose tokenizer measures token lengths")
    p.add_argument("--max-length", type=int, help="count rows longer than this many tokens")

    p = command(data_sub, "split", _split, "split into NAME-train and NAME-eval")
    p.add_argument("name")
    p.add_argument("--eval-ratio", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--overwrite", action="store_true")

    p = command(data_sub, "mix", _mix, "mix datasets with weights / repeat factors")
    p.add_argument("sources", nargs="+", metavar="NAME[:weight=W,repeat=R,allow_repeat=0|1]")
    p.add_argument("--output", required=True, help="name of the mixed dataset")
    p.add_argument("--total", type=int, help="target rows (weights give shares); default: repeat factors")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--overwrite", action="store_true")

    p = command(data_sub, "export", _export, "write a dataset as Alpaca, ShareGPT or OpenAI JSON(L)")
    p.add_argument("name")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--output", help="file or folder (default: workspace/exports/datasets/)")
    p.add_argument("--jsonl", action="store_true", help="one JSON object per line")

    p = command(data_sub, "dedupe", _dedupe, "remove duplicate rows in place")
    p.add_argument("name")
    p.add_argument("--by", choices=("row", "prompt"), default="row")

    p = command(data_sub, "rename", _rename, "rename a dataset")
    p.add_argument("name")
    p.add_argument("new_name")

    p = command(data_sub, "delete", _delete, "delete a dataset")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="confirm the deletion")

    try:  # the lead's repeat-N personal-assistant generator adds `data assistant`
        from core.data.assistant import register_cli
    except ImportError:
        pass
    else:
        register_cli(data_sub)


def _fills(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError("err.data.fill_pair", pair=pair, field="fill")
        out[key.strip()] = value
    return out


def _import(args: argparse.Namespace) -> dict:
    options = importer.ImportOptions(format=args.format, placeholders=_fills(args.fill),
                                     max_chars=args.max_chars, text_split=args.text_split, entry=args.entry)
    report = importer.analyze_path(args.path, options)
    payload = report.summary()
    payload = {"dataset": None, "rows": report.good, "bad_rows": payload.pop("bad_rows"), **payload}
    try:
        info = importer.save_import(report, args.name, on_error=args.on_error, overwrite=args.overwrite)
    except importer.ImportAborted as err:
        payload.update(aborted=True, error=str(err))
        raise CliExit(payload, 1) from None
    payload.update(dataset=info.name, aborted=False)
    return payload


def _info_dict(info: store.DatasetInfo) -> dict:
    return {"name": info.name, "rows": info.rows, "tokens": info.tokens, "source": info.source,
            "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created)),
            "kind": store.dataset_kind(info)}


def _list(args: argparse.Namespace) -> dict:
    return {"datasets": [_info_dict(i) for i in store.list_datasets()]}


def _stats(args: argparse.Namespace) -> dict:
    importer.check_dataset_name(args.name)
    out = stats.dataset_stats(args.name, args.model, args.max_length)
    out.pop("lengths", None)
    return out


def _split(args: argparse.Namespace) -> dict:
    importer.check_dataset_name(args.name)
    train, ev = shape.split_dataset(args.name, args.eval_ratio, args.seed, overwrite=args.overwrite)
    return {"train": train.name, "train_rows": train.rows, "eval": ev.name, "eval_rows": ev.rows}


def parse_mix_source(spec: str) -> shape.MixSource:
    """``name[:weight=W,repeat=R,allow_repeat=0|1]`` -> MixSource."""
    name, _, opts = spec.partition(":")
    src = shape.MixSource(name.strip())
    for opt in filter(None, (o.strip() for o in opts.split(","))):
        key, sep, value = opt.partition("=")
        try:
            if key in ("weight", "abs_weight"):
                src.weight = float(value)
            elif key == "repeat":
                src.repeat = float(value)
            elif key == "allow_repeat":
                src.allow_repeat = value.lower() in ("1", "true", "yes")
            else:
                raise ValueError
        except ValueError:
            raise UserError("err.data.mix_option", opt=opt, spec=spec, hint="err.data.mix_option.hint") from None
    return src


def _mix(args: argparse.Namespace) -> dict:
    sources = [parse_mix_source(s) for s in args.sources]
    for name in [s.name for s in sources] + [args.output]:
        importer.check_dataset_name(name)
    info, report = shape.mix_datasets(sources, args.output, args.total, args.seed, overwrite=args.overwrite)
    return {"dataset": info.name, "rows": info.rows, "sources": report}


def _export(args: argparse.Namespace) -> dict:
    importer.check_dataset_name(args.name)
    path, written, skipped = shape.export_dataset(args.name, args.format, args.output,
                                                  jsonl=True if args.jsonl else None)
    return {"path": str(path), "rows": written, "skipped": skipped, "format": args.format}


def _dedupe(args: argparse.Namespace) -> dict:
    importer.check_dataset_name(args.name)
    info, removed = shape.dedupe_dataset(args.name, args.by)
    return {"dataset": info.name, "rows": info.rows, "removed": removed}


def _rename(args: argparse.Namespace) -> dict:
    importer.check_dataset_name(args.name)
    importer.check_dataset_name(args.new_name)
    store.rename_dataset(args.name, args.new_name)
    return {"dataset": args.new_name, "renamed_from": args.name}


def _delete(args: argparse.Namespace) -> dict:
    importer.check_dataset_name(args.name)
    if not args.yes:
        raise UserError("err.data.delete_confirm", name=args.name, hint="err.data.delete_confirm.hint")
    store.delete_dataset(args.name)
    return {"deleted": args.name}
