"""The scoreboard of a run: every checkpoint (and the base) × every measurement, and the best one.

Columns (core.chat.metrics.SCOREBOARD_METRICS): train loss and eval loss at the checkpoint's
step (from the run's metrics.jsonl), identity hit rate on seen / held-out phrasings
(core.eval.identity; automatic for a personal-assistant dataset, whose meta knows the name),
perplexity on a general text and its change from the base, drift of general answers
(core.eval.general), benchmark accuracy (core.eval.bench, when a file is given) and BLEU /
ROUGE-L against references (when a prompt file with references is given). The run's probe
prompts are replayed on every checkpoint too. All answers come from mixed-adapter batches on one
loaded base. The board is saved as ``runs/<id>/eval/scoreboard.json``.

    board = build_scoreboard("RUN", EvalOptions(text_path="wiki_demo.txt"))
    best_checkpoint(board, "identity_heldout")     # -> the row of the best checkpoint
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from core import workspace
from core.errors import UserError
from core.i18n import Msg

EVAL_DIR = "eval"
SCOREBOARD_FILE = "scoreboard.json"
DEFAULT_CRITERION = "identity_heldout"

Progress = Callable[[float, Msg], None]


@dataclass
class EvalOptions:
    """What to measure; every part is optional but the losses, which come free from the run."""

    identity: bool = True  # when the dataset's meta or ``name`` gives an identity
    name: str = ""
    author: str = ""
    heldout: list[str] | None = None  # None: core.eval.identity.HELDOUT_QUESTIONS
    general: bool = True
    text_path: str = ""  # perplexity text (file); empty: no perplexity
    text_dataset: str = ""  # ... or a dataset's text
    drift_prompts: list[str] | None = None  # None: core.eval.general.GENERAL_PROMPTS
    bench_file: str = ""  # C-Eval / MMLU-layout CSV; empty: no benchmark
    reference_file: str = ""  # prompts with references for BLEU / ROUGE-L
    max_new_tokens: int = 64
    quantization: str = "none"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "EvalOptions":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass
class Scoreboard:
    run_id: str
    model: str
    rows: list[dict]  # one per model: label, checkpoint, step, then SCOREBOARD_METRICS
    details: dict = field(default_factory=dict)  # identity misses, drift answers, probe replay
    options: dict = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Scoreboard":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def table(self):
        """pandas DataFrame: label, checkpoint, step and every measured metric."""
        import pandas as pd

        from core.chat.metrics import SCOREBOARD_METRICS

        present = [m for m in SCOREBOARD_METRICS if any(r.get(m) is not None for r in self.rows)]
        return pd.DataFrame([{k: r.get(k) for k in ("label", "checkpoint", "step", *present)} for r in self.rows])

    def curves(self):
        """Long table (label, step, metric, value) of the checkpoints, for plots against the step."""
        import pandas as pd

        from core.chat.metrics import SCOREBOARD_METRICS

        rows = [{"label": r["label"], "step": r.get("step"), "metric": m, "value": r[m]}
                for r in self.rows if r.get("checkpoint") for m in SCOREBOARD_METRICS if r.get(m) is not None]
        return pd.DataFrame(rows, columns=["label", "step", "metric", "value"])


def scoreboard_path(run_id: str) -> Path:
    from core.train.runs import run_dir

    return run_dir(run_id) / EVAL_DIR / SCOREBOARD_FILE


def load_scoreboard(run_id: str) -> Scoreboard | None:
    data = workspace.read_json(scoreboard_path(run_id))
    return Scoreboard.from_dict(data) if data else None


def best_checkpoint(board: Scoreboard, criterion: str = DEFAULT_CRITERION) -> dict | None:
    """The checkpoint row best on ``criterion`` (lower-better metrics per core.chat.metrics)."""
    from core.chat.metrics import SCOREBOARD_METRICS, best_of

    if criterion not in SCOREBOARD_METRICS:
        raise UserError("err.eval.criterion", field="criterion", hint="err.eval.criterion.hint",
                        criterion=criterion, names=", ".join(SCOREBOARD_METRICS))
    checkpoints = [r for r in board.rows if r.get("checkpoint")]
    label = best_of(criterion, [(r.get(criterion), r["label"]) for r in checkpoints])
    return next((r for r in checkpoints if r["label"] == label), None)


def losses_at(metrics: list[dict], step: int | None) -> dict:
    """Train loss (last logged at or before ``step``) and eval loss (evaluated at or before it)."""
    if step is None:
        return {"train_loss": None, "eval_loss": None}
    train = [m for m in metrics if m.get("loss") is not None and m.get("step", 0) <= step]
    evals = [m for m in metrics if m.get("eval_loss") is not None and m.get("step", 0) <= step]
    return {"train_loss": train[-1]["loss"] if train else None,
            "eval_loss": evals[-1]["eval_loss"] if evals else None}


def _identity_spec(config: dict, options: EvalOptions):
    from core.data import store
    from core.eval.identity import identity_spec_for_dataset

    dataset = config.get("dataset", "")
    if not options.identity:
        return None
    known = store.exists(dataset) and (store.read_meta(dataset).extra.get("assistant") or {}).get("name")
    if not (known or options.name.strip()):
        return None
    return identity_spec_for_dataset(dataset, options.name or None, options.author or None, options.heldout)


def build_scoreboard(run_id: str, options: EvalOptions | None = None, *, lm=None,
                     progress: Progress | None = None) -> Scoreboard:
    """Measure the base and every checkpoint of ``run_id``; save and return the board."""
    from core.chat.generate import GenerationSettings
    from core.train.runs import checkpoints_by_run, read_config, read_metrics

    options = options or EvalOptions()
    started = time.perf_counter()
    groups = checkpoints_by_run([run_id])
    if not groups or not groups[0].adapters:
        raise UserError("err.eval.no_checkpoints", field="run", hint="err.eval.no_checkpoints.hint", run=run_id)
    refs = groups[0].adapters
    config = read_config(run_id)
    model_path = config.get("model_path") or config.get("model", "")
    settings = GenerationSettings(max_new_tokens=options.max_new_tokens, temperature=0, repetition_penalty=1.0)

    def report(fraction: float, key: str, **params) -> None:
        if progress:
            progress(fraction, Msg(key, **params))

    report(0.0, "eval.progress.loading", model=Path(model_path).name)
    if lm is None:
        from core.models.loading import load_base

        lm = load_base(model_path, quantization=options.quantization)
    metrics = read_metrics(run_id)
    rows = [{"label": "base", "checkpoint": "", "step": None, "train_loss": None, "eval_loss": None}]
    rows += [{"label": ref.label, "checkpoint": ref.name, "step": ref.step, **losses_at(metrics, ref.step)}
             for ref in refs]
    by_label = {r["label"]: r for r in rows}  # compare's column labels are AdapterRef.label: RUN/name
    adapters = [ref.path for ref in refs]
    details: dict = {}

    spec = _identity_spec(config, options)
    if spec is not None:
        from core.eval.identity import measure_identity

        report(0.1, "eval.progress.identity")
        scores = measure_identity(lm, adapters, spec, settings)
        details["identity"] = {"name": spec.name, "author": spec.author, "seen": spec.seen, "heldout": spec.heldout,
                               "models": [s.to_dict() for s in scores]}
        for s in scores:
            by_label[s.label].update(identity_seen=s.hit_rate_seen, identity_heldout=s.hit_rate_heldout)
    if options.general:
        from core.eval.general import load_general_text, measure_general

        report(0.4, "eval.progress.general")
        text = load_general_text(options.text_path or None, options.text_dataset or None) \
            if (options.text_path or options.text_dataset) else None
        general = measure_general(lm, adapters, text=text, prompts=options.drift_prompts, settings=settings)
        details["general"] = general
        for g in general:
            by_label[g["label"]].update(general_perplexity=g["perplexity"], perplexity_delta=g["perplexity_delta"],
                                        drift_rouge_l=g["drift_rouge_l"] if g["label"] != "base" else None)
    if options.reference_file:
        from core.chat.compare import run_compare
        from core.chat.prompts import read_prompt_file

        report(0.6, "eval.progress.references")
        result = run_compare(lm, read_prompt_file(options.reference_file), adapters, settings)
        for label in result.labels:
            scores = result.metrics.get(label, {})
            by_label[label].update(bleu=scores.get("bleu"), rouge_l=scores.get("rouge_l"))
    probes = [p for p in config.get("probe_prompts") or [] if str(p).strip()]
    if probes:
        details["probes"] = replay_probes(lm, adapters, probes, settings)
    if options.bench_file:
        from core.eval.bench import run_benchmark

        report(0.75, "eval.progress.bench")
        for b in run_benchmark(model_path, adapters, options.bench_file):
            by_label[b["label"]].update(bench_accuracy=b["accuracy"])
    board = Scoreboard(run_id=run_id, model=str(model_path), rows=rows, details=details,
                       options=options.to_dict(), seconds=time.perf_counter() - started)
    workspace.atomic_write_json(scoreboard_path(run_id), board.to_dict())
    report(1.0, "eval.progress.done")
    return board


def replay_probes(lm, adapters: list[str], prompts: list[str], settings) -> list[dict]:
    """The run's probe prompts answered by the base and every checkpoint, in one batched generation:
    ``[{"label", "answers": [{"prompt", "answer"}]}]``."""
    from core.chat.batch import Request, generate_many
    from core.chat.compare import model_columns

    columns = model_columns(adapters)
    requests = [Request([{"role": "user", "content": p}], c.adapter) for c in columns for p in prompts]
    answers = generate_many(lm, requests, settings)
    return [{"label": c.label,
             "answers": [{"prompt": p, "answer": a or ""}
                         for p, a in zip(prompts, answers[i * len(prompts):(i + 1) * len(prompts)])]}
            for i, c in enumerate(columns)]
