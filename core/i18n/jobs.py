"""Texts of background jobs and training runs (core/jobs, core/train/runs.py, the worker)."""

TEXTS = {
    "err.run.resume_state_missing": {
        "en": "Checkpoint {checkpoint} cannot be resumed: its {state} state is missing.",
        "zh": "检查点 {checkpoint} 无法继续训练：缺少{state}状态。",
    },
    "err.run.resume_state_missing.hint": {
        "en": "Pick another checkpoint, or start a new run from this one's adapter (its weights are intact).",
        "zh": "请选择其他检查点，或以该检查点的适配器为起点开始新的训练（权重完好）。",
    },
    "err.run.state.optimizer": {"en": "optimizer", "zh": "优化器"},
    "err.run.state.scheduler": {"en": "learning-rate scheduler", "zh": "学习率调度器"},
    "err.run.busy": {
        "en": "Run folder {folder} already has a worker (pid {pid}); this second worker exits and changes nothing.",
        "zh": "训练文件夹 {folder} 已有一个工作进程（pid {pid}）；这个重复的进程将退出，不做任何改动。",
    },
    "err.run.disk_full": {
        "en": "disk full: free space at {path} is {free}",
        "zh": "磁盘已满：{path} 的剩余空间为 {free}",
    },
    "err.run.config_unreadable": {
        "en": "Run {run_id}'s config.json cannot be used: {reason}.",
        "zh": "训练任务 {run_id} 的 config.json 无法使用：{reason}。",
    },
    "err.train.preset_unreadable": {
        "en": "Saved preset {name!r} cannot be read: {reason}.",
        "zh": "已保存的预设 {name!r} 无法读取：{reason}。",
    },
    "err.train.preset_unreadable.hint": {
        "en": "Pick another preset, or save this one again from the Train page (it replaces the file).",
        "zh": "请选择其他预设，或在训练页面重新保存该预设（会替换该文件）。",
    },
}
