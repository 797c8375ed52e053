"""Texts of the Knowledge page (``knowledge.*``) and of the Chat page's RAG switch (``rag.*``)."""

TEXTS = {
    # ---------------------------------------------------------------- Knowledge page
    "knowledge.title": {"en": "Knowledge base", "zh": "知识库"},
    "knowledge.intro": {
        "en": "Turn your own documents into a searchable knowledge base, then switch on RAG in Chat "
              "to ground the answers in it.",
        "zh": "把你自己的文档变成可检索的知识库，然后在对话页打开 RAG 开关，让回答以它为依据。",
    },
    "knowledge.select": {"en": "Knowledge base", "zh": "知识库"},
    "knowledge.none_yet": {
        "en": "No knowledge base yet. Create one below, then add your documents to it.",
        "zh": "还没有知识库。先在下面创建一个，再把文档加进去。",
    },
    "knowledge.create": {"en": "Create a knowledge base", "zh": "创建知识库"},
    "knowledge.name": {"en": "Name", "zh": "名称"},
    "knowledge.name_help": {
        "en": "Letters (Chinese too), digits, '_', '-' or '.'.",
        "zh": "可用字母（含中文）、数字、“_”、“-”或“.”。",
    },
    "knowledge.embedder": {"en": "Embedding model folder", "zh": "向量模型文件夹"},
    "knowledge.embedder_help": {
        "en": "Leave empty for the bundled all-MiniLM-L6-v2 (English). For Chinese, give a local "
              "sentence-transformers folder such as bge-small-zh or m3e-base. It is fixed for the base.",
        "zh": "留空则使用内置的 all-MiniLM-L6-v2（英文）。中文文档建议填写本地的 sentence-transformers "
              "模型文件夹，如 bge-small-zh 或 m3e-base。创建后不可更换。",
    },
    "knowledge.chunk_size": {"en": "Chunk size (characters)", "zh": "分块大小（字符）"},
    "knowledge.overlap": {"en": "Overlap (characters)", "zh": "重叠（字符）"},
    "knowledge.index": {"en": "Index type", "zh": "索引类型"},
    "knowledge.index_help": {
        "en": "auto: exact search below 50,000 chunks, approximate (HNSW) above. "
              "flat: always exact. hnsw: always approximate (fast on very large bases).",
        "zh": "auto：5 万块以下精确检索，以上用近似检索 (HNSW)。flat：始终精确。hnsw：始终近似（超大知识库更快）。",
    },
    "knowledge.index_auto": {"en": "auto (by size)", "zh": "auto（按规模自动）"},
    "knowledge.index_flat": {"en": "flat (exact)", "zh": "flat（精确）"},
    "knowledge.index_hnsw": {"en": "hnsw (approximate)", "zh": "hnsw（近似）"},
    "knowledge.create_button": {"en": "Create", "zh": "创建"},
    "knowledge.loading_embedder": {
        "en": "Loading the embedding model…", "zh": "正在加载向量模型……"},
    "knowledge.created": {"en": "Knowledge base {name} created.", "zh": "已创建知识库 {name}。"},
    "knowledge.metric_docs": {"en": "Documents", "zh": "文档"},
    "knowledge.metric_chunks": {"en": "Chunks", "zh": "文本块"},
    "knowledge.metric_embedder": {"en": "Embedder", "zh": "向量模型"},
    "knowledge.metric_index": {"en": "Index", "zh": "索引"},
    "knowledge.settings_caption": {
        "en": "Chunks of {size} characters with {overlap} overlap · {dim}-dimensional vectors · {disk} on disk",
        "zh": "每块 {size} 字符，重叠 {overlap} · {dim} 维向量 · 占用磁盘 {disk}",
    },
    "knowledge.tab_add": {"en": "Add documents", "zh": "添加文档"},
    "knowledge.tab_preview": {"en": "Preview chunks", "zh": "分块预览"},
    "knowledge.tab_docs": {"en": "Documents", "zh": "文档管理"},
    "knowledge.tab_search": {"en": "Search", "zh": "检索测试"},
    "knowledge.upload": {
        "en": "Upload files (txt, md, pdf, docx, html, csv, jsonl)",
        "zh": "上传文件（txt、md、pdf、docx、html、csv、jsonl）",
    },
    "knowledge.server_path": {"en": "…or a file or folder on the server", "zh": "……或服务器上的文件或文件夹"},
    "knowledge.server_path_help": {
        "en": "Folders are read recursively; hidden files are skipped.",
        "zh": "文件夹会递归读取，隐藏文件会被跳过。",
    },
    "knowledge.ingest": {"en": "Add to knowledge base", "zh": "加入知识库"},
    "knowledge.nothing_to_ingest": {
        "en": "Choose files to upload or type a server path first.",
        "zh": "请先选择要上传的文件，或填写服务器路径。",
    },
    "knowledge.progress_reading": {"en": "[{i}/{n}] Reading {path}", "zh": "[{i}/{n}] 读取 {path}"},
    "knowledge.progress_embedding_all": {
        "en": "Embedding the new chunks: {done}/{total}",
        "zh": "正在向量化新文本块：{done}/{total}",
    },
    "knowledge.progress_done": {"en": "[{i}/{n}] Done {path}", "zh": "[{i}/{n}] 完成 {path}"},
    "knowledge.ingest_summary": {
        "en": "Added {chunks} chunks from {ok} of {n} files in {seconds:.1f} s.",
        "zh": "已从 {n} 个文件中的 {ok} 个加入 {chunks} 个文本块，用时 {seconds:.1f} 秒。",
    },
    "knowledge.ingest_skipped": {
        "en": "{n} file(s) were skipped; the reasons are in the table.",
        "zh": "有 {n} 个文件被跳过，原因见下表。",
    },
    "knowledge.col_file": {"en": "File", "zh": "文件"},
    "knowledge.col_chunks": {"en": "Chunks", "zh": "块数"},
    "knowledge.col_status": {"en": "Result", "zh": "结果"},
    "knowledge.col_format": {"en": "Format", "zh": "格式"},
    "knowledge.col_encoding": {"en": "Encoding", "zh": "编码"},
    "knowledge.col_chars": {"en": "Characters", "zh": "字符数"},
    "knowledge.col_added": {"en": "Added", "zh": "加入时间"},
    "knowledge.col_text": {"en": "Text", "zh": "内容"},
    "knowledge.status_ok": {"en": "added", "zh": "已加入"},
    "knowledge.note.unchanged": {"en": "unchanged, already in the knowledge base", "zh": "未改动，已在知识库中"},
    "knowledge.note.replaced": {"en": "replaced the previous version", "zh": "已替换之前的版本"},
    "knowledge.preview_file": {"en": "File to preview", "zh": "要预览的文件"},
    "knowledge.preview_path": {"en": "…or a file on the server", "zh": "……或服务器上的文件"},
    "knowledge.preview_summary": {
        "en": "{chunks} chunks from {chars} characters ({format}, encoding {encoding}).",
        "zh": "共 {chars} 个字符，切成 {chunks} 块（格式 {format}，编码 {encoding}）。",
    },
    "knowledge.preview_hint": {
        "en": "Pick a file to see how it would be cut. Nothing is added until you use “Add documents”.",
        "zh": "选择一个文件查看切分效果。只有在“添加文档”中确认后才会加入知识库。",
    },
    "knowledge.no_docs": {"en": "This knowledge base has no documents yet.", "zh": "这个知识库还没有文档。"},
    "knowledge.doc_to_delete": {"en": "Document", "zh": "文档"},
    "knowledge.delete_doc": {"en": "Delete document", "zh": "删除文档"},
    "knowledge.doc_deleted": {
        "en": "Removed {name} ({chunks} chunks).", "zh": "已删除 {name}（{chunks} 块）。"},
    "knowledge.rebuild": {"en": "Rebuild index", "zh": "重建索引"},
    "knowledge.reembed": {"en": "Re-embed every chunk (slow)", "zh": "重新向量化所有文本块（较慢）"},
    "knowledge.rebuilt": {"en": "Index rebuilt ({index}).", "zh": "索引已重建（{index}）。"},
    "knowledge.danger": {"en": "Delete this knowledge base", "zh": "删除整个知识库"},
    "knowledge.delete_kb": {"en": "Delete {name} for good", "zh": "永久删除 {name}"},
    "knowledge.kb_deleted": {"en": "Knowledge base {name} deleted.", "zh": "知识库 {name} 已删除。"},
    "knowledge.query": {"en": "Query", "zh": "查询"},
    "knowledge.query_placeholder": {"en": "Ask something your documents answer", "zh": "输入一个文档能回答的问题"},
    "knowledge.search": {"en": "Search", "zh": "检索"},
    "knowledge.no_hits": {
        "en": "No chunk scored above the threshold. Lower the threshold or rephrase.",
        "zh": "没有文本块超过阈值。可以降低阈值或换个问法。",
    },
    "knowledge.hit_header": {
        "en": "#{rank} · score {score:.3f} · {name} · chunk {chunk}",
        "zh": "#{rank} · 得分 {score:.3f} · {name} · 第 {chunk} 块",
    },
    "knowledge.hit_span": {"en": "covers chunks {first}–{last}", "zh": "覆盖第 {first}–{last} 块"},
    "knowledge.search_time": {"en": "{n} hits in {ms:.0f} ms.", "zh": "{n} 条结果，用时 {ms:.0f} 毫秒。"},
    "knowledge.empty_kb": {
        "en": "This knowledge base is empty: add documents first.",
        "zh": "这个知识库是空的，请先添加文档。",
    },
    "knowledge.embedder_note": {
        "en": "The bundled all-MiniLM-L6-v2 is English-first: Chinese documents are found mostly by their "
              "words. For Chinese (or mixed) documents, download a multilingual sentence-transformers model "
              "such as bge-m3, m3e-base or bge-large-zh to the server and give its folder above.",
        "zh": "内置的 all-MiniLM-L6-v2 以英文为主：中文文档主要靠关键词检索找到。中文（或中英混合）文档建议把多语言 "
              "sentence-transformers 模型（如 bge-m3、m3e-base 或 bge-large-zh）下载到服务器，并在上面填写它的文件夹。",
    },
    "knowledge.tab_test": {"en": "Retrieval test", "zh": "检索评测"},
    "knowledge.tab_sync": {"en": "Folder sync", "zh": "文件夹同步"},
    "knowledge.test_hint": {
        "en": "Write questions your documents answer, each with a piece of text the right passage contains. "
              "The test shows, per search mode, how often that passage is among the top k: pick the mode "
              "that suits your documents.",
        "zh": "写下文档能回答的问题，并给出正确段落中包含的一段文字。评测会按检索方式统计该段落进入前 k 条的比例，"
              "帮你选出最适合这些文档的检索方式。",
    },
    "knowledge.test_cases": {
        "en": "One per line: question | expected text", "zh": "每行一个：问题 | 期望文本"},
    "knowledge.test_placeholder": {
        "en": "Who taught Aristotle? | Taught by Plato", "zh": "雅鲁藏布江从哪里流过？ | 雅鲁藏布江从这里流过"},
    "knowledge.test_run": {"en": "Run the test", "zh": "开始评测"},
    "knowledge.test_running": {"en": "Searching {n} questions in every mode…", "zh": "正在用每种方式检索 {n} 个问题……"},
    "knowledge.test_recall": {"en": "{mode}: recall@{k}", "zh": "{mode}：召回率@{k}"},
    "knowledge.test_expected": {"en": "Expected text", "zh": "期望文本"},
    "knowledge.sync_hint": {
        "en": "Follow a folder on the server: sync adds new files, re-reads changed ones (by content) and "
              "removes deleted ones. Files added another way stay.",
        "zh": "关联服务器上的一个文件夹：同步时会加入新文件、重新读取内容有变化的文件、移除已删除的文件。"
              "以其他方式加入的文件不受影响。",
    },
    "knowledge.sync_folder": {"en": "Folder on the server", "zh": "服务器上的文件夹"},
    "knowledge.sync_every": {"en": "Every (minutes)", "zh": "间隔（分钟）"},
    "knowledge.sync_every_help": {
        "en": "Sync on this schedule while the app runs; 0 = only when you click Sync now.",
        "zh": "应用运行期间按此间隔自动同步；0 表示只在点击“立即同步”时同步。",
    },
    "knowledge.sync_now": {"en": "Sync now", "zh": "立即同步"},
    "knowledge.sync_save": {"en": "Save schedule", "zh": "保存同步计划"},
    "knowledge.sync_saved": {
        "en": "This knowledge base now syncs every {minutes} minutes while the app runs.",
        "zh": "应用运行期间，这个知识库会每 {minutes} 分钟同步一次。",
    },
    "knowledge.sync_saved_off": {
        "en": "Folder saved; it syncs only when you click Sync now.", "zh": "已保存文件夹；只在点击“立即同步”时同步。"},
    "knowledge.sync_summary": {
        "en": "Synced: {added} added, {updated} updated, {removed} removed, {unchanged} unchanged ({chunks} chunks embedded).",
        "zh": "同步完成：新增 {added} 个，更新 {updated} 个，移除 {removed} 个，未变 {unchanged} 个（向量化 {chunks} 块）。",
    },
    "knowledge.sync_added": {"en": "added", "zh": "新增"},
    "knowledge.sync_updated": {"en": "updated", "zh": "已更新"},
    "knowledge.sync_removed": {"en": "removed", "zh": "已移除"},
    "knowledge.unload": {"en": "Unload embedders and indexes", "zh": "卸载向量模型和索引"},
    # ---------------------------------------------------------------- hybrid retrieval, reranker, sync
    "knowledge.upgraded_lexical": {
        "en": "Knowledge base {name} was saved before word search existed: its word (BM25) index was "
              "built now from its {chunks} chunks, so hybrid search works.",
        "zh": "知识库 {name} 创建于关键词检索功能之前：已根据其 {chunks} 个文本块补建关键词 (BM25) 索引，现在可以使用混合检索。",
    },
    "err.kb.unknown_mode": {
        "en": "Unknown search mode {mode!r}.",
        "zh": "未知的检索方式 {mode!r}。",
    },
    "err.kb.unknown_mode.hint": {
        "en": "Use one of: {modes}.",
        "zh": "请使用以下之一：{modes}。",
    },
    "err.kb.reranker_missing": {
        "en": "No cross-encoder model in {path} (config.json is missing).",
        "zh": "{path} 中没有交叉编码器（重排序）模型（缺少 config.json）。",
    },
    "err.kb.reranker_missing.hint": {
        "en": "Give the folder of a local sentence-transformers cross-encoder (for example bge-reranker-base), "
              "or leave the reranker empty.",
        "zh": "请填写本地 sentence-transformers 交叉编码器的文件夹（例如 bge-reranker-base），或留空不使用重排序。",
    },
    "err.kb.reranker_unloadable": {
        "en": "Could not load the reranker at {path}: {error}",
        "zh": "无法加载 {path} 处的重排序模型：{error}",
    },
    "err.kb.sync_no_folder": {
        "en": "Knowledge base {name} does not follow a folder yet.",
        "zh": "知识库 {name} 还没有关联要同步的文件夹。",
    },
    "err.kb.sync_no_folder.hint": {
        "en": "Give the folder once (`kb sync {name} --folder PATH`, or on the Knowledge page); later syncs remember it.",
        "zh": "请先指定一次文件夹（`kb sync {name} --folder 路径`，或在知识库页面填写），之后同步会记住它。",
    },
    "err.kb.sync_folder_missing": {
        "en": "The folder {folder} does not exist on the server or is not a folder.",
        "zh": "服务器上不存在文件夹 {folder}，或它不是文件夹。",
    },
    "err.kb.sync_folder_missing.hint": {
        "en": "Check the path (it is a path on the server, not on your laptop).",
        "zh": "请检查路径（这是服务器上的路径，而不是你电脑上的）。",
    },
    "err.kb.sync_interval": {
        "en": "The sync interval must be between 0 (only on demand) and {most} minutes, not {minutes}.",
        "zh": "同步间隔须在 0（仅手动）到 {most} 分钟之间，而不是 {minutes}。",
    },
    "err.kb.test_line": {
        "en": "Line {line} of the retrieval test has no question and expected text.",
        "zh": "检索测试第 {line} 行缺少问题或期望文本。",
    },
    "err.kb.test_line.hint": {
        "en": "Write one case per line: question | expected text (or a tab between them, or a JSON line "
              "with \"question\" and \"answer\").",
        "zh": "每行一个用例：问题 | 期望文本（也可以用制表符分隔，或写成含 \"question\" 和 \"answer\" 的 JSON 行）。",
    },
    "err.kb.test_empty": {"en": "The retrieval test has no cases.", "zh": "检索测试中没有用例。"},
    # ---------------------------------------------------------------- Chat page RAG switch
    "rag.enable": {"en": "Ground answers in a knowledge base (RAG)", "zh": "用知识库增强回答 (RAG)"},
    "rag.enable_help": {
        "en": "Each question is searched in the knowledge base and the best passages are put into "
              "the prompt. In side-by-side mode both models get the same passages.",
        "zh": "每个问题都会先在知识库中检索，把最相关的文段放进提示词。并排对比时两个模型拿到完全相同的文段。",
    },
    "rag.kb": {"en": "Knowledge base", "zh": "知识库"},
    "rag.no_kb": {
        "en": "No knowledge base yet: create one on the Knowledge page.",
        "zh": "还没有知识库：请先在“知识库”页面创建。",
    },
    "rag.top_k": {"en": "Passages (top-k)", "zh": "文段数 (top-k)"},
    "rag.threshold": {"en": "Minimum score", "zh": "最低相似度"},
    "rag.threshold_help": {
        "en": "Cosine similarity from 0 to 1; passages below it are left out.",
        "zh": "余弦相似度（0–1），低于它的文段不会放入提示词。",
    },
    "rag.neighbors": {"en": "Neighbouring chunks", "zh": "相邻块数"},
    "rag.neighbors_help": {
        "en": "Add this many chunks before and after each hit, for more context.",
        "zh": "在每个命中块前后各补充这么多块，提供更多上下文。",
    },
    "rag.template": {"en": "Prompt template", "zh": "提示词模板"},
    "rag.template_help": {
        "en": "{context} becomes the passages, {question} the user's question.",
        "zh": "{context} 会替换为检索到的文段，{question} 替换为用户的问题。",
    },
    "rag.template_reset": {"en": "Reset template", "zh": "恢复默认模板"},
    "rag.settings": {"en": "RAG settings", "zh": "RAG 设置"},
    "rag.mode": {"en": "Search by", "zh": "检索方式"},
    "rag.mode_hybrid": {"en": "hybrid (meaning + words)", "zh": "混合（语义 + 关键词）"},
    "rag.mode_dense": {"en": "meaning (dense)", "zh": "语义（向量）"},
    "rag.mode_lexical": {"en": "words (BM25)", "zh": "关键词 (BM25)"},
    "rag.mode_help": {
        "en": "Hybrid fuses both rankings and suits most documents. Meaning finds passages phrased unlike "
              "the question; words find names, codes and rare terms exactly.",
        "zh": "混合检索融合两种排序，适合大多数文档。语义检索能找到措辞不同的段落；关键词检索能精确找到人名、编号和少见术语。",
    },
    "rag.reranker": {"en": "Reranker folder (optional)", "zh": "重排序模型文件夹（可选）"},
    "rag.reranker_help": {
        "en": "A local cross-encoder (e.g. bge-reranker-base) re-scores the best 20 passages: more accurate, "
              "a little slower. Leave empty to skip.",
        "zh": "本地交叉编码器（如 bge-reranker-base）会对最好的 20 个文段重新打分：更准确，但稍慢。留空则不使用。",
    },
    "rag.rank_dense": {"en": "meaning #{rank}", "zh": "语义第 {rank} 名"},
    "rag.rank_lexical": {"en": "words #{rank}", "zh": "关键词第 {rank} 名"},
    "rag.rank_dense_none": {"en": "meaning: not in its top 50", "zh": "语义：不在前 50 名"},
    "rag.rank_lexical_none": {"en": "words: no match", "zh": "关键词：未命中"},
    "rag.rank_rerank": {
        "en": "reranked from #{before} (score {score:.2f})",
        "zh": "重排序前第 {before} 名（得分 {score:.2f}）",
    },
    "rag.source_position": {
        "en": "{source} · chunks {first}–{last} · characters {start}–{end}",
        "zh": "{source} · 第 {first}–{last} 块 · 字符 {start}–{end}",
    },
    "rag.sources": {"en": "Sources ({n})", "zh": "参考来源（{n}）"},
    "rag.no_sources": {
        "en": "No passage passed the threshold; this answer does not use the knowledge base.",
        "zh": "没有文段达到阈值；这个回答没有用到知识库。",
    },
    "rag.source_line": {
        "en": "[{rank}] {name} · chunk {chunk} · score {score:.2f}",
        "zh": "[{rank}] {name} · 第 {chunk} 块 · 相似度 {score:.2f}",
    },
}
