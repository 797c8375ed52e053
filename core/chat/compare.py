"""Compare a base model and any number of checkpoints on one prompt set, with numbers.

The base weights are loaded once (a core.models.loading.LoadedModel); every checkpoint is a
LoRA adapter attached to it, and all of them answer together: core.chat.batch.generate_many
puts every (model, prompt) pair into mixed-adapter batches, so base + 4 checkpoints × 8 prompts
is a few ``generate`` calls, not 40. Greedy answers are the same as chat's one at a time. With
reference answers each model gets BLEU, ROUGE-L and exact match (core.chat.metrics); with a
dataset, eval loss / perplexity on the run's eval split (core.data.shape.eval_split_rows).
Prompt sets come from core.chat.prompts.

    lm = load_base("demo-tiny")
    prompts = parse_prompt_text("Who are you?\\n你是谁？")
    result = run_compare(lm, prompts, ["RUN/checkpoint-50", "RUN/adapter"])
    result.table()               # prompt, reference, one column per model (pandas)
    save_result(result)          # runs/<id>/compare/<timestamp>.csv + .json, per run involved

Results are kept with each run they involve, under ``runs/<run_id>/compare/``.
This module knows nothing about Streamlit; progress is reported through a callback.
"""
from __future__ import annotations

import csv
import difflib
import io
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from core import workspace
from core.chat.prompts import REFERENCE_COLUMN, PromptItem, limit_prompts
from core.errors import UserError
from core.i18n import Joined, Msg

BASE_LABEL = "base"
COMPARE_DIR = "compare"

Progress = Callable[[float, str], None]


# ----------------------------------------------------------------------------- models


def run_eval_split(run_id: str) -> tuple[str, float, int, bool]:
    """(dataset, eval_ratio, seed, held_out) for a run: its own split, or 10 % when it had none."""
    from core.train.runs import read_config

    config = read_config(run_id)
    ratio = float(config.get("eval_ratio") or 0)
    return config.get("dataset", ""), ratio if ratio > 0 else 0.1, int(config.get("seed", 42)), ratio > 0


@dataclass
class ModelColumn:
    """One answer column: the base (adapter None) or one adapter folder."""

    label: str
    adapter: str | None = None
    run_id: str | None = None
    name: str | None = None  # "checkpoint-N" | "adapter"
    step: int | None = None


def _step_of(folder: Path) -> int | None:
    from core.train.runs import CHECKPOINT_RE, FINAL_ADAPTER, STATUS_FILE

    match = CHECKPOINT_RE.match(folder.name)
    if match:
        return int(match.group(1))
    if folder.name == FINAL_ADAPTER:
        state = workspace.read_json(folder.parent / STATUS_FILE, {}) or {}
        return state.get("step") or None
    return None


def adapter_column(spec: str | Path) -> ModelColumn:
    """``RUN``, ``RUN/checkpoint-N``, ``RUN/adapter`` or an adapter folder -> its column."""
    from core.train.runs import resolve_adapter

    folder = resolve_adapter(str(spec))
    runs_root = workspace.runs_dir().resolve()
    in_run = folder.resolve().parent.parent == runs_root
    run_id = folder.parent.name if in_run else None
    label = f"{run_id}/{folder.name}" if run_id else str(folder)
    return ModelColumn(label=label, adapter=str(folder), run_id=run_id, name=folder.name, step=_step_of(folder))


def model_columns(adapters: list[str | Path], include_base: bool = True) -> list[ModelColumn]:
    """Base first (optional), then each adapter once, in the given order."""
    columns = [ModelColumn(BASE_LABEL)] if include_base else []
    seen = set()
    for spec in adapters:
        column = adapter_column(spec)
        if column.adapter in seen:
            continue
        seen.add(column.adapter)
        columns.append(column)
    if not columns:
        raise UserError("err.chat.nothing_to_compare", hint="err.chat.nothing_to_compare.hint")
    return columns


def check_fits(model_path: Path | str, adapters: list[str | Path]) -> None:
    """Refuse, before anything is loaded, adapters trained on another base (all named at once)."""
    from core.models.loading import check_adapter_fits

    problems = []
    for adapter in adapters:
        try:
            check_adapter_fits(model_path, adapter)
        except UserError as err:
            problems.append(Msg("err.chat.other_base.problem", adapter=_short(adapter), problem=err.message))
    if problems:
        raise UserError("err.chat.other_base", model=Path(model_path).name, problems=Joined(problems),
                        field="adapters", hint="err.chat.other_base.hint")


def adapter_fits(model_path: Path | str, adapter: str | Path) -> bool:
    """Whether ``adapter`` was trained on ``model_path`` (or a model of the same shape)."""
    try:
        check_fits(model_path, [adapter])
        return True
    except UserError:
        return False


def _short(adapter: str | Path) -> str:
    folder = Path(adapter)
    return f"{folder.parent.name}/{folder.name}"


# ----------------------------------------------------------------------------- results


@dataclass
class CompareResult:
    model: str
    quantization: str
    settings: dict
    columns: list[ModelColumn]
    prompts: list[PromptItem]
    answers: dict[str, list[str]] = field(default_factory=dict)  # label -> one answer per prompt
    metrics: dict[str, dict] = field(default_factory=dict)  # label -> bleu/rouge_l/exact_match/eval_loss/...
    seconds: dict[str, float] = field(default_factory=dict)  # "answers" (all models at once), "eval_loss"
    eval_source: dict | None = None  # {"dataset", "eval_ratio", "seed", "rows"} when eval loss was measured
    created: float = field(default_factory=time.time)
    complete: bool = True  # False when stopped early
    saved: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.columns]

    @property
    def has_references(self) -> bool:
        return any(p.reference for p in self.prompts)

    def table(self):
        """pandas DataFrame: prompt, reference, then one column per model."""
        import pandas as pd

        data = {"prompt": [p.prompt for p in self.prompts],
                REFERENCE_COLUMN: [p.reference or "" for p in self.prompts]}
        for label in self.labels:
            answers = self.answers.get(label, [])
            data[label] = answers + [""] * (len(self.prompts) - len(answers))
        return pd.DataFrame(data)

    def to_csv(self) -> str:
        """The table as CSV text (UTF-8; ``to_csv_bytes`` adds a BOM so Excel shows Chinese).

        Every cell goes through ``untrusted.csv_cell``: an answer starting with ``=`` stays text.
        """
        from core.untrusted import csv_cell

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([csv_cell(c) for c in ["prompt", REFERENCE_COLUMN] + self.labels])
        for i, item in enumerate(self.prompts):
            row = [item.prompt, item.reference or ""]
            for label in self.labels:
                answers = self.answers.get(label, [])
                row.append(answers[i] if i < len(answers) else "")
            writer.writerow([csv_cell(c) for c in row])
        return buffer.getvalue()

    def to_csv_bytes(self) -> bytes:
        return self.to_csv().encode("utf-8-sig")

    def metrics_table(self):
        """pandas DataFrame, one row per model: run, checkpoint, step and every metric measured."""
        import pandas as pd

        from core.chat.metrics import COMPARE_METRICS

        rows = []
        for column in self.columns:
            m = self.metrics.get(column.label, {})
            rows.append({"model": column.label, "run": column.run_id or "", "checkpoint": column.name or "",
                         "step": column.step, **{key: m.get(key) for key in COMPARE_METRICS}})
        return pd.DataFrame(rows)

    def differing_prompts(self) -> list[int]:
        """Indices of prompts where the models do not all give the same answer."""
        out = []
        for i in range(len(self.prompts)):
            answers = {_norm(self.answers[label][i]) for label in self.labels
                       if i < len(self.answers.get(label, []))}
            if len(answers) > 1:
                out.append(i)
        return out

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "CompareResult":
        data = dict(data)
        data["columns"] = [ModelColumn(**c) for c in data.get("columns", [])]
        data["prompts"] = [PromptItem(**p) for p in data.get("prompts", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip())


def run_compare(
    lm,
    prompts: list[PromptItem],
    adapters: list[str | Path],
    settings=None,
    *,
    include_base: bool = True,
    eval_rows: list[dict] | None = None,
    eval_source: dict | None = None,
    max_length: int = 1024,
    batch_rows: int | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CompareResult:
    """Answer every prompt with the base and every adapter, on one loaded base, and score them.

    Args:
        lm: the LoadedModel (base weights in memory once; adapters attached to it).
        prompts: the prompt set (core.chat.prompts).
        adapters: ``RUN/checkpoint-N`` specs or adapter folders.
        settings: core.chat.generate.GenerationSettings; greedy (GREEDY) when None.
        eval_rows: chat rows (a dataset's eval split) to measure eval loss / perplexity on.
        batch_rows: rows per batched ``generate`` (core.chat.batch.DEFAULT_BATCH_ROWS when None).
        progress: called with (fraction 0-1, message as a Msg).
        should_stop: polled between batches; True ends early with what is done (``complete`` False).
    Raises:
        UserError: a checkpoint from another base model, an empty prompt set, bad settings.
    """
    from core.chat import metrics as M
    from core.chat.batch import DEFAULT_BATCH_ROWS, Request, generate_many
    from core.chat.generate import GREEDY

    settings = (settings or GREEDY).validate()
    prompts = limit_prompts(list(prompts))
    columns = model_columns(adapters, include_base)
    check_fits(lm.path, [c.adapter for c in columns if c.adapter])
    result = CompareResult(model=str(lm.path), quantization=lm.quantization, settings=settings.to_dict(),
                           columns=columns, prompts=prompts, eval_source=eval_source)
    requests = [Request(item.chat_messages(), column.adapter) for column in columns for item in prompts]
    encoded = M.tokenize_for_loss(lm.tokenizer, eval_rows, max_length) if eval_rows else None
    total = len(requests) + (len(columns) * len(prompts) if encoded else 0)

    def report(done: int, message: Msg) -> None:
        if progress:
            progress(min(done / total, 1.0), message)

    started = time.perf_counter()
    answers = generate_many(lm, requests, settings, batch_rows=batch_rows or DEFAULT_BATCH_ROWS,
                            should_stop=should_stop,
                            progress=lambda done, n: report(done, Msg("progress.compare.answers", done=done, n=n)))
    result.seconds["answers"] = time.perf_counter() - started
    result.complete = all(answer is not None for answer in answers)
    for c, column in enumerate(columns):
        own = answers[c * len(prompts):(c + 1) * len(prompts)]
        result.answers[column.label] = [a if a is not None else "" for a in own]  # "" = not reached
    if not result.complete:
        report(total, Msg("progress.compare.stopped"))
        return result
    started = time.perf_counter()
    for c, column in enumerate(columns):
        scores = M.score_answers(result.answers[column.label], [p.reference for p in prompts]) \
            if result.has_references else {}
        if encoded is not None:
            if should_stop and should_stop():
                result.complete = False
                break
            report(len(requests) + c * len(prompts), Msg("progress.compare.eval_loss", label=column.label))
            scores.update(M.eval_loss(lm, eval_rows, column.adapter, encoded=encoded))
        result.metrics[column.label] = scores
    if encoded is not None:
        result.seconds["eval_loss"] = time.perf_counter() - started
    report(total, Msg("progress.done"))
    return result


def score_result(result: CompareResult) -> CompareResult:
    """(Re)compute text metrics for every model (e.g. after references were added)."""
    from core.chat import metrics as M

    refs = [p.reference for p in result.prompts]
    for label in result.labels:
        answers = result.answers.get(label, [])
        if len(answers) == len(refs) and any(refs):
            result.metrics.setdefault(label, {}).update(M.score_answers(answers, refs))
    return result


def metric_curves(result: CompareResult):
    """Long table (model, run, step, metric, value) of the checkpoints with a step, for plotting
    each metric against the training step; the base row has step None (drawn as a reference line)."""
    import pandas as pd

    from core.chat.metrics import COMPARE_METRICS

    rows = []
    for column in result.columns:
        for key in COMPARE_METRICS:
            value = result.metrics.get(column.label, {}).get(key)
            if value is not None:
                rows.append({"model": column.label, "run": column.run_id or BASE_LABEL, "step": column.step,
                             "checkpoint": column.name or BASE_LABEL, "metric": key, "value": value})
    return pd.DataFrame(rows, columns=["model", "run", "step", "checkpoint", "metric", "value"])


def best_checkpoints(result: CompareResult) -> dict[str, str]:
    """metric -> the label of the best adapter on it (core.chat.metrics.LOWER_IS_BETTER says which way)."""
    from core.chat.metrics import COMPARE_METRICS, best_of

    best: dict[str, str] = {}
    for key in COMPARE_METRICS:
        label = best_of(key, [(result.metrics.get(c.label, {}).get(key), c.label)
                              for c in result.columns if c.adapter])
        if label is not None:
            best[key] = label
    return best


# ----------------------------------------------------------------------------- differences


def diff_segments(base: str, other: str) -> list[tuple[str, bool]]:
    """``other`` cut into (text, differs_from_base) pieces, word by word (character by character for CJK).

    For the per-prompt view: the pieces marked True are what this answer says differently.
    """
    def units(text: str) -> list[str]:
        return re.findall(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+|\s+", text or "")

    a, b = units(base), units(other)
    out: list[tuple[str, bool]] = []
    for tag, _, _, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        piece = "".join(b[j1:j2])
        if not piece:
            continue
        changed = tag != "equal"
        if out and out[-1][1] == changed:
            out[-1] = (out[-1][0] + piece, changed)
        else:
            out.append((piece, changed))
    return out


# ----------------------------------------------------------------------------- saving


def save_result(result: CompareResult, run_ids: list[str] | None = None) -> list[str]:
    """Write ``<timestamp>.csv`` + ``.json`` into ``runs/<id>/compare/`` of every run involved
    (atomically); returns the JSON paths. A comparison of the base alone is not saved."""
    from core.train.runs import run_dir

    run_ids = run_ids if run_ids is not None else sorted({c.run_id for c in result.columns if c.run_id})
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.created))
    targets = []
    for run_id in run_ids:
        folder = run_dir(run_id) / COMPARE_DIR
        name, n = stamp, 1
        while (folder / f"{name}.json").exists():
            n += 1
            name = f"{stamp}-{n}"
        targets.append(folder / name)
    saved = [str(t.with_suffix(".json")) for t in targets]
    result.saved = saved
    csv_bytes = result.to_csv_bytes()
    for target in targets:
        workspace.atomic_write_bytes(target.with_suffix(".csv"), csv_bytes)
        workspace.atomic_write_json(target.with_suffix(".json"), result.to_dict())
    return saved


def list_saved(run_ids: list[str] | None = None) -> list[dict]:
    """Saved comparisons, newest first: ``{"path", "run_id", "created", "models", "prompts"}``."""
    from core.train.runs import list_run_ids, run_dir

    found = []
    for run_id in run_ids or list_run_ids():
        folder = run_dir(run_id) / COMPARE_DIR
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            data = workspace.read_json(path, {}) or {}
            found.append({"path": str(path), "run_id": run_id, "created": data.get("created", 0),
                          "models": [c.get("label") for c in data.get("columns", [])],
                          "prompts": len(data.get("prompts", []))})
    return sorted(found, key=lambda d: d["created"], reverse=True)


def load_saved(path: Path | str) -> CompareResult:
    data = workspace.read_json(path)
    if not data:
        raise UserError("err.chat.saved_unreadable", path=path)
    return CompareResult.from_dict(data)
