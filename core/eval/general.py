"""Forgetting check: did fine-tuning cost the model what it knew?

Two numbers per checkpoint, both against the base:

- perplexity on a general text the user picks (any text file, a dataset, the Wikipedia demo
  text): the text is cut into windows of ``window`` tokens, every token scored; a checkpoint
  whose perplexity rose far above the base's has drifted from ordinary language.
- drift on a general prompt set unrelated to the fine-tune: every model answers the same
  prompts (one batched generation) and ROUGE-L between each checkpoint's answer and the base's
  says how much of the base's behaviour is kept (1 = same answers, 0 = nothing in common). The
  answers are returned to read.

    text = load_general_text(path="wiki_demo.txt")
    rows = measure_general(lm, ["RUN/checkpoint-10"], text=text)
    rows[1]["perplexity"], rows[1]["perplexity_delta"], rows[1]["drift_rouge_l"]
"""
from __future__ import annotations

import math
from pathlib import Path

from core.errors import UserError

# Everyday questions with no bearing on identity or any one fine-tune (the default drift set).
GENERAL_PROMPTS = (
    "What is the capital of France?", "Explain photosynthesis in two sentences.",
    "Write a haiku about autumn.", "How many days are in a leap year?",
    "Give me three tips for learning a new language.", "What does a CPU do?",
    "中国的首都是哪里？", "请用一句话解释什么是机器学习。", "写一首关于春天的短诗。",
    "一年有几个季节？分别是什么？", "如何煮一碗好吃的面条？", "水在多少度沸腾？",
)
DEFAULT_WINDOW = 256
MAX_TEXT_TOKENS = 8192  # longer texts are cut: a few thousand tokens already give a stable perplexity


def load_general_text(path: Path | str | None = None, dataset: str | None = None) -> str:
    """The text to measure perplexity on: a file (any text encoding core.data.readers reads) or
    a saved dataset (every message of every row)."""
    if path:
        from core.data.readers import decode_bytes

        file = Path(path).expanduser()
        if not file.is_file():
            raise UserError("err.eval.text_not_found", field="text", path=str(file))
        return decode_bytes(file.read_bytes())[0]
    if dataset:
        from core.data import store

        rows = store.load_rows(dataset)
        parts = [str(m.get("content", "")) for row in rows for m in row.get("messages", [])]
        parts += [str(row["text"]) for row in rows if isinstance(row.get("text"), str)]
        return "\n".join(p for p in parts if p.strip())
    raise UserError("err.eval.text_missing", field="text", hint="err.eval.text_missing.hint")


def text_windows(tokenizer, text: str, window: int = DEFAULT_WINDOW,
                 max_tokens: int = MAX_TEXT_TOKENS) -> list[list[int]]:
    """The text's tokens (at most ``max_tokens``) cut into windows of ``window`` tokens."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens]
    windows = [ids[i:i + window] for i in range(0, len(ids), window)]
    windows = [w for w in windows if len(w) >= 2]
    if not windows:
        raise UserError("err.eval.text_short", field="text")
    return windows


def perplexity(lm, adapter, windows: list[list[int]], batch_size: int = 8) -> float:
    """exp(mean next-token loss) over every window, with ``adapter`` (None = the base)."""
    import torch

    pad_id = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    total, count = 0.0, 0
    with lm.using(adapter) as model, torch.inference_mode():
        for start in range(0, len(windows), batch_size):
            batch = windows[start:start + batch_size]
            width = max(len(w) for w in batch)
            ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, window in enumerate(batch):
                ids[i, :len(window)] = torch.tensor(window)
                mask[i, :len(window)] = 1
            ids, mask = ids.to(lm.device), mask.to(lm.device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            targets, weights = ids[:, 1:], mask[:, 1:].float()
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                                    reduction="none").view(targets.shape)
            total += float((nll * weights).sum())
            count += int(weights.sum())
    return math.exp(min(total / count, 50.0))


def drift_scores(base_answers: list[str], answers: list[str]) -> float:
    """Mean ROUGE-L between a checkpoint's answers and the base's (1 = unchanged)."""
    from core.chat.metrics import rouge_l

    return rouge_l(answers, base_answers)


def measure_general(lm, adapters: list[str | Path], *, text: str | None = None,
                    prompts: list[str] | None = None, settings=None, window: int = DEFAULT_WINDOW,
                    progress=None) -> list[dict]:
    """Per model (base first): ``{"label", "perplexity", "perplexity_delta", "drift_rouge_l", "answers"}``.

    ``text`` None skips perplexity; ``prompts`` None uses GENERAL_PROMPTS. The base is always
    measured (it is what the others are compared with).
    """
    from core.chat.batch import Request, generate_many
    from core.chat.compare import check_fits, model_columns
    from core.chat.generate import GenerationSettings

    settings = settings or GenerationSettings(max_new_tokens=64, temperature=0, repetition_penalty=1.0)
    columns = model_columns(adapters, include_base=True)
    check_fits(lm.path, [c.adapter for c in columns if c.adapter])
    prompts = list(prompts) if prompts else list(GENERAL_PROMPTS)
    requests = [Request([{"role": "user", "content": p}], c.adapter) for c in columns for p in prompts]
    answers = generate_many(lm, requests, settings, progress=progress)
    per_model = [[a or "" for a in answers[i * len(prompts):(i + 1) * len(prompts)]] for i in range(len(columns))]
    windows = text_windows(lm.tokenizer, text, window) if text else None
    rows = []
    for column, own in zip(columns, per_model):
        ppl = perplexity(lm, column.adapter, windows) if windows else None
        rows.append({"label": column.label, "perplexity": ppl,
                     "drift_rouge_l": drift_scores(per_model[0], own) if column.adapter else 1.0,
                     "answers": [{"prompt": p, "answer": a} for p, a in zip(prompts, own)]})
    base_ppl = rows[0]["perplexity"]
    for row in rows:
        row["perplexity_delta"] = row["perplexity"] - base_ppl if row["perplexity"] is not None else None
    return rows
