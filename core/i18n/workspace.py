"""Texts of the workspace's safeguards: names, locks, a full disk, overwriting, upload and document limits."""

TEXTS = {
    "name.kind.name": {"en": "name", "zh": "名称"},
    "name.kind.dataset": {"en": "dataset name", "zh": "数据集名称"},
    "name.kind.kb": {"en": "knowledge base name", "zh": "知识库名称"},
    "name.kind.export": {"en": "export name", "zh": "导出名称"},
    "name.kind.run": {"en": "run id", "zh": "训练任务 ID"},
    "name.kind.preset": {"en": "preset name", "zh": "预设名称"},
    "err.name.invalid": {
        "en": "Invalid {what} {name!r}: use letters (Chinese too), digits, '_', '-' or '.', starting with a "
              "letter or digit, at most {limit} bytes in UTF-8 (about {chars} Chinese characters).",
        "zh": "{what}“{name}”无效：只能用字母（含中文）、数字、“_”、“-”或“.”，以字母或数字开头，"
              "UTF-8 编码不超过 {limit} 字节（约 {chars} 个汉字）。",
    },
    "err.name.too_long": {
        "en": "The {what} {name!r} is {size} bytes in UTF-8; at most {limit} are allowed (about {chars} "
              "Chinese characters). Use a shorter name.",
        "zh": "{what}“{name}”的 UTF-8 编码有 {size} 字节，最多允许 {limit} 字节（约 {chars} 个汉字）。请换一个短一些的名称。",
    },
    "err.disk.full": {
        "en": "Disk full: free space at {path} and try again.",
        "zh": "磁盘已满：请清理 {path} 所在磁盘的空间后重试。",
    },
    "err.disk.full.hint": {
        "en": "Nothing was changed: what was saved before is as it was.",
        "zh": "没有任何改动：之前保存的内容原样保留。",
    },
    "err.disk.io": {
        "en": "Could not write {path}: {reason}.",
        "zh": "无法写入 {path}：{reason}。",
    },
    "err.disk.io.hint": {
        "en": "Nothing was changed: what was saved before is as it was. Check the disk and its permissions, then try again.",
        "zh": "没有任何改动：之前保存的内容原样保留。请检查磁盘及其权限后重试。",
    },
    "err.busy": {
        "en": "{name!r} is being changed by someone else right now (another browser tab or the command line).",
        "zh": "“{name}”正在被其他地方修改（另一个浏览器标签页或命令行）。",
    },
    "err.busy.hint": {
        "en": "Try again when that has finished; nothing was changed by this attempt.",
        "zh": "请等它完成后再试；这次操作没有做任何改动。",
    },
    "err.exists.dataset": {
        "en": "A dataset named {name!r} already exists.",
        "zh": "已存在名为“{name}”的数据集。",
    },
    "err.exists.preset": {
        "en": "A saved preset named {name!r} already exists.",
        "zh": "已存在名为“{name}”的预设。",
    },
    "err.exists.hint": {
        "en": "Pick another name, or tick \"overwrite\" (--overwrite on the command line) to replace it.",
        "zh": "请换一个名称，或勾选“覆盖”（命令行加 --overwrite）来替换它。",
    },
    "err.limit.upload": {
        "en": "{file} is {size:g} MB; uploads are limited to {limit:g} MB.",
        "zh": "{file} 有 {size:g} MB，上传文件最大 {limit:g} MB。",
    },
    "err.limit.upload.hint": {
        "en": "Split the file, or put it on the server and give its path (the administrator can raise "
              "server.maxUploadSize in .streamlit/config.toml).",
        "zh": "请拆分文件，或把它放到服务器上并填写路径（管理员可以在 .streamlit/config.toml 中调大 server.maxUploadSize）。",
    },
    "err.limit.unpacked": {
        "en": "This document unpacks to {size} MB, more than the {limit} MB allowed (a damaged or malicious file?).",
        "zh": "这个文档解压后有 {size} MB，超过允许的 {limit} MB（文件损坏或是恶意文件？）。",
    },
    "err.limit.unpacked.hint": {
        "en": "Open and re-save it, or split it into smaller documents.",
        "zh": "请打开后重新保存，或拆分成较小的文档。",
    },
    "err.limit.chars": {
        "en": "This document gives {chars:,} characters of text, more than the {limit:,} one document may have.",
        "zh": "这个文档提取出 {chars:,} 个字符，超过单个文档允许的 {limit:,} 个字符。",
    },
    "err.limit.chars.hint": {
        "en": "Split it into smaller documents and add those.",
        "zh": "请拆分成较小的文档后再添加。",
    },
}
