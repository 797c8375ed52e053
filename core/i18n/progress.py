"""Progress lines core reports while it works (comparisons, merges, adapter zips): keys ``progress.*``."""

TEXTS = {
    "progress.done": {"en": "done", "zh": "完成"},
    "progress.compare.eval_loss": {"en": "{label}: eval loss", "zh": "{label}：计算验证损失"},
    "progress.export.loading": {"en": "loading the base model (unquantised)", "zh": "正在加载基座模型（不量化）"},
    "progress.export.applying": {"en": "applying the adapter", "zh": "正在应用适配器"},
    "progress.export.merging": {"en": "merging the adapter into the weights", "zh": "正在把适配器合并进权重"},
    "progress.export.shards": {"en": "writing safetensors shards", "zh": "正在写入 safetensors 分片"},
    "progress.export.tokenizer": {"en": "writing tokenizer, chat template and generation config",
                                  "zh": "正在写入分词器、对话模板和生成配置"},
    "progress.export.moving": {"en": "moving the folder into place", "zh": "正在把文件夹移到目标位置"},
}
