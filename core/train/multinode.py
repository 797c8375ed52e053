"""Several machines: the command each other node runs to join a multi-node run.

Node 0 is started from the Train page or the CLI with ``--nnodes N --node-rank 0 --master-addr
ADDR --master-port P``; its worker execs torchrun with a static rendezvous and waits up to
``join_timeout`` seconds for the others (then fails with "the other nodes never joined",
core/train/failures.py). Every other machine runs the same command with its own
``--node-rank``; its run folder keeps its own status, and only node 0 writes checkpoints.

    other_node_commands(config)   # ["python -m core train start --model ... --node-rank 1 ...", ...]
"""
from __future__ import annotations

import shlex
from dataclasses import fields, replace

from core.train.config import TrainConfig

# Settings that are per machine, or bookkeeping: never copied into another node's command.
_LOCAL = {"gpus", "run_name", "sweep", "resume_from", "init_adapter", "probe_prompts", "node_rank"}


def start_argv(config: TrainConfig) -> list[str]:
    """``python -m core train start ...`` reproducing ``config`` (settings that differ from the default preset)."""
    from core.cli import build_parser

    parser = build_parser()
    start = parser._subparsers._group_actions[0].choices["train"]._subparsers._group_actions[0].choices["start"]
    from core.train.presets import DEFAULT_PRESET, from_preset

    defaults = from_preset(DEFAULT_PRESET)  # what `train start` without --preset starts from
    argv = ["python", "-m", "core", "train", "start"]
    names = {f.name for f in fields(TrainConfig)}
    for action in start._actions:
        name = action.dest
        if name not in names or name in _LOCAL or not action.option_strings:
            continue
        value = getattr(config, name)
        if name in ("model", "dataset") or value != getattr(defaults, name):
            text = str(value).lower() if isinstance(value, bool) else str(value)
            argv += [action.option_strings[0], text]
    for prompt in config.probe_prompts:
        argv += ["--probe", prompt]
    return argv


def node_command(config: TrainConfig, node_rank: int) -> str:
    """The shell command that starts node ``node_rank`` of this multi-node run."""
    argv = start_argv(replace(config, node_rank=node_rank))
    argv += ["--node-rank", str(node_rank)]
    return " ".join(shlex.quote(a) for a in argv)


def other_node_commands(config: TrainConfig) -> list[str]:
    """One command per other node (ranks 1..N-1); [] for a one-machine run."""
    return [node_command(config, r) for r in range(1, config.nnodes)] if config.nnodes > 1 else []
