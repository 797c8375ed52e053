"""TrainConfig: every setting of a training run, with defaults, presets and validation.

The Train page, the CLI and the worker all build this same dataclass; the resolved config is
saved as ``runs/<id>/config.json`` and read back by the worker, so there is no argument list
copied between places.

    cfg = TrainConfig.from_preset("cpu-demo", model="demo-tiny", dataset="assistant")
    cfg.validate()                       # raises UserError(field=...) on the first problem
    cfg.field_errors()                   # {"learning_rate": "must be > 0", ...} for forms
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace

from core.errors import UserError
from core.i18n import Msg

QUANTIZATIONS = ("4bit", "8bit", "none")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")
DEEPSPEED_STAGES = ("", "zero2", "zero3")
# Settings that describe *what* is trained on, not *how*: a saved preset leaves them out.
NOT_IN_PRESETS = ("model", "dataset", "run_name", "resume_from", "gpus")
_GPUS_RE = re.compile(r"^\d+(,\d+)*$")
_MODULE_RE = re.compile(r"^[A-Za-z_][\w.]*$")


@dataclass
class TrainConfig:
    model: str = ""
    dataset: str = ""
    run_name: str = ""
    # adapter
    quantization: str = "4bit"  # 4-bit NF4 + double quant (QLoRA); "none" = 16-bit LoRA
    lora_r: int = 64
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    target_modules: str = "all-linear"  # or comma-separated module names: "q_proj,v_proj"
    use_dora: bool = False
    use_rslora: bool = False
    # data
    max_length: int = 1024
    packing: bool = False
    eval_ratio: float = 0.0
    # optimisation
    batch_size: int = 1
    grad_accum: int = 16
    learning_rate: float = 2e-4
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.03
    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs
    gradient_checkpointing: bool = True
    seed: int = 42
    # bookkeeping
    logging_steps: int = 10
    save_steps: int = 500
    save_total_limit: int = 3
    eval_steps: int = 0  # 0 -> same as save_steps
    probe_prompts: list[str] = field(default_factory=list)
    probe_steps: int = 0  # 0 -> at every save
    probe_max_new_tokens: int = 64
    evaluate_when_done: bool = False  # start core.eval's scoreboard job when the run completes
    # devices
    gpus: str = ""  # CUDA_VISIBLE_DEVICES, e.g. "0,1"; "" = the default device (GPU 0, or the CPU)
    num_processes: int = 0  # 0 = one per selected GPU; > 1 runs DDP under torchrun (gloo on CPU)
    deepspeed: str = ""  # "" | "zero2" | "zero3" (multi-GPU only; needs the deepspeed package)
    resume_from: str = ""  # "RUN[/checkpoint-N]"

    @property
    def gpu_list(self) -> list[str]:
        return [g.strip() for g in self.gpus.split(",") if g.strip()]

    @property
    def processes(self) -> int:
        """How many training processes: num_processes, else one per selected GPU (at least 1)."""
        return self.num_processes if self.num_processes > 0 else max(1, len(self.gpu_list))

    @property
    def devices(self) -> list[str]:
        """The devices this run occupies (queue resources): the chosen GPU ids, or "0" = default."""
        return self.gpu_list or ["0"]

    def preset_dict(self) -> dict:
        """The settings a saved preset keeps (no model, dataset, names or devices)."""
        return {k: v for k, v in self.to_dict().items() if k not in NOT_IN_PRESETS}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_preset(cls, preset: str, **overrides) -> "TrainConfig":
        """A built-in preset (PRESETS) or one the user saved (core.train.presets), with overrides."""
        if preset in PRESETS:
            return replace(PRESETS[preset]["config"], **overrides)
        from core.train import presets

        return replace(presets.load_preset(preset), **overrides)

    def field_errors(self, lang: str = "en") -> dict[str, str]:
        """Every invalid field with a message in ``lang``, for showing next to the form fields.

        The texts live in core/i18n/train.py under ``train.err.<field>``.
        """
        return {name: msg.render(lang) for name, msg in self.field_messages().items()}

    def field_messages(self) -> dict[str, Msg]:
        """Every invalid field with its message, not yet rendered in a language."""
        errs: dict[str, Msg] = {}

        def check(name: str, ok: bool, key: str | None = None, **fmt) -> None:
            if not ok and name not in errs:
                errs[name] = Msg(f"train.err.{key or name}", **fmt)

        check("model", bool(self.model))
        check("dataset", bool(self.dataset))
        check("quantization", self.quantization in QUANTIZATIONS, options=", ".join(QUANTIZATIONS))
        check("lora_r", 1 <= self.lora_r <= 1024)
        check("lora_alpha", 1 <= self.lora_alpha <= 4096)
        check("lora_dropout", 0 <= self.lora_dropout < 1)
        targets = [m.strip() for m in self.target_modules.split(",") if m.strip()]
        check("target_modules", bool(targets) and (targets == ["all-linear"] or all(_MODULE_RE.match(m) for m in targets)))
        check("max_length", 16 <= self.max_length <= 131072)
        check("eval_ratio", 0 <= self.eval_ratio < 0.5)
        check("batch_size", 1 <= self.batch_size <= 1024)
        check("grad_accum", 1 <= self.grad_accum <= 4096)
        check("learning_rate", 0 < self.learning_rate <= 1)
        check("lr_scheduler", self.lr_scheduler in SCHEDULERS, options=", ".join(SCHEDULERS))
        check("warmup_ratio", 0 <= self.warmup_ratio < 1)
        check("epochs", self.max_steps > 0 or 0 < self.epochs <= 1000)
        check("max_steps", self.max_steps == -1 or 1 <= self.max_steps <= 10_000_000)
        check("logging_steps", self.logging_steps >= 1)
        check("save_steps", self.save_steps >= 1)
        check("save_total_limit", self.save_total_limit >= 1)
        check("eval_steps", self.eval_steps >= 0)
        check("probe_steps", self.probe_steps >= 0)
        check("probe_max_new_tokens", 1 <= self.probe_max_new_tokens <= 2048)
        check("probe_prompts", len(self.probe_prompts) <= 20 and all(isinstance(p, str) and p.strip()
                                                                     for p in self.probe_prompts))
        check("gpus", not self.gpus.strip() or bool(_GPUS_RE.match(self.gpus.replace(" ", ""))))
        check("num_processes", 0 <= self.num_processes <= 64)
        check("deepspeed", self.deepspeed in DEEPSPEED_STAGES)
        check("deepspeed", not self.deepspeed or self.processes > 1, "deepspeed_gpus")
        return errs

    def validate(self) -> "TrainConfig":
        errs = self.field_messages()
        if errs:
            name, message = next(iter(errs.items()))
            raise UserError("err.train.field", name=name, problem=message, field=name)
        return self

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.grad_accum


# The classic XTuner QLoRA recipe (internlm2_chat_7b_qlora_*): r=64, alpha=16, lr 2e-4,
# batch 1 x accumulate 16, max_length 1024 (XTuner's default 2048 halved for 24 GB cards).
_XTUNER = TrainConfig(
    quantization="4bit", lora_r=64, lora_alpha=16, lora_dropout=0.1, max_length=1024,
    batch_size=1, grad_accum=16, learning_rate=2e-4, lr_scheduler="cosine", warmup_ratio=0.03,
    epochs=3, save_steps=500, save_total_limit=3, logging_steps=10, gradient_checkpointing=True,
)
# Finishes on demo-tiny in about a minute on 2 CPU cores, and the self-introduction is learnt.
_CPU_DEMO = TrainConfig(
    quantization="4bit", lora_r=64, lora_alpha=16, lora_dropout=0.05, max_length=256,
    batch_size=4, grad_accum=1, learning_rate=3e-3, lr_scheduler="cosine", warmup_ratio=0.03,
    epochs=1, max_steps=150, save_steps=50, save_total_limit=3, logging_steps=5,
    gradient_checkpointing=False,
)

PRESETS: dict[str, dict] = {
    "xtuner-qlora": {"config": _XTUNER, "label": {"en": "XTuner QLoRA (classic, GPU)",
                                                   "zh": "XTuner QLoRA 经典配方（GPU）"}},
    "cpu-demo": {"config": _CPU_DEMO, "label": {"en": "CPU demo (demo-tiny, ~1 min)",
                                                 "zh": "CPU 演示（demo-tiny，约 1 分钟）"}},
}
DEFAULT_PRESET = "xtuner-qlora"
CPU_PRESET = "cpu-demo"


def default_preset(has_gpu: bool) -> str:
    """The preset a new Train form starts from: the classic QLoRA recipe on a GPU, the demo on a CPU."""
    return DEFAULT_PRESET if has_gpu else CPU_PRESET
