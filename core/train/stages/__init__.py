"""Training stages beside the SFT path: which data each stage takes, and its trainer.

SFT and continued pre-training (``pt``) are the worker's own path (TRL's SFTTrainer on
tokenized rows, core/train/worker.py). The preference stages live here, one module each —
``dpo``, ``orpo``, ``kto`` — and share the worker's model loading, trainer arguments,
callbacks and run folder: each module only turns canonical rows into its trainer's rows
(``prepare_rows``) and builds its TRL trainer (``build_trainer``).

    stages_for_kind("preference")          # -> ["dpo", "orpo"]
    dataset_errors(config)                 # {"stage": Msg(...)} when the data does not fit the stage

"Continue from run" (``config.init_adapter``) starts from a finished run's adapter: the adapter
is loaded trainable, and for DPO/KTO TRL keeps a frozen copy of it as the reference model.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from core.train.config import STAGES, TrainConfig

# Stage -> the dataset kinds (core.data.formats.KINDS) it can learn from.
STAGE_KINDS: dict[str, tuple[str, ...]] = {
    "sft": ("sft",),
    "pt": ("pt",),
    "dpo": ("preference",),
    "orpo": ("preference",),
    "kto": ("kto",),
}
PREFERENCE_STAGES = ("dpo", "orpo", "kto")  # their reward curves: core/train/callbacks.py METRIC_KEYS
assert set(STAGE_KINDS) == set(STAGES)


def stages_for_kind(kind: str) -> list[str]:
    """The stages a dataset of ``kind`` fits, in STAGES order.

    Example:
        >>> stages_for_kind("preference")
        ['dpo', 'orpo']
    """
    return [s for s in STAGES if kind in STAGE_KINDS[s]]


def dataset_errors(config: TrainConfig) -> dict:
    """The dataset does not fit the stage (wrong kind, or KTO with one label only): {field: Msg}."""
    from core.data import store
    from core.i18n import Msg

    if config.stage not in STAGE_KINDS or not store.exists(config.dataset):
        return {}
    kind = store.dataset_kind(store.read_meta(config.dataset))
    needs = STAGE_KINDS[config.stage]
    if kind not in needs:
        fits = ", ".join(stages_for_kind(kind)) or "-"
        return {"stage": Msg("train.err.stage_kind", name=config.dataset, kind=Msg(f"train.kind.{kind}"),
                             stage=config.stage.upper(), needs=Msg(f"train.kind.{needs[0]}"), fits=fits)}
    if config.stage == "kto":
        labels = {bool(r.get("label")) for r in store.load_rows(config.dataset)}
        if len(labels) < 2:
            return {"dataset": Msg("train.err.kto_one_label", name=config.dataset,
                                   label=str(labels.pop() if labels else False).lower())}
    return {}


def init_adapter_path(config: TrainConfig, model_path: str | Path) -> str:
    """The adapter folder "continue from run" starts from ("" when none); UserError if it does not fit."""
    from core.errors import UserError
    from core.train import runs

    if not config.init_adapter:
        return ""
    run_id = config.init_adapter.strip().partition("/")[0]
    path = runs.resolve_adapter(config.init_adapter)  # UserError for an unknown run
    if "/" not in config.init_adapter.strip() and path.name != runs.FINAL_ADAPTER:
        raise UserError("train.err.init_adapter_missing", run=run_id, field="init_adapter")
    parent = runs.read_config(run_id)
    if parent.get("model_path") and Path(parent["model_path"]).resolve() != Path(model_path).resolve():
        raise UserError("train.err.init_adapter_base", run=run_id, parent_model=parent.get("model"),
                        model=config.model, field="init_adapter")
    return str(path)


def load_start_adapter(model, adapter_path: str):
    """Wrap ``model`` with a finished run's adapter, trainable (the "continue from run" start)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, adapter_path, is_trainable=True)


def split_rows(rows: list[dict], eval_ratio: float, seed: int):
    """Rows -> (train Dataset, eval Dataset or None), split as the SFT path does."""
    from datasets import Dataset

    dataset = Dataset.from_list(rows)
    if eval_ratio > 0 and len(dataset) >= 4:
        split = dataset.train_test_split(test_size=eval_ratio, seed=seed)
        return split["train"], split["test"]
    return dataset, None


def plain_messages(messages: list[dict]) -> list[dict]:
    """Messages as role + content only (the TRL trainers render them with the chat template)."""
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def build_trainer(config: TrainConfig, model, tokenizer, arguments: dict, peft_config, callbacks: list):
    """The TRL trainer of a preference stage, on the dataset's rows prepared by the stage's module."""
    from core.chat.templates import ensure_chat_template
    from core.data import store

    if config.stage not in PREFERENCE_STAGES:
        raise ValueError(f"{config.stage!r} is trained by the SFT path, not core.train.stages")
    module = importlib.import_module(f"core.train.stages.{config.stage}")
    ensure_chat_template(tokenizer)
    rows = module.prepare_rows(store.load_rows(config.dataset))
    if not rows:
        raise ValueError(f"Dataset {config.dataset!r} has no rows for the {config.stage} stage.")
    train_ds, eval_ds = split_rows(rows, config.eval_ratio, config.seed)
    if eval_ds is None:
        arguments = {**arguments, "eval_strategy": "no", "eval_steps": None}
    trainer = module.build_trainer(config, model, tokenizer, train_ds, eval_ds, arguments, peft_config, callbacks)
    if len(trainer.train_dataset) == 0:  # the trainer drops rows whose prompt fills max_length
        raise ValueError(f"Every row of {config.dataset!r} is longer than max_length={config.max_length} "
                         "tokens before its reply starts, so nothing is left to train on. Raise max_length.")
    return trainer
