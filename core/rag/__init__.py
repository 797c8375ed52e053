"""Knowledge bases (RAG): turn a user's documents into searchable passages that ground the chat.

The pipeline, one module per step (each usable alone):

    loaders     file -> clean text (txt/md with encoding detection, pdf, docx, html, csv, jsonl)
    chunking    text -> overlapping chunks cut on sentence boundaries (Chinese and English)
    embeddings  chunks -> normalized vectors with a local sentence-transformers model
    lexical     chunks -> a BM25 index (bm25s; stemmed English, jieba-cut Chinese)
    store       the knowledge base on disk: FAISS index + BM25 index + chunk store + meta.json
    retrieval   query -> top-k hits (dense, lexical or hybrid), threshold, neighbour expansion
    rerank      optional local cross-encoder that re-scores the best hits
    sync        a base that follows a folder (on demand or on a schedule)
    prompting   hits -> a grounded prompt / chat messages
    commands    ``python -m core kb ...``

    >>> from core.rag import store, retrieval                     # doctest: +SKIP
    >>> store.create_kb("notes")
    >>> store.ingest("notes", ["docs/"])
    >>> retrieval.search(store.load_kb("notes"), "what is albedo?", k=5)

Nothing here imports Streamlit; torch, sentence-transformers and faiss are imported inside
functions so that importing this package is instant.
"""
