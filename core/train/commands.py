"""CLI: `train start|status|stop`, `runs`."""
from __future__ import annotations

from dataclasses import fields

from core.cli import command


def status_payload(run_id: str) -> dict:
    from core.train import runs

    s = runs.read_status(run_id)
    return {"run_id": s.run_id, "status": s.status, "pid": s.pid, "step": s.step,
            "total_steps": s.total_steps, "checkpoints": runs.list_checkpoints(run_id),
            "adapter": runs.has_final_adapter(run_id), "error": s.error, "hint": s.hint,
            "model": s.model, "dataset": s.dataset}


def register(sub) -> None:
    from core.train.config import DEFAULT_PRESET, PRESETS, TrainConfig

    train = sub.add_parser("train", help="start, watch and stop training runs")
    tsub = train.add_subparsers(dest="train_command", required=True)

    def start(args) -> dict:
        from core.train import launcher

        overrides = {"model": args.model, "dataset": args.dataset}
        for f in fields(TrainConfig):
            value = getattr(args, f.name, None)
            if value is not None and f.name not in overrides:
                overrides[f.name] = value
        if args.probe:
            overrides["probe_prompts"] = args.probe
        config = TrainConfig.from_preset(args.preset, **overrides)
        status = launcher.launch_run(config)
        if args.wait:
            status = launcher.wait_for(status.run_id)
            return status_payload(status.run_id)
        return {"run_id": status.run_id, "status": status.status, "pid": status.pid}

    p = command(tsub, "start", start, "launch a training run (a separate process)")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET)
    p.add_argument("--max-steps", dest="max_steps", type=int)
    p.add_argument("--epochs", type=float)
    p.add_argument("--learning-rate", "--lr", dest="learning_rate", type=float)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--grad-accum", dest="grad_accum", type=int)
    p.add_argument("--max-length", dest="max_length", type=int)
    p.add_argument("--quantization", choices=["4bit", "8bit", "none"])
    p.add_argument("--lora-r", dest="lora_r", type=int)
    p.add_argument("--lora-alpha", dest="lora_alpha", type=int)
    p.add_argument("--save-steps", dest="save_steps", type=int)
    p.add_argument("--eval-ratio", dest="eval_ratio", type=float)
    p.add_argument("--probe", action="append", help="a probe prompt answered during training (repeatable)")
    p.add_argument("--resume", dest="resume_from", help="RUN or RUN/checkpoint-N to resume from")
    p.add_argument("--gpus", help="GPU ids, e.g. 0,1")
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

    def list_runs(args) -> dict:
        from core.train import runs

        return {"runs": [status_payload(r) for r in runs.list_run_ids()]}

    command(sub, "runs", list_runs, "list training runs")
