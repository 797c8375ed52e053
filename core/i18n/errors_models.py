"""Messages about model folders, loading, adapters and merging (core/models, core/export): keys
``err.models.*`` and ``err.export.*``."""

TEXTS = {
    # registry
    "err.models.no_model": {"en": "No model given.", "zh": "没有指定模型。"},
    "err.models.no_model.hint": {"en": "Pick a model or build the demo model.", "zh": "请选择一个模型，或构建演示模型。"},
    "err.models.not_found": {"en": "Model {name!r} not found.", "zh": "找不到模型“{name}”。"},
    "err.models.not_found.hint": {
        "en": "Use a name from `python -m core models`, a folder with config.json and weights, or demo-tiny.",
        "zh": "请使用 `python -m core models` 列出的名称、一个含 config.json 和权重的文件夹，或 demo-tiny。",
    },
    # loading and adapters
    "err.models.quantization": {"en": "Unknown quantization {quantization!r}; choose one of {choices}.",
                                "zh": "未知的量化方式“{quantization}”；可选：{choices}。"},
    "err.models.not_adapter": {"en": "{path} is not a LoRA adapter folder (no adapter_config.json).",
                               "zh": "{path} 不是 LoRA 适配器文件夹（没有 adapter_config.json）。"},
    "err.models.other_base": {"en": "This adapter was trained on {trained_on}, not on {base}.",
                              "zh": "这个适配器是在 {trained_on} 上训练的，不是 {base}。"},
    "err.models.other_base.hint": {"en": "Pick the base model the run used (see the run's config).",
                                   "zh": "请选择该次运行所用的基座模型（见运行的配置）。"},
    "err.models.oom": {"en": "Out of GPU memory while loading the model.", "zh": "加载模型时显存不足。"},
    "err.models.oom.hint": {"en": "Unload other models or choose 4-bit quantization.",
                            "zh": "请卸载其他模型，或选择 4 位量化。"},
    "err.models.load_failed": {"en": "Could not load the model at {path}: {reason}",
                               "zh": "无法加载 {path} 中的模型：{reason}"},
    # a broken model folder (core/models/checks.py)
    "err.models.no_config": {"en": "{path} has no config.json.", "zh": "{path} 中没有 config.json。"},
    "err.models.config_unreadable": {"en": "{file} is not valid JSON: {reason}", "zh": "{file} 不是合法的 JSON：{reason}"},
    "err.models.index_unreadable": {"en": "The weight index {file} is unreadable: {reason}",
                                    "zh": "权重索引文件 {file} 无法读取：{reason}"},
    "err.models.shard_missing": {"en": "Weight file {file} (listed in {index}) is missing.",
                                 "zh": "缺少权重文件 {file}（{index} 中列出了它）。"},
    "err.models.weights_damaged": {"en": "Weight file {file} is damaged (truncated or corrupt): {reason}",
                                   "zh": "权重文件 {file} 已损坏（不完整或内容错误）：{reason}"},
    "err.models.weights.hint": {
        "en": "Copy or download the model folder again; a copy that stopped half-way leaves such files.",
        "zh": "请重新复制或下载这个模型文件夹；中途中断的复制会留下这样的文件。",
    },
    "err.models.tokenizer_missing": {"en": "{path} has no tokenizer files (one of {files}).",
                                     "zh": "{path} 中没有分词器文件（{files} 之一）。"},
    "err.models.tokenizer_failed": {"en": "Cannot load the tokenizer in {path}: {reason}",
                                    "zh": "无法加载 {path} 中的分词器：{reason}"},
    "err.models.tokenizer.hint": {
        "en": "Copy the tokenizer files of this model (tokenizer.json or tokenizer.model, tokenizer_config.json) "
              "into the folder.",
        "zh": "请把这个模型的分词器文件（tokenizer.json 或 tokenizer.model，以及 tokenizer_config.json）复制到该文件夹。",
    },
    "err.models.template_failed": {"en": "The chat template in {file} fails: {reason}",
                                   "zh": "{file} 中的对话模板出错：{reason}"},
    "err.models.template_slow": {"en": "The chat template in {file} did not finish within {seconds:g} s.",
                                 "zh": "{file} 中的对话模板在 {seconds:g} 秒内没有渲染完。"},
    "err.models.template_long": {
        "en": "The chat template in {file} turned a four-message conversation into {n} characters.",
        "zh": "{file} 中的对话模板把一段四条消息的对话渲染成了 {n} 个字符。",
    },
    "err.models.template.hint": {
        "en": "Fix the chat_template in that file, or copy it again from the original model.",
        "zh": "请修正该文件中的 chat_template，或从原始模型重新复制这个文件。",
    },
    # merge and export
    "err.export.dtype": {"en": "Unknown dtype {dtype!r}.", "zh": "未知的数据类型“{dtype}”。"},
    "err.export.dtype.hint": {"en": "Choose one of {choices}.", "zh": "可选：{choices}。"},
    "err.export.ram": {
        "en": "Merging needs about {need:.1f} GiB of free RAM for the unquantised base, but only {free:.1f} GiB is free.",
        "zh": "合并需要约 {need:.1f} GiB 空闲内存来存放未量化的基座模型，但当前只有 {free:.1f} GiB 空闲。",
    },
    "err.export.ram.hint": {"en": "Unload models on other pages, or merge on a machine with more memory (or a GPU).",
                            "zh": "请在其他页面卸载模型，或在内存更大（或有 GPU）的机器上合并。"},
    "err.export.exists": {"en": "{path} already exists.", "zh": "{path} 已经存在。"},
    "err.export.is_file": {"en": "{path} is a file, not a folder.", "zh": "{path} 是文件，不是文件夹。"},
    "err.export.adapter_failed": {"en": "Could not apply the adapter {path}: {reason}",
                                  "zh": "无法应用适配器 {path}：{reason}"},
    "err.export.adapter_failed.hint": {"en": "Check that it was trained on this base model.",
                                       "zh": "请确认它是在这个基座模型上训练的。"},
}
