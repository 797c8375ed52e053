"""Messages raised by core/train (config, presets, launch, resume, runs, CLI): keys ``err.train.*``."""

TEXTS = {
    "err.train.field": {"en": "{name}: {problem}", "zh": "{name}：{problem}"},
    # presets
    "err.train.unknown_preset": {"en": "Unknown preset {name!r}.", "zh": "未知的预设“{name}”。"},
    "err.train.preset_choices": {"en": "Choose one of: {choices}.", "zh": "可选预设：{choices}。"},
    "err.train.preset_builtin": {"en": "{name!r} is a built-in preset.", "zh": "“{name}”是内置预设。"},
    "err.train.preset_builtin.hint": {"en": "Pick another name.", "zh": "请换一个名称。"},
    "err.train.preset_builtin_delete": {"en": "{name!r} is a built-in preset and cannot be deleted.",
                                        "zh": "“{name}”是内置预设，不能删除。"},
    "err.train.run_no_config": {"en": "Run {run_id!r} has no readable config.json.",
                                "zh": "运行“{run_id}”没有可读取的 config.json。"},
    # runs
    "err.train.unknown_run": {"en": "Unknown run {run_id!r}.", "zh": "找不到运行“{run_id}”。"},
    "err.train.unknown_run.hint": {"en": "See `python -m core runs` for the list.",
                                   "zh": "运行 `python -m core runs` 查看所有运行。"},
    "err.train.no_adapter": {"en": "Run {run_id!r} has no adapter or checkpoint yet.",
                             "zh": "运行“{run_id}”还没有适配器或检查点。"},
    "err.train.no_checkpoint_named": {"en": "Run {run_id!r} has no checkpoint {sub!r}.",
                                      "zh": "运行“{run_id}”中没有检查点“{sub}”。"},
    "err.train.available": {"en": "Available: {available}.", "zh": "现有：{available}。"},
    "err.train.none": {"en": "none", "zh": "无"},
    # launch and resume
    "err.train.no_checkpoint": {"en": "Run {run_id!r} has no checkpoint to resume from.",
                                "zh": "运行“{run_id}”没有可以续训的检查点。"},
    "err.train.no_checkpoint.hint": {"en": "Checkpoints are written every save_steps and on a graceful stop.",
                                     "zh": "检查点每隔 save_steps 步以及正常停止时才会写入。"},
    "err.train.not_a_checkpoint": {"en": "{spec!r} is not a checkpoint of a run.", "zh": "“{spec}”不是某次运行的检查点。"},
    "err.train.deepspeed_differs": {
        "en": "DeepSpeed is {now}, but run {run_id} was trained with DeepSpeed {was}; "
              "its checkpoint can only be resumed the same way.",
        "zh": "当前 DeepSpeed 设置为 {now}，但运行 {run_id} 训练时用的是 {was}；它的检查点只能用相同设置续训。",
    },
    "err.train.deepspeed_differs.hint": {"en": "Set DeepSpeed to {was}, or start a new run from its adapter instead.",
                                         "zh": "请把 DeepSpeed 设为 {was}，或者改为从它的适配器开始一次新的运行。"},
    "err.train.processes_differ": {
        "en": "Run {run_id} was sharded over {was} processes by DeepSpeed {stage}; "
              "resuming needs the same number, not {now}.",
        "zh": "运行 {run_id} 由 DeepSpeed {stage} 切分到 {was} 个进程上；续训需要同样的进程数，而不是 {now}。",
    },
    "err.train.processes_differ.hint": {"en": "Select {was} GPUs (or processes).", "zh": "请选择 {was} 块 GPU（或 {was} 个进程）。"},
    "err.train.model_differs": {"en": "Run {run_id} trained {was}, not {now}.",
                                "zh": "运行 {run_id} 训练的是 {was}，不是 {now}。"},
    "err.train.model_differs.hint": {"en": "Resume on the same base model.", "zh": "请在同一个基座模型上续训。"},
    "err.train.locked_differs": {"en": "{key} differs from run {run_id} ({was!r}); the checkpoint needs it.",
                                 "zh": "{key} 与运行 {run_id} 的设置（{was}）不同；检查点需要相同的值。"},
    "err.train.locked_differs.hint": {"en": "Keep the LoRA shape of the run you resume.",
                                      "zh": "请保持与要续训的运行相同的 LoRA 结构。"},
    # CLI
    "err.train.preset_and_resume": {
        "en": "--preset and --resume cannot be combined: a resumed run keeps its settings.",
        "zh": "--preset 和 --resume 不能同时使用：续训会沿用原来的设置。",
    },
    "err.train.model_dataset_required": {
        "en": "--model and --dataset are required (unless you --resume a run).",
        "zh": "必须提供 --model 和 --dataset（用 --resume 续训时除外）。",
    },
}
