"""Messages raised by core/chat (generation settings, prompt sets, comparisons) and the compare CLI:
keys ``err.chat.*``."""

TEXTS = {
    # generation settings
    "err.chat.max_new_tokens": {"en": "max_new_tokens must be between 1 and 32768.",
                                "zh": "max_new_tokens（最多生成的 token 数）必须在 1 到 32768 之间。"},
    "err.chat.temperature": {"en": "temperature must be between 0 and 5.", "zh": "temperature（温度）必须在 0 到 5 之间。"},
    "err.chat.top_p": {"en": "top_p must be in (0, 1].", "zh": "top_p 必须大于 0 且不超过 1。"},
    "err.chat.top_k": {"en": "top_k must be 0 or more.", "zh": "top_k 必须大于或等于 0。"},
    "err.chat.repetition_penalty": {"en": "repetition_penalty must be between 0.5 and 3.",
                                    "zh": "repetition_penalty（重复惩罚）必须在 0.5 到 3 之间。"},
    # prompt sets
    "err.chat.eval_no_prompts": {"en": "The eval split of {name!r} holds no chat prompts.",
                                 "zh": "“{name}”的验证部分中没有对话提示。"},
    # comparisons
    "err.chat.nothing_to_compare": {"en": "Nothing to compare.", "zh": "没有可比较的对象。"},
    "err.chat.nothing_to_compare.hint": {"en": "Pick at least one checkpoint or keep the base model.",
                                         "zh": "请至少选择一个检查点，或保留基座模型。"},
    "err.chat.other_base": {"en": "Checkpoints of a different base model cannot be compared on {model}. {problems}",
                            "zh": "其他基座模型的检查点不能在 {model} 上比较。{problems}"},
    "err.chat.other_base.problem": {"en": "{adapter}: {problem}", "zh": "{adapter}：{problem}"},
    "err.chat.other_base.hint": {"en": "Pick the base model these runs used, or leave those checkpoints out.",
                                 "zh": "请选择这些运行所用的基座模型，或去掉这些检查点。"},
    "err.chat.saved_unreadable": {"en": "Saved comparison {path} is missing or unreadable.",
                                  "zh": "保存的比较结果 {path} 不存在或无法读取。"},
    # compare CLI
    "err.chat.give_prompts": {"en": "Give a prompt set.", "zh": "请提供提示集。"},
    "err.chat.give_prompts.hint": {"en": "Use --prompts FILE, or --eval-dataset NAME for a dataset's eval split.",
                                   "zh": "请使用 --prompts FILE，或用 --eval-dataset NAME 取数据集的验证部分。"},
    "err.chat.no_references": {"en": "--references was given but the prompts file has no reference answers.",
                               "zh": "给了 --references，但提示文件中没有参考答案。"},
    "err.chat.no_references.hint": {"en": "Add a reference/answer/output column, or pass --references FILE.",
                                    "zh": "请添加 reference/answer/output 列，或传入 --references FILE。"},
}
