"""Knowledge bases (RAG): turn a user's documents into searchable passages that ground the chat.

The pipeline, one module per step (each usable alone):

    loaders     file -> clean text (txt/md with encoding detection, pdf, docx, html, csv, jsonl)
    chunking    text -> overlapping chunks cut on sentence boundaries (Chinese and English)
    embeddings  chunks -> normalized vectors with a local sentence-transformers model
    store       the knowledge base on disk: FAISS index + chunk store + meta.json
    retrieval   query -> top-k hits with score threshold and neighbour expansion
    prompting   hits -> a grounded prompt / chat messages
    commands    ``python -m core kb ...``

    >>> from core.rag import store, retrieval                     # doctest: +SKIP
    >>> store.create_kb("notes")
    >>> store.ingest("notes", ["docs/"])
    >>> retrieval.search(store.load_kb("notes"), "what is albedo?", k=5)

Nothing here imports Streamlit; torch, sentence-transformers and faiss are imported inside
functions so that importing this package is instant.
"""
