"""ORPO stage: preference pairs -> TRL's ORPOTrainer (no reference model: SFT loss + odds-ratio term).

``pref_beta`` is ORPO's lambda, the weight of the odds-ratio term against the SFT loss.
"""
from __future__ import annotations

import os

from core.train.stages.dpo import prepare_rows  # the same prompt / chosen / rejected rows

__all__ = ["prepare_rows", "build_trainer"]


def build_trainer(config, model, tokenizer, train_ds, eval_ds, arguments: dict, peft_config, callbacks):
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # ORPO lives in trl.experimental in TRL 1.x
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    args = ORPOConfig(**arguments, beta=config.pref_beta)
    return ORPOTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                       processing_class=tokenizer, peft_config=peft_config, callbacks=callbacks)
