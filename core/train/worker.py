"""The training process: ``python -m core.train.worker RUN_DIR``.

Started by core/train/launcher.py as a separate OS process (its own session), so closing the
browser or restarting Streamlit never touches it. It reads ``config.json``, trains with TRL's
SFTTrainer + PEFT LoRA on a bitsandbytes 4-bit NF4 (double-quantised) base — or 8-bit, or
16-bit LoRA — and reports only through the run folder (status.json, metrics.jsonl,
samples.jsonl, checkpoints, adapter/). SIGTERM or a STOP file ends it gracefully: the
trainer saves a checkpoint and the final adapter is written.
"""
from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path

from core import workspace
from core.train import runs
from core.train.config import TrainConfig
from core.train.failures import explain


def build_datasets(config: TrainConfig, tokenizer):
    """Canonical rows -> tokenized train (and eval) datasets with assistant masks."""
    import json

    from datasets import Dataset

    from core.data import store
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
    dataset = Dataset.from_list(tokenized)
    if config.eval_ratio > 0 and len(dataset) >= 4:
        split = dataset.train_test_split(test_size=config.eval_ratio, seed=config.seed)
        return split["train"], split["test"]
    return dataset, None


def load_model(model_path: str, quantization: str):
    import torch
    from transformers import AutoModelForCausalLM

    from core.models.loading import quantization_config, torch_dtype

    kwargs = {"dtype": torch_dtype()}
    qconfig = quantization_config(quantization)
    if qconfig is not None:
        kwargs["quantization_config"] = qconfig
    if torch.cuda.is_available():
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", 0))}
    return AutoModelForCausalLM.from_pretrained(model_path, **kwargs)


def sft_config(config: TrainConfig, folder: Path, has_eval: bool):
    import torch
    from trl import SFTConfig

    on_gpu = torch.cuda.is_available()
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(folder / "tensorboard")  # TensorBoard event files
    bf16 = on_gpu and torch.cuda.is_bf16_supported()
    eval_steps = config.eval_steps or config.save_steps
    return SFTConfig(
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
        save_total_limit=config.save_total_limit,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=eval_steps if has_eval else None,
        max_length=config.max_length,
        packing=config.packing,
        gradient_checkpointing=config.gradient_checkpointing,
        seed=config.seed,
        bf16=bf16,
        fp16=on_gpu and not bf16,
        use_cpu=not on_gpu,
        report_to=["tensorboard"],
        disable_tqdm=True,
        dataloader_num_workers=0,
        save_only_model=False,  # keep optimizer + scheduler state so a run can resume
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


def save_final_adapter(trainer, folder: Path) -> None:
    """Write adapter/ aside and rename it into place, so it is never seen half-written."""
    target = folder / runs.FINAL_ADAPTER
    staging = workspace.staging_dir(target)
    trainer.save_model(str(staging))
    trainer.processing_class.save_pretrained(str(staging))
    workspace.atomic_replace_dir(staging, target)


def train(folder: Path, status: runs.RunStatus) -> str:
    """Run the training; returns the final state ("completed" or "stopped")."""
    from trl import SFTTrainer

    from core.models.loading import load_tokenizer
    from core.train.callbacks import ProbeCallback, RunFolderCallback

    raw = workspace.read_json(folder / runs.CONFIG_FILE)
    config = TrainConfig.from_dict(raw)
    model_path = raw.get("model_path") or config.model
    tokenizer = load_tokenizer(model_path)
    train_ds, eval_ds = build_datasets(config, tokenizer)
    model = load_model(model_path, config.quantization)

    folder_cb = RunFolderCallback(folder, status)
    signal.signal(signal.SIGTERM, lambda *_: setattr(folder_cb, "stop_requested", True))
    callbacks = [folder_cb]
    if config.probe_prompts:
        every = config.probe_steps or config.save_steps
        callbacks.append(ProbeCallback(folder, tokenizer, config.probe_prompts, every))

    trainer = SFTTrainer(
        model=model, args=sft_config(config, folder, eval_ds is not None), train_dataset=train_ds,
        eval_dataset=eval_ds, processing_class=tokenizer, peft_config=lora_config(config),
        callbacks=callbacks,
    )
    resume = raw.get("resume_checkpoint") or None
    trainer.train(resume_from_checkpoint=resume)
    save_final_adapter(trainer, folder)
    return "stopped" if folder_cb.stop_requested else "completed"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]).resolve()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ["WORKBENCH_HOME"] = str(folder.parent.parent)  # the run's own workspace
    import psutil

    data = workspace.read_json(folder / runs.STATUS_FILE) or {"run_id": folder.name}
    status = runs.RunStatus(**{k: v for k, v in data.items() if k in runs.RunStatus.__dataclass_fields__})
    status.status, status.pid = "running", os.getpid()
    status.pid_started = psutil.Process().create_time()
    status.started = time.time()
    runs.write_status(status)
    try:
        status.status = train(folder, status)
        status.error = status.hint = None
        code = 0
    except BaseException as err:  # every failure must end in status.json, not only in the log
        traceback.print_exc()
        text = f"{type(err).__name__}: {err}"
        reason, hint = explain(text)
        status.status, status.error, status.hint = "failed", f"{reason}: {text}"[:2000], hint
        code = 1
    status.finished = time.time()
    runs.write_status(status)
    print(f"worker finished: {status.status}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
