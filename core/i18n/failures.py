"""Why a training run failed and what to try (core/train/failures.py): keys ``fail.*``."""

TEXTS = {
    "fail.disk_full": {"en": "disk full", "zh": "磁盘已满"},
    "fail.disk_full.hint": {
        "en": "Free space on the workspace's disk (old checkpoints, exports), or lower save_total_limit; then resume "
              "from the last checkpoint.",
        "zh": "请清理工作区所在磁盘的空间（旧检查点、导出文件），或调小 save_total_limit；然后从最后一个检查点续训。",
    },
    "fail.oom": {"en": "out of memory", "zh": "内存不足"},
    "fail.oom.hint": {
        "en": "Lower batch size or max_length, turn on gradient checkpointing, or use 4-bit quantization; "
              "the memory estimate on the Train page shows what fits.",
        "zh": "请调小批大小或 max_length，打开梯度检查点，或使用 4 位量化；“训练”页的显存估算会告诉你什么配置放得下。",
    },
    "fail.cuda": {"en": "CUDA error", "zh": "CUDA 错误"},
    "fail.cuda.hint": {
        "en": "Check `nvidia-smi`, the driver and the GPU selection; a device-side assert often means a token id "
              "beyond the vocabulary.",
        "zh": "请检查 `nvidia-smi`、显卡驱动和所选的 GPU；device-side assert 往往说明有 token id 超出了词表范围。",
    },
    "fail.killed": {"en": "killed (SIGKILL)", "zh": "进程被强制结束（SIGKILL）"},
    "fail.killed.hint": {
        "en": "The process was killed (SIGKILL), often by the out-of-memory killer: lower batch size or "
              "max_length, then resume from the last checkpoint.",
        "zh": "进程被强制结束（SIGKILL），通常是系统内存不足时被杀掉：请调小批大小或 max_length，再从最后一个检查点续训。",
    },
    "fail.terminated": {"en": "terminated by {signal}", "zh": "进程被信号 {signal} 终止"},
    "fail.terminated.hint": {"en": "Start the run again, or resume from its last checkpoint.",
                             "zh": "请重新开始这次运行，或从它最后一个检查点续训。"},
    "fail.data": {"en": "data problem", "zh": "数据有问题"},
    "fail.data.hint": {
        "en": "Open the dataset on the Datasets page and re-import it; check it has user/assistant turns and that it "
              "was made for this model's tokenizer.",
        "zh": "请在“数据集”页打开这个数据集并重新导入；确认其中有用户/助手的对话轮次，并且适用于这个模型的分词器。",
    },
    "fail.deepspeed_missing": {"en": "DeepSpeed missing", "zh": "缺少 DeepSpeed"},
    "fail.deepspeed_missing.hint": {
        "en": "Reinstall the workbench's requirements (`pip install -r requirements.txt` includes deepspeed) or turn "
              "DeepSpeed off.",
        "zh": "请重新安装工作台的依赖（`pip install -r requirements.txt` 会装上 deepspeed），或关闭 DeepSpeed。",
    },
    "fail.nodes_never_joined": {"en": "the other nodes never joined", "zh": "其他节点一直没有加入"},
    "fail.nodes_never_joined.hint": {
        "en": "Start the command shown on the Train page on every other machine within the join timeout, check "
              "that they reach the master address and port (firewall), then start the run again.",
        "zh": "请在等待时间内于其他每台机器上运行训练页面显示的命令，确认它们能访问主节点的地址和端口（防火墙），然后重新启动任务。",
    },
    "fail.deepspeed_build": {"en": "DeepSpeed could not compile an op", "zh": "DeepSpeed 无法编译算子"},
    "fail.deepspeed_build.hint": {
        "en": "DeepSpeed compiles its ops on first use: it needs ninja, a C++ compiler (g++) and, for CUDA ops, nvcc "
              "matching torch's CUDA. Install them, or turn DeepSpeed off.",
        "zh": "DeepSpeed 在第一次使用时编译算子：需要 ninja、C++ 编译器（g++），CUDA 算子还需要与 torch 的 CUDA 版本一致的 nvcc。"
              "请安装它们，或关闭 DeepSpeed。",
    },
    "fail.error": {"en": "training error", "zh": "训练出错"},
    "fail.error.hint": {"en": "Read the log tail below; fix the cause and resume from the last checkpoint.",
                        "zh": "请查看下方的日志末尾；排除原因后从最后一个检查点续训。"},
    "fail.vanished": {"en": "killed", "zh": "进程已消失"},
    "fail.vanished.hint": {
        "en": "The training process disappeared without reporting: killed (SIGKILL, or the out-of-memory "
              "killer) or crashed hard. Read the log tail; lower batch size or max_length if memory ran "
              "out, then resume from the last checkpoint.",
        "zh": "训练进程没有留下任何报告就消失了：可能被强制结束（SIGKILL 或系统内存不足）或直接崩溃。"
              "请查看日志末尾；如果是内存不足，请调小批大小或 max_length，再从最后一个检查点续训。",
    },
    "fail.no_report": {"en": "the training process ended without reporting.", "zh": "训练进程结束时没有留下报告。"},
    # a background job (core/jobs) that ended without reporting; reasons reuse the texts above
    "fail.job.disk_full.hint": {"en": "Free space on the workspace's disk, then start the job again.",
                                "zh": "请清理工作区所在磁盘的空间，然后重新启动这个任务。"},
    "fail.job.killed.hint": {
        "en": "The process was killed (SIGKILL), often by the out-of-memory killer; read the log tail and start it "
              "again.",
        "zh": "进程被强制结束（SIGKILL），通常是系统内存不足时被杀掉；请查看日志末尾后重新启动。",
    },
    "fail.job.terminated.hint": {"en": "Start the job again.", "zh": "请重新启动这个任务。"},
    "fail.job.exited": {"en": "exited with code {code}", "zh": "进程以退出码 {code} 结束"},
    "fail.job.exited.hint": {"en": "Read the log tail below, fix the cause and start the job again.",
                             "zh": "请查看下方的日志末尾，排除原因后重新启动这个任务。"},
    "fail.job.vanished.hint": {
        "en": "The process disappeared without reporting: killed (SIGKILL, or the out-of-memory killer) or crashed "
              "hard. Read the log tail.",
        "zh": "进程没有留下任何报告就消失了：可能被强制结束（SIGKILL 或系统内存不足）或直接崩溃。请查看日志末尾。",
    },
    "fail.job.no_report": {"en": "the process ended without reporting.", "zh": "进程结束时没有留下报告。"},
}
