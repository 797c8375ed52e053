"""Packing without cross-contamination: several short samples per row, each attending only to itself.

Training packs with TRL's best-fit-decreasing packing in padding-free form (``packing=True,
packing_strategy="bfd"``): a batch is one row of concatenated samples, *no attention mask*, and
``position_ids`` restarting at 0 for every sample. What keeps samples apart is the attention
implementation: flash-attention uses the sequence boundaries (cu_seq_lens), and in transformers
≥ 5 the sdpa/eager mask builder derives a block-diagonal causal mask from the restarting
``position_ids`` (``find_packed_sequence_indices``) — but only when no 2-D attention mask and no
KV cache are passed, which TRL's padding-free collator and ``use_cache=False`` guarantee.

Because that is easy to break (a custom collator adding an all-ones mask, another attention
backend), the worker checks it on the real model before training: ``isolation_error`` packs a
few real samples, computes each sample's loss inside the packed row and alone, and returns the
largest difference. ``tests/test_train_packing.py`` holds it to 1e-4.

    err = isolation_error(model, [ids_a, ids_b, ids_c])    # ~1e-7 in fp32 when isolated
"""
from __future__ import annotations

PACKED_ATTENTION = ("flash_attention_2", "flash_attention_3", "sdpa", "eager", "flex_attention")


def attention_implementation(packing: bool) -> str:
    """flash-attention-2 for packed rows on a GPU that has it, else PyTorch SDPA."""
    import importlib.util

    import torch

    if packing and torch.cuda.is_available() and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def collate_packed(sequences: list[list[int]], pad_token_id: int = 0) -> dict:
    """The batch the trainer sees for these samples packed in one row (TRL's padding-free collator)."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(pad_token_id=pad_token_id, padding_free=True)
    return collator([{"input_ids": list(s)} for s in sequences])


def _token_losses(model, input_ids, **kwargs):
    import torch

    with torch.no_grad():
        logits = model(input_ids=input_ids, use_cache=False, **kwargs).logits[0].float()
    return torch.nn.functional.cross_entropy(logits[:-1], input_ids[0, 1:].to(logits.device), reduction="none")


def per_sample_losses(model, sequences: list[list[int]], pad_token_id: int = 0) -> tuple[list[float], list[float]]:
    """(loss of each sample inside the packed row, loss of each sample alone); mean over its tokens."""
    import torch

    batch = collate_packed(sequences, pad_token_id)
    device = next(model.parameters()).device
    extra = {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()
             if k not in ("input_ids", "labels", "seq_idx")}
    packed = _token_losses(model, batch["input_ids"].to(device), **extra)
    inside, alone, start = [], [], 0
    for seq in sequences:
        n = len(seq)
        # token t predicts t+1: the sample's own predictions are positions start .. start+n-2
        inside.append(float(packed[start:start + n - 1].mean()))
        alone.append(float(_token_losses(model, torch.tensor([list(seq)], device=device)).mean()))
        start += n
    return inside, alone


def isolation_error(model, sequences: list[list[int]], pad_token_id: int = 0) -> float:
    """Largest |loss inside the packed row - loss alone| over the samples (0 = perfectly isolated)."""
    was_training = model.training
    model.eval()
    try:
        inside, alone = per_sample_losses(model, sequences, pad_token_id)
    finally:
        if was_training:
            model.train()
    return max(abs(a - b) for a, b in zip(inside, alone))
