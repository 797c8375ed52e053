"""DPO stage: preference pairs -> TRL's DPOTrainer (prompt / chosen / rejected, conversational).

The reference model is the policy with its adapter switched off (a new LoRA) or a frozen copy of
the adapter it started from ("continue from run"); no second model is loaded.
"""
from __future__ import annotations

from core.train.stages import plain_messages


def prepare_rows(rows: list[dict]) -> list[dict]:
    """Canonical preference rows -> TRL's conversational preference rows.

    Example:
        >>> prepare_rows([{"messages": [{"role": "user", "content": "2+2?"},
        ...                             {"role": "assistant", "content": "4"}],
        ...                "rejected": {"role": "assistant", "content": "5"}}])[0]["rejected"]
        [{'role': 'assistant', 'content': '5'}]
    """
    return [{"prompt": plain_messages(r["messages"][:-1]), "chosen": plain_messages(r["messages"][-1:]),
             "rejected": plain_messages([r["rejected"]])} for r in rows if "rejected" in r]


def build_trainer(config, model, tokenizer, train_ds, eval_ds, arguments: dict, peft_config, callbacks):
    from trl import DPOConfig, DPOTrainer

    args = DPOConfig(**arguments, beta=config.pref_beta)
    return DPOTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                      processing_class=tokenizer, peft_config=peft_config, callbacks=callbacks)
