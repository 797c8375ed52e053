"""The workbench library: everything the pages and the CLI do, with no Streamlit import.

Heavy libraries (torch, transformers, peft, trl, faiss, sentence-transformers) are imported
inside the functions that need them, so importing `core` stays fast for the pages.
"""
