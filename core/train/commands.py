"""CLI: `train start|status|stop|kill|estimate|presets`, `runs`.

    python -m core train start --model demo-tiny --dataset assistant --preset cpu-demo --probe 你是谁？ --wait --json
    python -m core train start --resume RUN/checkpoint-50 --max-steps 200 --json
    python -m core train start --stage dpo --model demo-tiny --dataset pairs --from-run SFT_RUN --json
    python -m core train status RUN --json
    python -m core runs --json

Runs started here are ordinary run folders: the UI shows them like any other.
"""
from __future__ import annotations

import argparse
from dataclasses import fields

from core.cli import command
from core.errors import UserError


def status_payload(run_id: str) -> dict:
    from core.train import runs

    s = runs.read_status(run_id)
    return {"run_id": s.run_id, "status": s.status, "pid": s.pid, "step": s.step,
            "total_steps": s.total_steps, "checkpoints": runs.list_checkpoints(run_id),
            "adapter": runs.has_final_adapter(run_id), "error": s.error, "hint": s.hint,
            "model": s.model, "dataset": s.dataset, "devices": s.devices, "processes": s.processes,
            "parent": s.parent, "queue_reason": s.queue_reason, "eta_seconds": s.eta_seconds(),
            "log_tail": runs.log_tail(run_id, 20) if s.status == "failed" else "",  # why, in the worker's words
            **_watch_and_cost(s)}


def _watch_and_cost(status) -> dict:
    """stalled / last_step_at (core/train/watchdog.py) and the cost so far / at ETA (core/train/cost.py)."""
    from core.train import cost, runs, watchdog

    out = watchdog.stall_info(status).to_dict()
    out["stage"] = runs.read_config(status.run_id).get("stage", "sft")
    money = cost.run_cost(status)
    out.update(money.to_dict() if money else {"cost_so_far": None, "cost_at_eta": None, "currency": None})
    return out


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError("use true or false")


def config_from_args(args):
    """The TrainConfig a `train start` command line describes (preset or resumed run + overrides)."""
    from core.train import launcher
    from core.train.config import TrainConfig
    from core.train.presets import DEFAULT_PRESET, from_preset

    overrides = {}
    for f in fields(TrainConfig):
        value = getattr(args, f.name, None)
        if value is not None and f.name != "resume_from":
            overrides[f.name] = value
    if args.probe:
        overrides["probe_prompts"] = args.probe
    if args.resume_from:
        if args.preset:
            raise UserError("err.train.preset_and_resume")
        return launcher.resume_config(args.resume_from, **overrides)
    if not args.model or not args.dataset:
        raise UserError("err.train.model_dataset_required")
    return from_preset(args.preset or DEFAULT_PRESET, **overrides)


def register(sub) -> None:
    from core.train.config import STAGES

    train = sub.add_parser("train", help="start, watch and stop training runs")
    tsub = train.add_subparsers(dest="train_command", required=True)

    def start(args) -> dict:
        from core.train import launcher

        status = launcher.launch_run(config_from_args(args))
        if args.wait:
            status = launcher.wait_for(status.run_id)
            return status_payload(status.run_id)
        return {"run_id": status.run_id, "status": status.status, "pid": status.pid,
                "queue_reason": status.queue_reason}

    p = command(tsub, "start", start, "launch a training run (a separate process; queued while the device is busy)")
    p.add_argument("--model")
    p.add_argument("--dataset")
    p.add_argument("--preset", help="built-in (xtuner-qlora, cpu-demo) or a saved preset")
    p.add_argument("--resume", dest="resume_from", help="RUN or RUN/checkpoint-N to resume from (keeps its settings)")
    p.add_argument("--stage", choices=list(STAGES), help="sft (default), pt, dpo, orpo or kto; the dataset's kind must fit")
    p.add_argument("--from-run", dest="init_adapter", help="continue from RUN: start from that finished run's adapter")
    p.add_argument("--beta", dest="pref_beta", type=float, help="DPO/KTO beta, ORPO lambda (default 0.1)")
    p.add_argument("--report-to", dest="trackers", help="also log to wandb and/or swanlab (installed and logged in); "
                                                        "default: TensorBoard only, nothing sent")
    p.add_argument("--max-steps", dest="max_steps", type=int)
    p.add_argument("--epochs", type=float)
    p.add_argument("--learning-rate", "--lr", dest="learning_rate", type=float)
    p.add_argument("--lr-scheduler", dest="lr_scheduler")
    p.add_argument("--warmup-ratio", dest="warmup_ratio", type=float)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--grad-accum", dest="grad_accum", type=int)
    p.add_argument("--max-length", dest="max_length", type=int)
    p.add_argument("--packing", type=_bool, metavar="true|false")
    p.add_argument("--gradient-checkpointing", dest="gradient_checkpointing", type=_bool, metavar="true|false")
    p.add_argument("--quantization", choices=["4bit", "8bit", "none"])
    p.add_argument("--lora-r", dest="lora_r", type=int)
    p.add_argument("--lora-alpha", dest="lora_alpha", type=int)
    p.add_argument("--lora-dropout", dest="lora_dropout", type=float)
    p.add_argument("--target-modules", dest="target_modules", help="all-linear or e.g. q_proj,v_proj")
    p.add_argument("--dora", dest="use_dora", type=_bool, metavar="true|false")
    p.add_argument("--rslora", dest="use_rslora", type=_bool, metavar="true|false")
    p.add_argument("--logging-steps", dest="logging_steps", type=int)
    p.add_argument("--save-steps", dest="save_steps", type=int)
    p.add_argument("--save-total-limit", dest="save_total_limit", type=int)
    p.add_argument("--eval-ratio", dest="eval_ratio", type=float)
    p.add_argument("--eval-steps", dest="eval_steps", type=int)
    p.add_argument("--probe", action="append", help="a probe prompt answered during training (repeatable)")
    p.add_argument("--probe-steps", dest="probe_steps", type=int, help="answer the probes every N steps")
    p.add_argument("--gpus", help="GPU ids, e.g. 0,1 (CUDA_VISIBLE_DEVICES)")
    p.add_argument("--nproc", dest="num_processes", type=int,
                   help="training processes (default one per GPU; >1 on CPU = DDP over gloo)")
    p.add_argument("--deepspeed", choices=["zero2", "zero3"])
    p.add_argument("--nnodes", type=int, help="machines in this run (torchrun rendezvous; default 1)")
    p.add_argument("--node-rank", dest="node_rank", type=int, help="this machine's rank, 0 = the master")
    p.add_argument("--master-addr", dest="master_addr", help="address of node 0, reachable from every node")
    p.add_argument("--master-port", dest="master_port", type=int, help="port on node 0 (default 29500)")
    p.add_argument("--join-timeout", dest="join_timeout", type=int,
                   help="seconds to wait for every node before failing (default 600)")
    p.add_argument("--name", dest="run_name")
    p.add_argument("--seed", type=int)
    p.add_argument("--wait", action="store_true", help="return when the run ends")

    command(tsub, "status", lambda a: status_payload(a.run), "one run's status").add_argument("run")

    def stop(args) -> dict:
        from core.train import launcher

        launcher.stop_run(args.run)
        if args.wait:
            launcher.wait_for(args.run)
        return status_payload(args.run)

    p = command(tsub, "stop", stop, "stop a run gracefully (saves a checkpoint and the adapter)")
    p.add_argument("run")
    p.add_argument("--wait", action="store_true")

    def kill(args) -> dict:
        from core.train import launcher

        launcher.kill_run(args.run)
        return status_payload(args.run)

    command(tsub, "kill", kill, "kill a run's processes at once (no checkpoint)").add_argument("run")

    def estimate(args) -> dict:
        from core.train.memory import estimate_for_config

        config = config_from_args(args)
        return estimate_for_config(config, gpu_memory_gb=args.gpu_memory_gb).to_dict()

    p = command(tsub, "estimate", estimate, "estimate training memory before launching")
    for action in list(tsub.choices["start"]._actions):
        if action.dest not in ("help", "json", "wait") and action.option_strings:
            p._add_action(action)
    p.add_argument("--gpu-memory-gb", dest="gpu_memory_gb", type=float, help="compare against this much memory")

    def set_price(args) -> dict:
        from core.train import cost

        if args.per_hour is not None:
            cost.set_price(args.per_hour, args.currency)
        rate = cost.price()
        return {"price_per_hour": rate[0] if rate else None, "currency": rate[1] if rate else None}

    p = command(tsub, "price", set_price, "show or set the server's price per hour (for the cost of runs)")
    p.add_argument("per_hour", nargs="?", type=float, help="price per hour; 0 clears it")
    p.add_argument("--currency", default="$", help="$ or ¥")

    def sweep(args) -> dict:
        from core.train import sweeps

        grid = sweeps.parse_grid(args.grid or [])
        sweep_id, run_ids = sweeps.launch_sweep(config_from_args(args), grid, confirm=args.yes)
        if args.wait:
            from core.train import launcher

            for run_id in run_ids:
                launcher.wait_for(run_id)
            return {"sweep_id": sweep_id, "run_ids": run_ids, "ranking": sweeps.rank_sweep(sweep_id)}
        return {"sweep_id": sweep_id, "run_ids": run_ids}

    p = command(tsub, "sweep", sweep, "queue a grid of runs (e.g. --grid lr=1e-4,2e-4 --grid lora_r=8,16) as one sweep")
    for action in list(tsub.choices["start"]._actions):
        if action.dest not in ("help", "json") and action.option_strings:
            p._add_action(action)
    p.add_argument("--grid", action="append", help="setting=value1,value2 (repeat for up to 3 settings)")
    p.add_argument("--yes", action="store_true", help="confirm a sweep of more than 8 runs")

    def list_presets(args) -> dict:
        from core.train import presets

        return {"presets": presets.list_presets()}

    command(tsub, "presets", list_presets, "list training presets (built-in and saved)")

    def save_preset(args) -> dict:
        from core.train import presets

        config = presets.config_from_run(args.from_run) if args.from_run else presets.load_preset(args.preset or "cpu-demo")
        return {"preset": presets.save_preset(args.name, config, overwrite=args.overwrite)}

    p = command(tsub, "save-preset", save_preset, "save a preset from a run's settings or another preset")
    p.add_argument("name")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--from-run")
    group.add_argument("--preset")
    p.add_argument("--overwrite", action="store_true", help="replace a saved preset of the same name")

    def list_runs(args) -> dict:
        from core.train import launcher, runs

        launcher.reap()
        return {"runs": [status_payload(r) for r in runs.list_run_ids()]}

    command(sub, "runs", list_runs, "list training runs")
