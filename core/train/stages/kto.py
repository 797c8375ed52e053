"""KTO stage: replies labelled good/bad -> TRL's KTOTrainer (prompt / completion / label).

The two classes are weighted so that good and bad examples pull equally hard, whatever their
counts (TRL recommends desirable_weight * n_good ≈ undesirable_weight * n_bad).
"""
from __future__ import annotations

from core.train.stages import plain_messages


def prepare_rows(rows: list[dict]) -> list[dict]:
    """Canonical KTO rows -> TRL's conversational unpaired-preference rows.

    Example:
        >>> prepare_rows([{"messages": [{"role": "user", "content": "hi"},
        ...                             {"role": "assistant", "content": "hello"}], "label": True}])[0]["label"]
        True
    """
    return [{"prompt": plain_messages(r["messages"][:-1]), "completion": plain_messages(r["messages"][-1:]),
             "label": bool(r["label"])} for r in rows if "label" in r]


def class_weights(labels: list[bool]) -> tuple[float, float]:
    """(desirable_weight, undesirable_weight) balancing the two classes.

    Example:
        >>> class_weights([True, False, False, False])
        (3.0, 1.0)
    """
    good = sum(1 for x in labels if x)
    bad = len(labels) - good
    if not good or not bad:
        return 1.0, 1.0
    return (bad / good, 1.0) if bad >= good else (1.0, good / bad)


def build_trainer(config, model, tokenizer, train_ds, eval_ds, arguments: dict, peft_config, callbacks):
    from trl import KTOConfig, KTOTrainer

    desirable, undesirable = class_weights(list(train_ds["label"]))
    args = KTOConfig(**arguments, beta=config.pref_beta, desirable_weight=desirable,
                     undesirable_weight=undesirable)
    return KTOTrainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                      processing_class=tokenizer, peft_config=peft_config, callbacks=callbacks)
