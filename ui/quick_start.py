"""The Home page's quick-start checklist: model ✓ dataset ✓ run ✓ chat ✓, with the next action.

Each step is checked from what the workspace holds (a model, a dataset, a completed run) and,
for the last one, from core.settings' ``chatted`` flag that the Chat page sets after the first
answer of a fine-tuned adapter. The first open step gets a button: building the demo model is
done right here; the others open the page that does it.
"""
from __future__ import annotations

import streamlit as st

from ui.common import lang, tr
from ui.models import build_demo_button

CHATTED = "chatted"  # core.settings flag: a fine-tuned adapter has answered in Chat once


def loop_state() -> dict[str, bool]:
    """Which steps of the loop are done, in order."""
    from core.data.store import list_datasets
    from core.models.registry import list_models
    from core.settings import load_settings
    from core.train.runs import list_runs

    return {
        "model": bool(list_models()),
        "dataset": bool(list_datasets()),
        "run": any(r.status == "completed" for r in list_runs()),
        "chat": bool(load_settings().get(CHATTED)),
    }


def mark_chatted() -> None:
    """Called by the Chat page once a fine-tuned adapter has answered."""
    from core.settings import save_setting

    try:
        save_setting(CHATTED, True)
    except OSError:  # a read-only workspace: the checklist simply stays open
        pass


def quick_start(pages: dict[str, str]) -> None:
    """The checklist; ``pages`` maps "datasets"/"train"/"chat" to page files for the buttons."""
    done = loop_state()
    st.subheader(tr("home.quick_start"))
    cols = st.columns(len(done))
    for col, (step, ok) in zip(cols, done.items()):
        icon = ":material/check_circle:" if ok else ":material/radio_button_unchecked:"
        col.markdown(f"{icon} **{tr('home.qs.' + step)}**")
    todo = next((step for step, ok in done.items() if not ok), None)
    if todo is None:
        st.success(tr("home.qs.all_done"))
        return
    st.caption(tr("home.qs.next." + todo))
    if todo == "model":
        build_demo_button("home")
        return
    target = {"dataset": "datasets", "run": "train", "chat": "chat"}[todo]
    st.page_link(pages[target], label=tr("home.qs.go." + todo), icon=":material/arrow_forward:",
                 query_params={"lang": lang()})
