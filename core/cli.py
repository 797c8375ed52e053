"""Command line: the same operations as the pages, for SSH users and scripts.

    python -m core --help
    python -m core models --json

Each area registers its own subcommands in ``core/<area>/commands.py`` (a ``register(sub)``
function), so this file only dispatches. With ``--json`` every command prints exactly one
JSON object on stdout (logs go to stderr); a user error prints one line on stderr and exits 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any, Callable

from core.errors import UserError

# Areas whose commands.py adds subcommands; order is the order in --help.
COMMAND_MODULES = (
    "core.models.commands",
    "core.data.commands",
    "core.train.commands",
    "core.chat.commands",  # chat + compare
    "core.eval.commands",
    "core.rag.commands",
    "core.serve.commands",
)


class CliExit(Exception):
    """Raise from a command to print ``payload`` and exit with ``code`` (e.g. aborted import = 1)."""

    def __init__(self, payload: dict, code: int):
        super().__init__(payload)
        self.payload, self.code = payload, code


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def command(sub, name: str, func: Callable[[argparse.Namespace], dict], help: str, **kw):
    """Add a subcommand whose handler returns a dict (printed as JSON or as readable lines)."""
    parser = sub.add_parser(name, help=help, description=help, **kw)
    add_json_flag(parser)
    parser.set_defaults(func=func)
    return parser


def stderr_progress(fraction: float, message) -> None:
    """A long command's ``progress(fraction, message)`` callback: one line on stderr."""
    print(f"[{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)


def _print(payload: Any, as_json: bool, out) -> None:
    if as_json:
        out.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
        return
    for key, value in payload.items():
        if isinstance(value, list):
            out.write(f"{key}:\n")
            for item in value:
                out.write(f"  {json.dumps(item, ensure_ascii=False, default=str)}\n")
        else:
            out.write(f"{key}: {value}\n")
    out.flush()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Fine-tuning workbench CLI")
    sub = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:  # an area not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    as_json = getattr(args, "json", False)
    # stdout carries only the result: libraries that log to stdout while the command runs (DeepSpeed's
    # logger does, on import from accelerate) are sent to stderr with the rest of the logs.
    out, sys.stdout = sys.stdout, sys.stderr
    try:
        payload = args.func(args)
    except CliExit as done:
        _print(done.payload, as_json, out)
        return done.code
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = out
    _print(payload, as_json, out)
    return 0
