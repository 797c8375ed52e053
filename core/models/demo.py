"""Build ``demo-tiny``: a Llama-shaped model with random weights and a real tokenizer, offline.

No weights can be downloaded on a fresh machine, yet the whole loop (data -> QLoRA -> chat)
must work there. This builds, from config, in a second or two and deterministically:

- a byte-level BPE tokenizer trained on a small built-in zh/en corpus (any text encodes; common
  Chinese and English words become single tokens), with ChatML special tokens and a chat template;
- a 2-layer Llama with random weights (seeded), saved as safetensors.

    python -m core demo-model --json      # -> {"path": ".../workspace/models/demo-tiny"}

Tests call ``build_demo_model(path, **overrides)`` to get bigger or smaller variants.
"""
from __future__ import annotations

import json
from pathlib import Path

DEMO_NAME = "demo-tiny"

# A ChatML template: the same shape Qwen/InternLM/Yi use, so prompts look like real ones.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

# Enough zh/en text that the BPE merges make natural tokens for self-introductions and chat.
_CORPUS = [
    "Hello! I am an AI assistant. How can I help you today?",
    "Who are you? Please introduce yourself. What is your name? Who made you?",
    "I am a helpful assistant developed by my author. I can answer questions, write and translate.",
    "The quick brown fox jumps over the lazy dog. Machine learning models learn from data.",
    "Fine-tuning adapts a pretrained language model to a new task with a small dataset.",
    "你好！我是一个人工智能助手。请问有什么可以帮您？",
    "你是谁？请做一下自我介绍。你叫什么名字？是谁开发了你？",
    "我是由我的作者开发的个人助手，我可以回答问题、写作和翻译。",
    "机器学习模型从数据中学习。微调让预训练语言模型适应新的任务。",
    "今天天气很好。我们一起学习大模型的训练和部署。",
]


def build_tokenizer(vocab_size: int = 1024):
    """A fast byte-level BPE tokenizer with ChatML specials and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|pad|>",
        unk_token=None,
        additional_special_tokens=["<|im_start|>", "<|endoftext|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_demo_model(
    path: Path | str,
    *,
    hidden_size: int = 128,
    intermediate_size: int = 512,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 4,
    num_key_value_heads: int = 2,
    vocab_size: int = 1024,
    max_position_embeddings: int = 2048,
    seed: int = 0,
) -> Path:
    """Write a random Llama + tokenizer to ``path`` (atomically) and return the path.

    Defaults make ``demo-tiny`` (~0.4M parameters, trains in about a minute on 2 CPU cores).
    Raise ``hidden_size`` / ``num_hidden_layers`` for benchmark-sized models.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    from core import workspace

    path = Path(path)
    tokenizer = build_tokenizer(vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        num_key_value_heads=num_key_value_heads,
        max_position_embeddings=max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
        # Wider than the usual 0.02 so a frozen lm_head can still express confident logits:
        # then the demo loss visibly falls towards 0 instead of plateauing near ln(vocab).
        initializer_range=0.1,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    with workspace.staged_dir(path) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / "workbench_demo.json").write_text(
            json.dumps({"built_by": "core.models.demo", "seed": seed}), encoding="utf-8"
        )
    return path


def ensure_demo_model() -> Path:
    """The workspace's ``demo-tiny``, built on first use."""
    from core import workspace

    path = workspace.models_dir() / DEMO_NAME
    with workspace.locked(path):  # two tabs asking at once: one builds, the other finds it built
        if not (path / "config.json").exists():
            build_demo_model(path)
    return path
