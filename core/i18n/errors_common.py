"""Messages shared by every area: choices, files and paths (keys ``err.common.*``)."""

TEXTS = {
    "err.common.use_one_of": {"en": "Use one of: {choices}.", "zh": "可选值：{choices}。"},
    "err.common.file_not_found": {"en": "File not found: {path}", "zh": "找不到文件：{path}"},
    "err.common.check_path": {"en": "Check the path on the server.", "zh": "请检查服务器上的路径。"},
    "err.common.path_is_folder": {"en": "{path} is a folder.", "zh": "{path} 是一个文件夹。"},
    "err.common.give_one_file": {"en": "Give the path of one data file.", "zh": "请给出单个数据文件的路径。"},
    "err.common.cannot_read": {"en": "Cannot read {path}: {reason}", "zh": "无法读取 {path}：{reason}"},
    "err.common.cannot_write": {"en": "Cannot write {path}: {reason}", "zh": "无法写入 {path}：{reason}"},
    "err.common.exists_pick_other": {
        "en": "Pick another name, or allow overwriting (--overwrite).",
        "zh": "请换一个名称，或允许覆盖（--overwrite）。",
    },
}
