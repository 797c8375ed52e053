"""Texts of prompt sets, batched answers and the evaluation area (identity meter, forgetting check,
benchmarks, scoreboard): errors of core.chat.prompts and core.eval, and the scoreboard's words."""

TEXTS = {
    # ---- prompt sets (core/chat/prompts.py)
    "err.prompts.empty": {"en": "The prompt set is empty.", "zh": "问题集是空的。"},
    "err.prompts.empty.hint": {"en": "Type at least one prompt, or pick a file or dataset with prompts.",
                               "zh": "请至少输入一个问题，或选择含有问题的文件或数据集。"},
    "err.prompts.too_many": {"en": "{n} prompts is more than {limit} at once.",
                             "zh": "{n} 个问题超过了一次最多 {limit} 个。"},
    "err.prompts.too_many.hint": {"en": "Split the set, or lower the limit for a dataset's eval split.",
                                  "zh": "请拆分问题集，或调低数据集评估集的数量上限。"},
    "err.prompts.not_object": {"en": "Line {line}: expected an object or a string.",
                               "zh": "第 {line} 行：应为对象或字符串。"},
    "err.prompts.no_user_turn": {"en": "Line {line}: the messages hold no user turn.",
                                 "zh": "第 {line} 行：messages 中没有用户发言。"},
    "err.prompts.no_prompt": {"en": "Line {line}: no prompt field.", "zh": "第 {line} 行：没有问题字段。"},
    "err.prompts.no_prompt_column": {"en": "The file has no prompt column.", "zh": "文件中没有问题列。"},
    "err.prompts.columns.hint": {"en": "Name the prompt column one of: {names} (and the answer column e.g. "
                                       "reference, answer, output or 答案).",
                                 "zh": "请把问题列命名为以下之一：{names}（答案列可命名为 reference、answer、output 或 答案 等）。"},
    "err.prompts.file_type": {"en": "Unsupported prompt file type {suffix!r}.",
                              "zh": "不支持的问题文件类型 {suffix!r}。"},
    "err.prompts.file_type.hint": {"en": "Use .txt, .jsonl, .json, .csv, .tsv or .parquet.",
                                   "zh": "请使用 .txt、.jsonl、.json、.csv、.tsv 或 .parquet 文件。"},
    "err.prompts.bad_line": {"en": "Line {line} of the prompt file cannot be read: {reason}",
                             "zh": "问题文件第 {line} 行无法读取：{reason}"},
    "err.prompts.not_found": {"en": "Prompt file {path} not found.", "zh": "找不到问题文件 {path}。"},
    "err.prompts.references_not_found": {"en": "Reference file {path} not found.",
                                         "zh": "找不到参考答案文件 {path}。"},
    "err.prompts.references_count": {"en": "{n} prompts but {lines} reference lines.",
                                     "zh": "有 {n} 个问题，但参考答案有 {lines} 行。"},
    "err.prompts.references_count.hint": {"en": "Give exactly one reference line per prompt.",
                                          "zh": "请为每个问题提供恰好一行参考答案。"},
    # ---- eval split (core/data/shape.py)
    "err.eval.split_ratio": {"en": "The eval split must be between 0 and 1.", "zh": "评估集比例必须在 0 和 1 之间。"},
    "err.eval.split_ratio.hint": {"en": "Use e.g. 0.1 (10 % of the rows).", "zh": "例如填 0.1（10% 的数据）。"},
    "err.eval.split_too_small": {"en": "Dataset {dataset!r} has {n} rows; an eval split needs at least 4.",
                                 "zh": "数据集 {dataset!r} 只有 {n} 行；划分评估集至少需要 4 行。"},
    # ---- Compare page additions
    "compare.answers_time": {"en": "All {rows} answers in {seconds:.1f} s, every model in the same batches.",
                             "zh": "全部 {rows} 个回答用时 {seconds:.1f} 秒，所有模型在同一批次中一起生成。"},
}
