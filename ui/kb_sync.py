"""Start the knowledge-base folder-sync scheduler once per app process (Home.py calls it).

The scheduler (``core.rag.sync.SyncScheduler``) is a daemon thread that syncs every base whose
schedule is due; ``st.cache_resource`` makes every session and rerun share the one thread.
"""
from __future__ import annotations

import streamlit as st


@st.cache_resource(show_spinner=False)
def start_sync_scheduler():
    from core.rag.sync import SyncScheduler

    return SyncScheduler().start()
