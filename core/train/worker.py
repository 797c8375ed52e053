"""The training process: ``python -m core.train.worker RUN_DIR``.

Started by core/train/launcher.py as a separate OS process (its own session), so closing the
browser or restarting Streamlit never touches it. It first waits in the queue (state
``queued``, core/train/queue.py) until its devices are free and earlier runs have started;
then it trains with TRL's SFTTrainer + PEFT LoRA on a bitsandbytes 4-bit NF4 (double-quantised)
base — or 8-bit, or 16-bit LoRA; DPO/ORPO/KTO with their TRL trainers (core/train/stages/) on the
same model, LoRA and arguments — and reports only through the run folder (status.json,
metrics.jsonl, samples.jsonl, checkpoints, adapter/, tensorboard/).

With more than one process it replaces itself (``os.execv``, same pid) by
``torchrun --standalone --nproc_per_node N -m core.train.worker RUN_DIR``: every rank runs
``train``; DDP over NCCL on GPUs, gloo on CPU; optionally DeepSpeed ZeRO-2/3. Rank 0 writes the
run folder. SIGTERM (one process) or a STOP file (any) ends it gracefully: the trainer saves a
checkpoint and the final adapter is written.

It is a job (core/jobs): its first act is taking the run folder's lock, held to the end (through
the exec into torchrun too), so a second worker on the same folder exits at once and writes
nothing. It keeps a small reserve file beside its status: on a full disk it deletes the reserve,
so the final "failed: disk full" status and the traceback still reach the disk.
"""
from __future__ import annotations

import errno
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path

from core import jobs, workspace
from core.train import runs, stages, trackers
from core.train.config import TrainConfig
from core.train.failures import explain

_stop = {"requested": False}
RESERVE_FILE = ".disk-reserve"
RESERVE_BYTES = 1 << 20  # room for the last status write, the traceback and the log tail on a full disk


def make_reserve(folder: Path) -> None:
    try:
        with open(folder / RESERVE_FILE, "wb") as fh:
            fh.truncate(0)
            fh.write(b"\0" * RESERVE_BYTES)  # real blocks (not a sparse file), so deleting it frees space
    except OSError:
        (folder / RESERVE_FILE).unlink(missing_ok=True)


def is_disk_full(err: BaseException, folder: Path) -> bool:
    """A full disk anywhere in the exception chain (``workspace.disk_error`` reads errno and text), or
    no room left at all in the run folder (torch reports ENOSPC only as "file write failed")."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        found = workspace.disk_error(err, folder / runs.STATUS_FILE)
        if found is not None and found.errno == errno.ENOSPC:  # ENOSPC, EDQUOT, EFBIG
            return True
        err = err.__cause__ or err.__context__
    try:
        return shutil.disk_usage(folder).free < RESERVE_BYTES // 4
    except OSError:
        return False


def disk_full_reason(folder: Path) -> str:
    from core.i18n import Msg
    from core.models.registry import human_size

    try:
        free = human_size(shutil.disk_usage(folder).free)
    except OSError:
        free = "?"
    return str(Msg("err.run.disk_full", path=str(folder), free=free))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_distributed_child() -> bool:
    return "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1


def build_datasets(config: TrainConfig, tokenizer):
    """Canonical rows -> tokenized train (and eval) datasets with assistant masks."""
    import json

    from datasets import Dataset

    from core.data import store
    from core.data.shape import eval_split_indices
    from core.train.tokenize import tokenize_row

    rows = store.load_rows(config.dataset)
    if not rows:
        raise ValueError(f"Dataset {config.dataset!r} is empty after loading.")
    cache: dict[str, dict] = {}  # the repeat-N set repeats rows; tokenize each distinct row once
    tokenized = []
    for row in rows:
        key = json.dumps(row, sort_keys=True, ensure_ascii=False)
        if key not in cache:
            cache[key] = tokenize_row(tokenizer, row)
        tokenized.append(cache[key])
    if not any(1 in t["assistant_masks"] for t in tokenized):
        raise ValueError(f"Dataset {config.dataset!r} has no assistant turns to learn from.")
    dataset = Dataset.from_list(tokenized)
    split = eval_split_indices(len(dataset), config.eval_ratio, config.seed)
    if split:
        return dataset.select(split[0]), dataset.select(split[1])
    return dataset, None


def load_model(model_path: str, quantization: str, attn_implementation: str = "sdpa", zero3: bool = False):
    import torch
    from transformers import AutoModelForCausalLM

    from core.models.loading import quantization_config, torch_dtype

    kwargs = {"dtype": torch_dtype(), "attn_implementation": attn_implementation}
    qconfig = quantization_config(quantization)
    if qconfig is not None:
        if zero3 and quantization == "4bit":
            qconfig.bnb_4bit_quant_storage = torch_dtype()  # ZeRO-3 shards the 4-bit weights as this dtype
        kwargs["quantization_config"] = qconfig
    if torch.cuda.is_available() and not zero3:
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", 0))}
    model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    keep_4bit_training_layout(model)
    return model


def keep_4bit_training_layout(model) -> None:
    """Stop bitsandbytes from repacking 4-bit weights for its CPU inference kernel.

    On a CPU with AVX512-BF16, a Linear4bit run in eval mode without gradients (a probe prompt,
    an evaluation pass) repacks its weight in place and never unpacks it when training resumes,
    so the following training steps use garbled weights (seen with bitsandbytes 0.50: the
    loss stalls and the adapter learns nonsense). The training process never needs that kernel.
    """
    for module in model.modules():
        if getattr(module, "support_avx512bf16_for_cpu", False):
            module.support_avx512bf16_for_cpu = False


def deepspeed_config(stage: str, folder: Path) -> str:
    """Write a ZeRO-2/3 config ("auto" values are filled in by the trainer) and return its path."""
    zero = {"stage": 2 if stage == "zero2" else 3, "overlap_comm": True, "contiguous_gradients": True}
    if stage == "zero3":
        zero.update(stage3_gather_16bit_weights_on_model_save=True)
    config = {"zero_optimization": zero, "bf16": {"enabled": "auto"}, "fp16": {"enabled": "auto"},
              "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
              "train_batch_size": "auto", "gradient_clipping": "auto"}
    path = folder / "deepspeed.json"
    workspace.atomic_write_json(path, config)
    return str(path)


def sft_config(config: TrainConfig, folder: Path, has_eval: bool, report_to: list[str] | None = None):
    from trl import SFTConfig

    return SFTConfig(
        **training_arguments(config, folder, has_eval, report_to),
        packing=config.packing,
        packing_strategy="bfd",  # padding-free rows; samples isolated (see core/train/packing.py)
    )


def training_arguments(config: TrainConfig, folder: Path, has_eval: bool, report_to: list[str] | None = None) -> dict:
    """The trainer arguments every stage shares (SFT, pre-training, DPO, ORPO, KTO)."""
    import torch

    on_gpu = torch.cuda.is_available()
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(folder / runs.TENSORBOARD_DIR)  # TensorBoard event files
    bf16 = on_gpu and torch.cuda.is_bf16_supported()
    eval_steps = config.eval_steps or config.save_steps
    extra = {}
    if config.world_size > 1:
        extra.update(ddp_backend=None if on_gpu else "gloo", ddp_find_unused_parameters=False)
    if config.deepspeed:
        extra["deepspeed"] = deepspeed_config(config.deepspeed, folder)
    from core.train.gpu_speed import speed_plan

    plan = speed_plan(config, on_gpu)
    extra.update(plan.trainer_arguments())
    for note in plan.notes:
        print(note, flush=True)
    return dict(
        output_dir=str(folder),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio of total steps
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        logging_steps=config.logging_steps,
        save_steps=config.save_steps,
        save_total_limit=None,  # rotated by CheckpointMarkerCallback: the COMPLETE marker goes first
        eval_strategy="steps" if has_eval else "no",
        eval_steps=eval_steps if has_eval else None,
        max_length=config.max_length,
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False} if config.gradient_checkpointing else None,
        seed=config.seed,
        bf16=bf16,
        fp16=on_gpu and not bf16,
        use_cpu=not on_gpu,
        report_to=trackers.report_to(config) if report_to is None else report_to,
        run_name=folder.name,
        disable_tqdm=True,
        dataloader_num_workers=0,
        save_only_model=False,  # keep optimizer + scheduler state so a run can resume
        **extra,
    )


def lora_config(config: TrainConfig):
    from peft import LoraConfig

    targets = config.target_modules.strip()
    modules = "all-linear" if targets == "all-linear" else [m.strip() for m in targets.split(",") if m.strip()]
    return LoraConfig(
        r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
        target_modules=modules, use_dora=config.use_dora, use_rslora=config.use_rslora,
        task_type="CAUSAL_LM",
    )


def check_packing(model, train_ds, tokenizer, quantized: bool) -> float:
    """Refuse to train packed rows if samples could attend to each other with this model's attention."""
    from core.train.packing import isolation_error

    samples = [list(train_ds[i]["input_ids"][:96]) for i in range(min(3, len(train_ds)))]
    samples = [s for s in samples if len(s) >= 4]
    if len(samples) < 2:
        return 0.0
    err = isolation_error(model, samples, tokenizer.pad_token_id or 0)
    import torch

    # fp32 compute (CPU, also with 4-bit weights dequantised to fp32): exact; bf16/fp16 kernels differ by shape.
    tolerance = 1e-4 if model.dtype == torch.float32 else 5e-2
    impl = getattr(model.config, "_attn_implementation", "?")
    print(f"packing isolation check ({impl}): max |loss packed - loss alone| = {err:.2e} (tolerance {tolerance:g})",
          flush=True)
    if err > tolerance:
        raise RuntimeError(
            f"Packing would let samples attend to each other with attention implementation {impl!r} "
            f"(loss differs by {err:.3g}). Turn packing off, or use sdpa / flash-attention.")
    return err


def save_final_adapter(trainer, folder: Path, is_main: bool) -> None:
    """Write adapter/ aside and rename it into place, so it is never seen half-written."""
    target = folder / runs.FINAL_ADAPTER
    staging = folder / ".adapter.staging"
    distributed = trainer.args.world_size > 1
    if is_main:
        shutil.rmtree(staging, ignore_errors=True)
    if distributed:
        trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(staging))  # every rank (ZeRO-3 gathers); only the main one writes
    if distributed:
        trainer.accelerator.wait_for_everyone()
    if is_main:
        trainer.processing_class.save_pretrained(str(staging))
        workspace.atomic_replace_dir(staging, target)


def train(folder: Path, status: runs.RunStatus, is_main: bool = True, writes_status: bool | None = None) -> str:
    """Run the training; returns the final state ("completed" or "stopped")."""
    from transformers.integrations import TensorBoardCallback
    from trl import SFTTrainer

    from core.models.checks import load_tokenizer
    from core.train.callbacks import CheckpointMarkerCallback, ProbeCallback, RunFolderCallback
    from core.train.packing import attention_implementation

    raw = workspace.read_json(folder / runs.CONFIG_FILE)
    config = TrainConfig.from_dict(raw)
    model_path = raw.get("model_path") or config.model
    tokenizer = load_tokenizer(model_path)
    preference = config.stage in stages.PREFERENCE_STAGES  # DPO/ORPO/KTO: core/train/stages/
    if preference:
        train_ds = eval_ds = None
        arguments = training_arguments(config, folder, config.eval_ratio > 0)
    else:
        train_ds, eval_ds = build_datasets(config, tokenizer)
    # The arguments before the model: under ZeRO-3 they make from_pretrained load each rank's shard
    # only (deepspeed.zero.Init), so a model bigger than one GPU loads at all. (Not for a 4-bit base:
    # its weights are quantised whole and sharded by the engine.)
    zero3 = config.deepspeed == "zero3"  # (validation guarantees several processes)
    args = None if preference else sft_config(config, folder, eval_ds is not None)
    if zero3 and config.quantization == "none":
        import deepspeed

        if args is not None:
            _ = args.device  # the process group, then DeepSpeed's view of it: zero.Init needs the world size
        deepspeed.init_distributed()
    model = load_model(model_path, config.quantization, attention_implementation(config.packing),
                       zero3=zero3)
    peft_config = lora_config(config)
    if raw.get("init_adapter_path"):  # "continue from run": train that run's adapter further
        if config.quantization != "none":
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
        model, peft_config = stages.load_start_adapter(model, raw["init_adapter_path"]), None
        print(f"starting from the adapter of {config.init_adapter}", flush=True)
    if config.packing:
        if getattr(next(model.parameters()), "ds_id", None) is not None:
            print("packing self-check skipped: ZeRO-3 holds only a shard of each weight here "
                  "(the same attention code is checked in runs without ZeRO-3)", flush=True)
        else:
            check_packing(model, train_ds, tokenizer, config.quantization != "none")

    folder_cb = RunFolderCallback(folder, status, is_main if writes_status is None else writes_status)
    if _stop["requested"]:
        folder_cb.stop_requested = True
    signal.signal(signal.SIGTERM, lambda *_: setattr(folder_cb, "stop_requested", True))
    callbacks = [folder_cb, CheckpointMarkerCallback(folder, is_main, keep=config.save_total_limit)]
    if config.probe_prompts and (is_main or zero3):
        every = config.probe_steps or config.save_steps
        callbacks.append(ProbeCallback(folder, tokenizer, config.probe_prompts, every, config.probe_max_new_tokens,
                                       is_main=is_main, synced=zero3))

    if preference:
        trainer = stages.build_trainer(config, model, tokenizer, arguments, peft_config, callbacks)
    else:
        trainer = SFTTrainer(
            model=model, args=args, train_dataset=train_ds,
            eval_dataset=eval_ds, processing_class=tokenizer, peft_config=peft_config,
            callbacks=callbacks,
        )
    # TensorBoard after our callback, so it also records the tokens/s and memory we add to the logs.
    tb = trainer.pop_callback(TensorBoardCallback)
    if tb is not None:
        trainer.add_callback(tb)
    resume = raw.get("resume_checkpoint") or None
    trainer.train(resume_from_checkpoint=resume)
    save_final_adapter(trainer, folder, is_main)
    return "stopped" if folder_cb.stop_requested else "completed"


def wait_for_turn(folder: Path) -> bool:
    """Queued: poll until this run may start (True), or a stop request arrives first (False)."""
    import psutil

    from core.train import queue

    run_id = folder.name
    me = psutil.Process()
    announced = None
    while True:
        if _stop["requested"] or (folder / runs.STOP_FILE).exists():
            queue.leave_queue(run_id, "stopped")
            print("stopped while queued", flush=True)
            return False
        ok, reason, status = queue.claim_turn(run_id, me.pid, me.create_time())
        if ok:
            return True
        if status.status != "queued":  # set to a final state from outside
            return False
        if reason != announced:
            print(f"queued: {reason}", flush=True)
            announced = reason
        time.sleep(queue.POLL_SECONDS)


def exec_torchrun(folder: Path, processes: int, config: TrainConfig | None = None) -> None:
    """Become torchrun (same pid, so status.json's pid stays right) running every rank of this worker.

    Several machines: a static rendezvous at master_addr:master_port; node 0 hosts it and waits
    up to join_timeout seconds for the others (core/train/multinode.py prints their command).
    """
    if config is not None and config.nnodes > 1:
        where = ["--rdzv-backend=static", f"--nnodes={config.nnodes}", f"--node-rank={config.node_rank}",
                 f"--master-addr={config.master_addr.strip()}", f"--master-port={config.master_port}",
                 f"--rdzv-conf=timeout={config.join_timeout}"]
        print(f"node {config.node_rank} of {config.nnodes}: waiting for every node at "
              f"{config.master_addr}:{config.master_port} (up to {config.join_timeout} s)", flush=True)
    else:
        where = ["--standalone", "--nnodes=1"]
    argv = [sys.executable, "-m", "torch.distributed.run", *where,
            f"--nproc_per_node={processes}", "-m", "core.train.worker", str(folder)]
    print(f"starting {processes} processes: {' '.join(argv[1:])}", flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)


def run_training(folder: Path, distributed: bool) -> int:
    """Train and record the outcome in status.json (rank 0; any rank records a failure)."""
    # Rank 0 writes the run folder; on the other machines of a multi-node run, each machine's first
    # process keeps its own folder's status (checkpoints and the adapter are only written by rank 0).
    main_rank = rank() == 0 or (is_distributed_child() and int(os.environ.get("LOCAL_RANK", "0")) == 0
                                and int(os.environ.get("GROUP_RANK", "0")) > 0)
    status = jobs.read_status(folder, runs.RunStatus)
    if main_rank:
        status.status = "running"
        status.started = status.started or time.time()
        runs.write_status(status)
        from core.train.watchdog import start_heartbeat

        start_heartbeat(folder)
    try:
        final = train(folder, status, is_main=rank() == 0, writes_status=main_rank)
        status.status = final
        status.error = status.hint = None
        code = 0
    except BaseException as err:  # every failure must end in status.json, not only in the log
        full = is_disk_full(err, folder)
        if full:
            (folder / RESERVE_FILE).unlink(missing_ok=True)  # room for what follows
        traceback.print_exc()
        text = f"{type(err).__name__}: {err}"
        reason, hint = explain(text)
        if full:
            reason, hint = disk_full_reason(folder), explain("No space left on device")[1]
        where = f" (rank {rank()})" if distributed else ""
        status.status, status.error, status.hint = "failed", f"{reason}{where}: {text}"[:2000], hint
        code = 1
    if main_rank or code:
        status.finished = time.time()
        try:
            runs.write_status(status)
        except FileNotFoundError:  # the run folder was deleted under us: leave it deleted
            print("the run folder is gone; nothing more is written", flush=True)
            return 1
    if main_rank and status.status == "completed":
        from core.eval.job import start_if_requested

        start_if_requested(folder.name)
    print(f"worker finished: {status.status}", flush=True)
    (folder / RESERVE_FILE).unlink(missing_ok=True)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]).resolve()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["WORKBENCH_HOME"] = str(folder.parent.parent)  # the run's own workspace
    if is_distributed_child():
        return run_training(folder, distributed=True)  # torchrun (our parent) holds the lock

    try:
        jobs.hold_lock(folder)  # first, before anything is written: one worker per run
    except jobs.JobBusy as busy:
        from core.i18n import Msg

        print(Msg("err.run.busy", folder=str(folder), pid=busy.holder or "?"), file=sys.stderr, flush=True)
        return 3
    jobs.write_pid(folder, os.getpid(), jobs.process_started(os.getpid()))
    make_reserve(folder)
    signal.signal(signal.SIGTERM, lambda *_: _stop.__setitem__("requested", True))
    try:
        if not wait_for_turn(folder):
            return 0
        config = TrainConfig.from_dict(workspace.read_json(folder / runs.CONFIG_FILE) or {})
    except BaseException as err:
        full = is_disk_full(err, folder)
        if full:
            (folder / RESERVE_FILE).unlink(missing_ok=True)
        traceback.print_exc()
        status = runs.read_status(folder.name, reconcile=False)
        reason = disk_full_reason(folder) if full else "could not start"
        status.status, status.error = "failed", f"{reason}: {type(err).__name__}: {err}"[:2000]
        status.finished = time.time()
        runs.write_status(status)
        return 1
    if config.world_size > 1:
        jobs.keep_lock_across_exec(folder)
        exec_torchrun(folder, config.processes, config)  # does not return
    return run_training(folder, distributed=False)


if __name__ == "__main__":
    sys.exit(main())
