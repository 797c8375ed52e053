"""Compare a base model and any number of checkpoints on one prompt set, with numbers.

The base weights are loaded once (a core.models.loading.LoadedModel); every checkpoint is a
LoRA adapter attached to it and switched by name, so comparing ten checkpoints costs one
model load. Each prompt is answered by the base and by every adapter with
core.chat.generate.generate_reply — the same call as chat, so the table shows exactly what
chat would say (greedy by default). With reference answers each model gets BLEU, ROUGE-L and
exact match (core.chat.metrics); with a dataset, eval loss / perplexity on its eval split.

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
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from core import workspace
from core.errors import UserError
from core.i18n import Joined, Msg

BASE_LABEL = "base"
COMPARE_DIR = "compare"
MAX_PROMPTS = 2000
PROMPT_KEYS = ("prompt", "question", "instruction", "query", "input", "text")
REFERENCE_SEPARATOR = "|||"
REFERENCE_KEYS = ("reference", "answer", "output", "response", "target", "label", "completion")

Progress = Callable[[float, str], None]


# ----------------------------------------------------------------------------- prompt sets


@dataclass
class PromptItem:
    """One prompt; ``messages`` (when set) is the whole context to answer, ending with the user turn."""

    prompt: str
    reference: str | None = None
    messages: list[dict] | None = None

    def chat_messages(self) -> list[dict]:
        return list(self.messages) if self.messages else [{"role": "user", "content": self.prompt}]


def _limit(items: list[PromptItem]) -> list[PromptItem]:
    if not items:
        raise UserError("err.chat.prompts_empty", field="prompts", hint="err.chat.prompts_empty.hint")
    if len(items) > MAX_PROMPTS:
        raise UserError("err.chat.too_many_prompts", n=len(items), max=MAX_PROMPTS, field="prompts",
                        hint="err.chat.too_many_prompts.hint")
    return items


def parse_prompt_text(text: str) -> list[PromptItem]:
    """One prompt per non-empty line; ``prompt ||| reference`` (or ``prompt<TAB>reference``) adds
    a reference answer. ``|||`` is there because a browser text box cannot take a TAB."""
    items = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        prompt, sep, reference = line.partition(REFERENCE_SEPARATOR)
        if not sep:
            prompt, sep, reference = line.partition("\t")
        items.append(PromptItem(prompt.strip(), reference.strip() if sep and reference.strip() else None))
    return _limit(items)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError:
            continue
    raise UserError("err.chat.not_text", field="prompts", hint="err.chat.not_text.hint")


def _pick(record: dict, keys: tuple[str, ...]) -> str | None:
    lowered = {str(k).lower(): v for k, v in record.items()}
    for key in keys:
        value = lowered.get(key)
        if value is not None and str(value).strip():
            return str(value)
    return None


def _item_from_record(record, line: int) -> PromptItem:
    if isinstance(record, str):
        return PromptItem(record.strip())
    if not isinstance(record, dict):
        raise UserError("err.chat.line_not_object", line=line, field="prompts")
    if isinstance(record.get("messages"), list):
        row_items = prompts_from_rows([record])
        if not row_items:
            raise UserError("err.chat.line_no_user", line=line, field="prompts")
        return row_items[0]
    prompt = _pick(record, PROMPT_KEYS)
    if prompt is None:
        raise UserError("err.chat.line_no_prompt", line=line, field="prompts",
                        hint="err.chat.prompt_keys", keys=", ".join(PROMPT_KEYS))
    if record.get("instruction") and record.get("input"):  # Alpaca: instruction + input
        prompt = f"{record['instruction']}\n{record['input']}"
    return PromptItem(prompt.strip(), _pick(record, REFERENCE_KEYS))


def parse_prompt_file(data: bytes, filename: str) -> list[PromptItem]:
    """Prompts from a file: .txt (one per line, ``prompt ||| reference`` or TAB allowed), .jsonl/.json
    (objects with prompt/question/instruction and optionally reference/answer/output, strings,
    or chat rows ``{"messages": [...]}`` whose last assistant turn is the reference), or .csv/.tsv
    with a header naming those columns."""
    text = _decode(data)
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".jsonl", ".ndjson") or (suffix == ".json" and not text.lstrip().startswith("[")):
        items = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as err:
                raise UserError("err.chat.line_json", line=number, reason=err.msg, field="prompts") from err
            items.append(_item_from_record(record, number))
        return _limit(items)
    if suffix == ".json":
        try:
            records = json.loads(text)
        except ValueError as err:
            raise UserError("err.chat.file_json", reason=err.msg, line=err.lineno, field="prompts") from err
        return _limit([_item_from_record(r, i) for i, r in enumerate(records, 1)])
    if suffix in (".csv", ".tsv"):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        if not reader.fieldnames or not any(str(f).lower() in PROMPT_KEYS for f in reader.fieldnames):
            raise UserError("err.chat.csv_no_prompt", field="prompts",
                            hint="err.chat.csv_no_prompt.hint", keys=", ".join(PROMPT_KEYS))
        return _limit([_item_from_record(r, i) for i, r in enumerate(reader, 2)])
    if suffix in ("", ".txt", ".text", ".md"):
        return parse_prompt_text(text)
    raise UserError("err.chat.file_type", suffix=suffix, field="prompts", hint="err.chat.file_type.hint")


def read_prompt_file(path: Path | str, references: Path | str | None = None) -> list[PromptItem]:
    """``parse_prompt_file`` on a path; ``references`` is an optional file with one answer per line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError("err.chat.prompt_file_missing", path=path, field="prompts")
    items = parse_prompt_file(path.read_bytes(), path.name)
    if references:
        ref_path = Path(references).expanduser()
        if not ref_path.is_file():
            raise UserError("err.chat.reference_file_missing", path=ref_path, field="references")
        lines = [line for line in _decode(ref_path.read_bytes()).split("\n")]
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) != len(items):
            raise UserError("err.chat.reference_count", n=len(items), lines=len(lines), field="references",
                            hint="err.chat.reference_count.hint")
        for item, line in zip(items, lines):
            item.reference = line.strip() or None
    return items


def prompts_from_rows(rows: list[dict], limit: int | None = None) -> list[PromptItem]:
    """Chat rows -> prompts whose reference is the last assistant reply (duplicates dropped).

    The context is every message before that reply, so multi-turn rows keep their history.
    Rows without a user turn (plain text rows) are skipped.
    """
    items: list[PromptItem] = []
    seen: set[str] = set()
    for row in rows:
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list):
            continue
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
        context = messages[:last] if last is not None else messages
        if not context or context[-1].get("role") != "user":
            continue
        reference = messages[last]["content"] if last is not None else None
        key = json.dumps([context, reference], ensure_ascii=False, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        items.append(PromptItem(str(context[-1].get("content", "")), reference,
                                [{"role": m["role"], "content": m.get("content", "")} for m in context]))
        if limit and len(items) >= limit:
            break
    return items


def eval_split_rows(dataset: str, eval_ratio: float = 0.1, seed: int = 42) -> list[dict]:
    """The rows of ``dataset`` a run with this ``eval_ratio`` and ``seed`` held out for eval.

    Uses the same ``datasets.Dataset.train_test_split`` the training worker uses, on row
    indices, so the split is exactly the one the run evaluated on.
    """
    from core.data import store

    rows = store.load_rows(dataset)
    if not 0 < eval_ratio < 1:
        raise UserError("err.chat.eval_ratio", field="eval_ratio")
    if len(rows) < 4:
        raise UserError("err.chat.eval_too_small", name=dataset, n=len(rows), field="dataset")
    from datasets import Dataset

    split = Dataset.from_dict({"i": list(range(len(rows)))}).train_test_split(test_size=eval_ratio, seed=seed)
    return [rows[i] for i in split["test"]["i"]]


def run_eval_split(run_id: str) -> tuple[str, float, int, bool]:
    """(dataset, eval_ratio, seed, held_out) for a run: its own split, or 10 % when it had none."""
    from core.train.runs import read_config

    config = read_config(run_id)
    ratio = float(config.get("eval_ratio") or 0)
    return config.get("dataset", ""), ratio if ratio > 0 else 0.1, int(config.get("seed", 42)), ratio > 0


# ----------------------------------------------------------------------------- models


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


def checkpoints_by_run(run_ids: list[str] | None = None) -> list[tuple[str, str, list]]:
    """``(run_id, base_model_path, [AdapterRef ...])`` per run (newest run first), checkpoints by
    step with the final adapter last — every checkpoint of every run, UI or CLI."""
    from core.train.runs import FINAL_ADAPTER, list_adapters

    groups: dict[str, tuple[str, list]] = {}
    for ref in list_adapters(run_ids):
        groups.setdefault(ref.run_id, (ref.base_model, []))[1].append(ref)
    out = []
    for run_id, (base, refs) in groups.items():
        refs.sort(key=lambda r: (r.name == FINAL_ADAPTER, r.step or 0))
        out.append((run_id, base, refs))
    return out


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
    seconds: dict[str, float] = field(default_factory=dict)  # label -> generation time
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
                "reference": [p.reference or "" for p in self.prompts]}
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
        writer.writerow([csv_cell(c) for c in ["prompt", "reference"] + self.labels])
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

        rows = []
        for column in self.columns:
            m = self.metrics.get(column.label, {})
            rows.append({"model": column.label, "run": column.run_id or "", "checkpoint": column.name or "",
                         "step": column.step, "bleu": m.get("bleu"), "rouge_l": m.get("rouge_l"),
                         "exact_match": m.get("exact_match"), "eval_loss": m.get("eval_loss"),
                         "perplexity": m.get("perplexity"),
                         "seconds": round(self.seconds.get(column.label, 0.0), 2)})
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
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CompareResult:
    """Answer every prompt with the base and every adapter, on one loaded base, and score them.

    Args:
        lm: the LoadedModel (base weights in memory once; adapters attached and switched).
        prompts: the prompt set (``parse_prompt_text`` / ``parse_prompt_file`` / ``prompts_from_rows``).
        adapters: ``RUN/checkpoint-N`` specs or adapter folders.
        settings: core.chat.generate.GenerationSettings; greedy (GREEDY) when None.
        eval_rows: chat rows (a dataset's eval split) to measure eval loss / perplexity on.
        progress: called with (fraction 0-1, message as a Msg).
        should_stop: polled between answers; True ends early with what is done (``complete`` False).
    Raises:
        UserError: a checkpoint from another base model, an empty prompt set, bad settings.
    """
    from core.chat import metrics as M
    from core.chat.generate import GREEDY, generate_reply

    settings = (settings or GREEDY).validate()
    prompts = _limit(list(prompts))
    columns = model_columns(adapters, include_base)
    check_fits(lm.path, [c.adapter for c in columns if c.adapter])
    result = CompareResult(model=str(lm.path), quantization=lm.quantization, settings=settings.to_dict(),
                           columns=columns, prompts=prompts, eval_source=eval_source)
    encoded = M.tokenize_for_loss(lm.tokenizer, eval_rows, max_length) if eval_rows else None
    per_model = len(prompts) + (1 if encoded else 0)
    total = len(columns) * per_model
    done = 0

    def report(message: Msg) -> None:
        if progress:
            progress(min(done / total, 1.0), message)

    for column in columns:
        answers: list[str] = []
        result.answers[column.label] = answers
        started = time.perf_counter()
        for i, item in enumerate(prompts):
            if should_stop and should_stop():
                result.complete = False
                break
            report(Msg("progress.compare.prompt", label=column.label, i=i + 1, n=len(prompts)))
            answers.append(generate_reply(lm, item.chat_messages(), settings, adapter=column.adapter))
            done += 1
        result.seconds[column.label] = time.perf_counter() - started
        if not result.complete:
            break
        scores = M.score_answers(answers, [p.reference for p in prompts]) if result.has_references else {}
        if encoded is not None:
            report(Msg("progress.compare.eval_loss", label=column.label))
            scores.update(M.eval_loss(lm, eval_rows, column.adapter, encoded=encoded))
            done += 1
        result.metrics[column.label] = scores
    report(Msg("progress.done"))
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

    rows = []
    for column in result.columns:
        for key in ("bleu", "rouge_l", "exact_match", "eval_loss", "perplexity"):
            value = result.metrics.get(column.label, {}).get(key)
            if value is not None:
                rows.append({"model": column.label, "run": column.run_id or BASE_LABEL, "step": column.step,
                             "checkpoint": column.name or BASE_LABEL, "metric": key, "value": value})
    return pd.DataFrame(rows, columns=["model", "run", "step", "checkpoint", "metric", "value"])


def best_checkpoints(result: CompareResult) -> dict[str, str]:
    """metric -> the label of the best adapter on it (lowest loss/perplexity, highest otherwise)."""
    best: dict[str, str] = {}
    for key in ("bleu", "rouge_l", "exact_match", "eval_loss", "perplexity"):
        scored = [(result.metrics.get(c.label, {}).get(key), c.label) for c in result.columns if c.adapter]
        scored = [(v, label) for v, label in scored if v is not None]
        if scored:
            pick = min if key in ("eval_loss", "perplexity") else max
            best[key] = pick(scored, key=lambda s: s[0])[1]
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
