"""Packing isolation: a sample's loss inside a packed row equals its loss alone (±1e-4).

Checked three ways on demo-tiny (CPU, SDPA): the helper the worker runs before training, the same
with a 4-bit base, and — most important — the batches the real SFTTrainer builds from a packed
dataset (TRL best-fit-decreasing, padding-free), fed through the trainer's own model.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def _samples(tokenizer):
    from core.data.assistant import AssistantSpec, generate_assistant_rows
    from core.train.tokenize import tokenize_row

    rows = generate_assistant_rows(AssistantSpec(name="小智", author="张三", n=6, lang="zh"))
    return [tokenize_row(tokenizer, r) for r in rows]


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    from transformers import AutoModelForCausalLM

    from core.models.checks import load_tokenizer

    tok = load_tokenizer(tiny_model_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32, attn_implementation="sdpa")
    return model.eval(), tok


def test_isolation_helper_sdpa(tiny):
    from core.train.packing import isolation_error, per_sample_losses

    model, tok = tiny
    seqs = [t["input_ids"] for t in _samples(tok)[:4]]
    assert all(30 <= len(s) <= 120 for s in seqs)  # the repeat-N set: ~50 tokens per sample
    inside, alone = per_sample_losses(model, seqs, tok.pad_token_id)
    assert inside == pytest.approx(alone, abs=1e-4)
    assert isolation_error(model, seqs, tok.pad_token_id) < 1e-4


def test_an_all_ones_mask_would_leak(tiny):
    """The check has teeth: the same packed row with a plain 2-D mask lets samples see each other."""
    from core.train.packing import collate_packed

    model, tok = tiny
    seqs = [t["input_ids"] for t in _samples(tok)[:2]]
    batch = collate_packed(seqs, tok.pad_token_id)
    ids = batch["input_ids"]
    with torch.no_grad():
        leaky = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False).logits[0]
        alone = model(input_ids=torch.tensor([seqs[1]]), use_cache=False).logits[0]
    n0 = len(seqs[0])
    assert (leaky[n0:] - alone).abs().max() > 1e-3


def test_isolation_with_4bit_base(tiny_model_path, tiny):
    from transformers import AutoModelForCausalLM

    from core.models.loading import quantization_config
    from core.train.packing import isolation_error

    _, tok = tiny
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32, attn_implementation="sdpa",
                                                 quantization_config=quantization_config("4bit"))
    seqs = [t["input_ids"] for t in _samples(tok)[:3]]
    assert isolation_error(model, seqs, tok.pad_token_id) < 1e-4


def test_trainer_packed_batches_isolate_samples(tiny_model_path, workbench_home, tiny):
    """Batches from the real SFTTrainer (packing=True): no padding, and per-sample losses as alone."""
    from datasets import Dataset
    from trl import SFTTrainer

    from core.train.config import TrainConfig
    from core.train.worker import lora_config, sft_config

    _, tok = tiny
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_path, dtype=torch.float32, attn_implementation="sdpa")
    rows = _samples(tok)
    cfg = TrainConfig(quantization="none", packing=True, max_length=256, batch_size=2, lora_r=4, max_steps=1,
                      gradient_checkpointing=False)
    trainer = SFTTrainer(model=model, args=sft_config(cfg, workbench_home / "pk", False, report_to=[]),
                         train_dataset=Dataset.from_list(rows), processing_class=tok, peft_config=lora_config(cfg))
    batch = next(iter(trainer.get_train_dataloader()))
    assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1
    assert (batch["input_ids"] != tok.pad_token_id).all()  # no compute spent on padding
    pos = batch["position_ids"][0]
    starts = (pos == 0).nonzero().flatten().tolist() + [pos.numel()]
    assert len(starts) - 1 >= 2  # at least two samples share the row
    peft_model = trainer.model.eval()
    ids = batch["input_ids"]
    extra = {k: v for k, v in batch.items() if k not in ("input_ids", "labels", "seq_idx")}
    with torch.no_grad():
        packed = peft_model(input_ids=ids, use_cache=False, **extra).logits[0]
        for a, b in zip(starts[:-1], starts[1:]):
            seq = ids[:, a:b]
            alone = peft_model(input_ids=seq, use_cache=False).logits[0]
            ce_packed = torch.nn.functional.cross_entropy(packed[a:b - 1], seq[0, 1:])
            ce_alone = torch.nn.functional.cross_entropy(alone[:-1], seq[0, 1:])
            assert abs(ce_packed.item() - ce_alone.item()) < 1e-4
