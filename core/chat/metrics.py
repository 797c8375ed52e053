"""Scores for comparing checkpoints: BLEU, ROUGE-L, exact match, and eval loss / perplexity.

Text metrics compare a model's answers with reference answers:

- BLEU is sacrebleu's corpus BLEU (0-100) with ``tokenize="zh"`` when the texts contain
  Chinese (CJK) characters, else the standard ``"13a"``; ``effective_order`` so short answers
  (fewer than four words) are not scored 0 when they are right.
- ROUGE-L is the mean F-measure (0-1) of rouge-score's LCS. Its default tokenizer drops
  every non-ASCII character, so Chinese text is cut into words with jieba first (the
  usual choice of Chinese SFT evaluation scripts); English keeps rouge-score's own tokenizer.
- Exact match (0-1) after trimming and collapsing whitespace; case counts.

Eval loss is the mean cross-entropy over assistant tokens only (the tokens training learns,
see core.train.tokenize), weighted by tokens; perplexity is ``exp(loss)``.

    >>> score_answers(["我是小智"], ["我是小智"])["bleu"]      # doctest: +SKIP
    100.0
    >>> eval_loss(lm, rows, adapter="runs/abc/checkpoint-50")  # doctest: +SKIP
    {'eval_loss': 0.41, 'perplexity': 1.51, 'tokens': 1830, 'rows': 200}

Heavy imports (sacrebleu, rouge-score, jieba, torch) happen inside the functions.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Callable

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w", re.UNICODE)

METRIC_KEYS = ("bleu", "rouge_l", "exact_match")  # the text metrics against references
LOSS_KEYS = ("eval_loss", "perplexity")  # on a dataset's eval split
COMPARE_METRICS = METRIC_KEYS + LOSS_KEYS  # what a comparison measures per model
# Every score the per-run scoreboard (core.eval.scoreboard) can hold for a checkpoint, in column order.
SCOREBOARD_METRICS = ("train_loss", "eval_loss", "identity_seen", "identity_heldout", "general_perplexity",
                      "perplexity_delta", "drift_rouge_l", "bench_accuracy", "bleu", "rouge_l")
# Scores where less is better (losses, perplexities and how much perplexity grew); higher is better
# for every other one (hit rates, accuracy, ROUGE-L to the base's answers = how much was kept).
LOWER_IS_BETTER = frozenset({"train_loss", "eval_loss", "perplexity", "general_perplexity", "perplexity_delta"})


def best_of(metric: str, scored: list[tuple[float | None, str]]) -> str | None:
    """The label with the best value of ``metric`` among ``(value, label)`` pairs (None values skipped)."""
    present = [(value, label) for value, label in scored if value is not None]
    if not present:
        return None
    pick = min if metric in LOWER_IS_BETTER else max
    return pick(present, key=lambda pair: pair[0])[1]


def has_cjk(text: str) -> bool:
    """True when ``text`` holds Chinese/Japanese/Korean characters."""
    return bool(_CJK.search(text or ""))


def normalize(text: str) -> str:
    """Trimmed, with runs of whitespace collapsed to one space (what exact match compares)."""
    return _SPACE.sub(" ", (text or "").strip())


def bleu_tokenizer(texts: list[str]) -> str:
    """sacrebleu's tokenizer for these texts: ``zh`` if any has CJK characters, else ``13a``."""
    return "zh" if any(has_cjk(t) for t in texts) else "13a"


def corpus_bleu(predictions: list[str], references: list[str], tokenize: str | None = None) -> float:
    """Corpus BLEU (0-100) of predictions against one reference each."""
    from sacrebleu.metrics import BLEU

    _check_lengths(predictions, references)
    if not predictions:
        return 0.0
    preds = [normalize(p) for p in predictions]
    refs = [normalize(r) for r in references]
    if preds == refs:  # also covers all-empty pairs, where n-gram counts are 0/0
        return 100.0
    tokenize = tokenize or bleu_tokenizer(refs + preds)
    return float(BLEU(tokenize=tokenize, effective_order=True).corpus_score(preds, [refs]).score)


def sentence_bleu(prediction: str, reference: str, tokenize: str | None = None) -> float:
    """BLEU (0-100) of one answer, smoothed (for the per-prompt view)."""
    from sacrebleu.metrics import BLEU

    pred, ref = normalize(prediction), normalize(reference)
    if pred == ref:
        return 100.0
    tokenize = tokenize or bleu_tokenizer([ref, pred])
    return float(BLEU(tokenize=tokenize, effective_order=True).sentence_score(pred, [ref]).score)


class _ChineseAwareTokenizer:
    """rouge-score tokenizer: jieba words for text with CJK, rouge-score's default otherwise."""

    def __init__(self):
        from rouge_score import tokenizers

        self._default = tokenizers.DefaultTokenizer(use_stemmer=False)
        self._jieba = None

    def _cut(self, text: str) -> list[str]:
        if self._jieba is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)  # it prints its dictionary loading otherwise
            self._jieba = jieba
        return [w.lower() for w in self._jieba.lcut(text) if _WORD.search(w)]

    def tokenize(self, text: str) -> list[str]:
        if has_cjk(text):
            return self._cut(text)
        return self._default.tokenize(text)


def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=_ChineseAwareTokenizer())


def rouge_l(predictions: list[str], references: list[str]) -> float:
    """Mean ROUGE-L F-measure (0-1) over the pairs."""
    _check_lengths(predictions, references)
    if not predictions:
        return 0.0
    scorer = _rouge_scorer()
    return sum(_rouge_pair(scorer, p, r) for p, r in zip(predictions, references)) / len(predictions)


def _rouge_pair(scorer, prediction: str, reference: str) -> float:
    pred, ref = normalize(prediction), normalize(reference)
    if pred == ref:
        return 1.0  # rouge-score gives 0 for two empty texts
    return float(scorer.score(ref, pred)["rougeL"].fmeasure)


def exact_match(predictions: list[str], references: list[str]) -> float:
    """Share (0-1) of predictions equal to their reference after whitespace normalisation."""
    _check_lengths(predictions, references)
    if not predictions:
        return 0.0
    return sum(normalize(p) == normalize(r) for p, r in zip(predictions, references)) / len(predictions)


def score_answers(predictions: list[str], references: list[str]) -> dict:
    """All three text metrics for one model's answers.

    Returns ``{"bleu": 0-100, "rouge_l": 0-1, "exact_match": 0-1, "n": pairs, "tokenize": "zh"|"13a"}``.
    Pairs whose reference is None or empty-after-strip are skipped (prompts without references).
    """
    pairs = [(p or "", r) for p, r in zip(predictions, references) if r is not None and str(r).strip()]
    preds = [p for p, _ in pairs]
    refs = [r for _, r in pairs]
    tokenize = bleu_tokenizer(refs + preds) if pairs else "13a"
    return {
        "bleu": corpus_bleu(preds, refs, tokenize) if pairs else None,
        "rouge_l": rouge_l(preds, refs) if pairs else None,
        "exact_match": exact_match(preds, refs) if pairs else None,
        "n": len(pairs),
        "tokenize": tokenize,
    }


def answer_scores(prediction: str, reference: str | None) -> dict:
    """Per-answer BLEU / ROUGE-L / exact match, for the per-prompt view (None without a reference)."""
    if reference is None or not str(reference).strip():
        return {"bleu": None, "rouge_l": None, "exact_match": None}
    return {
        "bleu": sentence_bleu(prediction, reference),
        "rouge_l": _rouge_pair(_rouge_scorer(), prediction, reference),
        "exact_match": float(normalize(prediction) == normalize(reference)),
    }


def _check_lengths(predictions: list, references: list) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")


# ----------------------------------------------------------------------------- eval loss


def tokenize_for_loss(tokenizer, rows: list[dict], max_length: int = 1024) -> list[tuple[list[int], list[int], int]]:
    """Distinct rows -> ``(input_ids, assistant_mask, count)``, truncated like training does.

    Repeat-N datasets hold the same conversation thousands of times; each distinct row is
    scored once and weighted by how often it occurs, which gives the same mean.
    """
    from core.train.tokenize import tokenize_row

    counts: dict[str, int] = {}
    order: list[str] = []
    for row in rows:
        key = json.dumps(row, sort_keys=True, ensure_ascii=False)
        if key not in counts:
            order.append(key)
            counts[key] = 0
        counts[key] += 1
    out = []
    for key in order:
        encoded = tokenize_row(tokenizer, json.loads(key))
        ids = encoded["input_ids"][:max_length]
        mask = encoded["assistant_masks"][:max_length]
        if sum(mask[1:]) > 0:  # nothing to score when no assistant token survives truncation
            out.append((ids, mask, counts[key]))
    return out


def eval_loss(
    lm,
    rows: list[dict],
    adapter: Path | str | None = None,
    *,
    max_length: int = 1024,
    batch_size: int = 8,
    encoded: list[tuple[list[int], list[int], int]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Mean assistant-token loss and perplexity of base (adapter None) or base+adapter on ``rows``.

    Args:
        lm: a core.models.loading.LoadedModel; the adapter is switched on it, not reloaded.
        rows: canonical chat rows (e.g. a dataset's eval split).
        encoded: the result of ``tokenize_for_loss`` to reuse across adapters.
    Returns:
        ``{"eval_loss": float, "perplexity": float, "tokens": int, "rows": int}``
        (loss None when no row has an assistant token).
    """
    import torch

    if encoded is None:
        encoded = tokenize_for_loss(lm.tokenizer, rows, max_length)
    total_loss, total_tokens, total_rows = 0.0, 0, 0
    pad_id = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
    # Similar lengths together keep padding (wasted compute) small.
    ordered = sorted(encoded, key=lambda item: len(item[0]))
    with lm.using(adapter) as model, torch.inference_mode():
        for start in range(0, len(ordered), batch_size):
            batch = ordered[start:start + batch_size]
            width = max(len(ids) for ids, _, _ in batch)
            input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            attention = torch.zeros((len(batch), width), dtype=torch.long)
            weights = torch.zeros((len(batch), width), dtype=torch.float32)
            for i, (ids, mask, count) in enumerate(batch):
                input_ids[i, :len(ids)] = torch.tensor(ids)
                attention[i, :len(ids)] = 1
                weights[i, :len(ids)] = torch.tensor(mask, dtype=torch.float32) * count
            device = lm.device
            logits = model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).logits
            logits = logits[:, :-1].float()
            targets = input_ids[:, 1:].to(logits.device)
            token_weights = weights[:, 1:].to(logits.device)
            nll = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
            ).view(targets.shape)
            total_loss += float((nll * token_weights).sum())
            total_tokens += int(token_weights.sum())
            total_rows += sum(count for _, _, count in batch)
            if progress:
                progress(min(start + batch_size, len(ordered)), len(ordered))
    if total_tokens == 0:
        return {"eval_loss": None, "perplexity": None, "tokens": 0, "rows": total_rows}
    loss = total_loss / total_tokens
    return {"eval_loss": loss, "perplexity": math.exp(min(loss, 50.0)), "tokens": total_tokens,
            "rows": total_rows}
