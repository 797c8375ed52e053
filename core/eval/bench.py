"""Multiple-choice accuracy on a local benchmark file, through lm-evaluation-harness.

The file has the C-Eval / MMLU layout: a question, four options A-D and the answer letter —
a CSV with a header (``question,A,B,C,D,answer``; C-Eval's ``id`` and ``explanation`` columns
are ignored; 题目/问题 and 答案 work too) or MMLU's header-less CSV (question, A, B, C, D, answer).
It is checked and normalised here (a clear message names a bad row), written as JSONL, and
scored by lm-eval as a zero-shot ``multiple_choice`` task: the model's log-likelihood of each
letter after ``question / A. … / D. … / Answer:`` — lm-eval's MMLU prompt. Each checkpoint is
lm-eval's Hugging Face model with the adapter as ``peft=``.

    scores = run_benchmark("demo-tiny", ["RUN/checkpoint-10"], "ceval_sample.csv")
    scores[0]   # {"label": "base", "accuracy": 0.25, "n": 4}
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from core.errors import UserError

CHOICES = ("A", "B", "C", "D")
QUESTION_NAMES = ("question", "题目", "问题")
ANSWER_NAMES = ("answer", "答案")
TASK_NAME = "workbench_local_mc"
PROMPT_TEMPLATE = "{{question.strip()}}\nA. {{A}}\nB. {{B}}\nC. {{C}}\nD. {{D}}\nAnswer:"


def _cell(row: dict, names: tuple[str, ...]) -> str | None:
    lowered = {str(k).strip().lower(): v for k, v in row.items()}
    for name in names:
        if name in lowered and lowered[name] is not None:
            return str(lowered[name]).strip()
    return None


def read_benchmark(path: Path | str) -> list[dict]:
    """The file's questions as ``{"question", "A", "B", "C", "D", "answer"}`` (answer a letter)."""
    import csv
    import io

    from core.data.readers import decode_bytes

    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError("err.eval.bench_not_found", field="file", path=str(file))
    text = decode_bytes(file.read_bytes())[0]
    table = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not table:
        raise UserError("err.eval.bench_empty", field="file", path=str(file))
    header = [h.strip().lstrip("\ufeff") for h in table[0]]
    has_header = _cell(dict(zip(header, header)), QUESTION_NAMES) is not None
    if has_header:
        records = [(i, dict(zip(header, row))) for i, row in enumerate(table[1:], 2)]
    else:  # MMLU: question, A, B, C, D, answer without a header
        keys = ("question", *CHOICES, "answer")
        records = [(i, dict(zip(keys, row))) for i, row in enumerate(table, 1)]
    items = []
    for line, record in records:
        item = {"question": _cell(record, QUESTION_NAMES) or "",
                **{c: _cell(record, (c.lower(),)) or "" for c in CHOICES},
                "answer": (_cell(record, ANSWER_NAMES) or "").upper()}
        if not item["question"] or item["answer"] not in CHOICES or not all(item[c] for c in CHOICES):
            raise UserError("err.eval.bench_row", field="file", hint="err.eval.bench_row.hint", line=line)
        items.append(item)
    if not items:
        raise UserError("err.eval.bench_empty", field="file", path=str(file))
    return items


def task_config(jsonl_path: Path) -> dict:
    """lm-eval's task config for the normalised file (zero-shot multiple choice, accuracy)."""
    return {
        "task": TASK_NAME,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(jsonl_path)}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": PROMPT_TEMPLATE,
        "doc_to_choice": list(CHOICES),
        "doc_to_target": "{{answer}}",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1.0},
    }


def _accuracy(model_path: Path, adapter: str | None, config: dict, batch_size: int) -> float:
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM

    from core.system import compute_dtype_name

    import torch

    model = HFLM(pretrained=str(model_path), peft=adapter, batch_size=batch_size,
                 device="cuda" if torch.cuda.is_available() else "cpu", dtype=compute_dtype_name())
    results = simple_evaluate(model=model, tasks=[config], num_fewshot=0, log_samples=False,
                              bootstrap_iters=0, verbosity="ERROR")
    return float(results["results"][TASK_NAME]["acc,none"])


def run_benchmark(model: str | Path, adapters: list[str | Path], file: Path | str, *,
                  include_base: bool = True, batch_size: int = 8, progress=None) -> list[dict]:
    """Accuracy of the base and each adapter: ``[{"label", "accuracy", "n"}]``."""
    from core.chat.compare import check_fits, model_columns
    from core.models.registry import resolve_model

    model_path = resolve_model(str(model))
    columns = model_columns(adapters, include_base)
    check_fits(model_path, [c.adapter for c in columns if c.adapter])
    items = read_benchmark(file)
    out = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        jsonl = Path(tmp) / "test.jsonl"
        jsonl.write_text("\n".join(json.dumps(item, ensure_ascii=False) for item in items), encoding="utf-8")
        config = task_config(jsonl)
        for i, column in enumerate(columns):
            if progress:
                progress(i, len(columns))
            out.append({"label": column.label, "accuracy": _accuracy(model_path, column.adapter, config, batch_size),
                        "n": len(items)})
    if progress:
        progress(len(columns), len(columns))
    return out
