"""The "Personal assistant" tab of the Datasets page: the repeat-N self-cognition generator."""
from __future__ import annotations

import streamlit as st

from core.data.assistant import PRESETS, AssistantSpec, generate_assistant_rows, save_assistant_dataset
from core.errors import UserError
from core.i18n import Msg
from ui.common import flash, lang, show_user_error, show_untrusted, tr
from ui.state import KEEP

PRESET_KEY = "assistant_preset_lang"


def _apply_preset(lang: str) -> None:
    st.session_state["assistant_questions"] = "\n".join(PRESETS[lang]["questions"])
    st.session_state["assistant_answer"] = PRESETS[lang]["answer"]


def render_assistant_tab() -> None:
    st.caption(tr("assistant.intro"))
    preset = st.radio(tr("assistant.preset"), list(PRESETS), horizontal=True, key="assistant_lang", persist_state=KEEP,
                    format_func=lambda code: {"zh": "中文", "en": "English"}[code])
    if st.session_state.get(PRESET_KEY) != preset:  # switching preset refills questions and answer
        st.session_state[PRESET_KEY] = preset
        _apply_preset(preset)

    left, right = st.columns(2)
    name = left.text_input(tr("assistant.name"), value="小智" if preset == "zh" else "Aria", key="assistant_name", persist_state=KEEP)
    author = right.text_input(tr("assistant.author"), value="张三" if preset == "zh" else "Alex", key="assistant_author", persist_state=KEEP)
    n = left.number_input(tr("assistant.n"), min_value=0, max_value=10_000_000, value=10_000, step=1000,
                          key="assistant_n", persist_state=KEEP, help=tr("assistant.n_help"))
    dataset_name = right.text_input(tr("assistant.dataset_name"), value="assistant", key="assistant_dataset", persist_state=KEEP)
    questions = st.text_area(tr("assistant.questions"), key="assistant_questions", persist_state=KEEP, height=150,
                             help=tr("assistant.questions_help"))
    answer = st.text_area(tr("assistant.answer"), key="assistant_answer", persist_state=KEEP, height=90,
                          help=tr("assistant.answer_help"))
    system = st.text_input(tr("assistant.system"), value="", key="assistant_system", persist_state=KEEP)

    spec = AssistantSpec(name=name, author=author, n=int(n), lang=preset,
                         questions=[q for q in questions.splitlines() if q.strip()],
                         answer_template=answer, system=system)
    errors = spec.field_errors(lang())
    for field, message in errors.items():
        st.warning(f"**{tr('assistant.field.' + field)}**: {message}")

    if not errors:
        preview = generate_assistant_rows(AssistantSpec(**{**spec.__dict__, "n": min(spec.n, 6)}))
        st.markdown(f"**{tr('assistant.preview')}**")
        for row in preview[:3]:
            for message in row["messages"]:
                with st.chat_message(message["role"]):
                    show_untrusted(message["content"])

    if st.button(tr("assistant.generate"), type="primary", disabled=bool(errors), key="assistant_generate"):
        try:
            with st.spinner(tr("assistant.saving")):
                info = save_assistant_dataset(spec, dataset_name)
        except UserError as err:
            show_user_error(err)
        else:  # redraw at once, so Browse, Shape and Manage list the new set on this very click
            flash("success", Msg("assistant.saved", name=info.name, rows=f"{info.rows:,}"))
            st.rerun()
