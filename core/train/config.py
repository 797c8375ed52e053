"""TrainConfig: every setting of a training run, with defaults and validation.

The Train page, the CLI and the worker all build this same dataclass; the resolved config is
saved as ``runs/<id>/config.json`` and read back by the worker, so there is no argument list
copied between places.

    cfg = TrainConfig(model="demo-tiny", dataset="assistant")   # presets: core/train/presets.py
    cfg.validate()                       # raises UserError(field=...) on the first problem
    cfg.field_errors()                   # {"learning_rate": "must be > 0", ...} for forms
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields

from core.errors import UserError
from core.i18n import Msg

QUANTIZATIONS = ("4bit", "8bit", "none")
SCHEDULERS = ("cosine", "linear", "constant", "constant_with_warmup")
DEEPSPEED_STAGES = ("", "zero2", "zero3")
# Training stages: supervised (sft), continued pre-training (pt), preference tuning (dpo, orpo, kto).
# Which dataset kinds each one takes: core/train/stages/__init__.py.
STAGES = ("sft", "pt", "dpo", "orpo", "kto")
# Settings that describe *what* is trained on, not *how*: a saved preset leaves them out.
NOT_IN_PRESETS = ("model", "dataset", "run_name", "resume_from", "gpus", "init_adapter", "sweep",
                  "nnodes", "node_rank", "master_addr", "master_port", "join_timeout")
_GPUS_RE = re.compile(r"^\d+(,\d+)*$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?$")
_MODULE_RE = re.compile(r"^[A-Za-z_][\w.]*$")


@dataclass
class TrainConfig:
    model: str = ""
    dataset: str = ""
    run_name: str = ""
    stage: str = "sft"
    init_adapter: str = ""  # "RUN": start from that finished run's adapter ("continue from run")
    pref_beta: float = 0.1  # DPO/KTO: how far from the reference the model may move; ORPO: weight of the odds ratio
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
    gpu_kernels: bool = True  # on CUDA: Liger kernels / flash-attention when installed (core/train/gpu_speed.py)
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
    # several machines: torchrun's static rendezvous at master_addr:master_port (node 0 is the master)
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str = ""
    master_port: int = 29500
    join_timeout: int = 600  # seconds the nodes wait for each other before the run fails with a message
    resume_from: str = ""  # "RUN[/checkpoint-N]"
    sweep: str = ""  # the sweep this run belongs to (core/train/sweeps.py)
    trackers: str = ""  # also report to: "wandb", "swanlab" or both (core/train/trackers.py); "" = TensorBoard only

    @property
    def gpu_list(self) -> list[str]:
        return [g.strip() for g in self.gpus.split(",") if g.strip()]

    @property
    def processes(self) -> int:
        """How many training processes: num_processes, else one per selected GPU (at least 1)."""
        return self.num_processes if self.num_processes > 0 else max(1, len(self.gpu_list))

    @property
    def world_size(self) -> int:
        """Training processes over all machines."""
        return self.processes * max(1, self.nnodes)

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
        check("deepspeed", not self.deepspeed or self.world_size > 1, "deepspeed_gpus")
        check("nnodes", 1 <= self.nnodes <= 1024)
        check("node_rank", 0 <= self.node_rank < max(1, self.nnodes))
        check("master_addr", self.nnodes == 1 or bool(_HOST_RE.match(self.master_addr.strip())))
        check("master_port", 1024 <= self.master_port <= 65535)
        check("join_timeout", 10 <= self.join_timeout <= 86400)
        check("stage", self.stage in STAGES, options=", ".join(STAGES))
        check("pref_beta", 0 < self.pref_beta <= 10)
        # KTO estimates its KL term from the other replies in the same batch.
        check("batch_size", self.stage != "kto" or self.batch_size >= 2, "kto_batch_size")
        check("init_adapter", not (self.init_adapter and self.resume_from), "init_adapter_resume")
        check("packing", not (self.packing and self.stage in ("dpo", "orpo", "kto")), "packing_stage")
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
