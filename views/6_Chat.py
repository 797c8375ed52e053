"""Chat: streaming answers from a model, alone, side by side with its fine-tuned adapter, or in an
arena of up to four checkpoints and the base.

Side by side and the arena answer the same prompt with every pane's model at once: one batched
generation on ONE loaded copy of the base weights (core.chat.batch.stream_many, PEFT
mixed-adapter batches), one streamer per row, so all panes fill together. Stop ends every pane
and marks each unfinished answer. With the knowledge-base switch on, every pane gets the
identical retrieved passages.
"""
from __future__ import annotations

import threading

import streamlit as st

from core.errors import UserError
from ui.common import message_text, page_start, show_untrusted, show_user_error, stream_untrusted, tr
from ui.models import get_loaded_model, is_loaded, model_picker, quantization_label, quantization_select, unload_all
from ui.quick_start import mark_chatted
from ui.rag_panel import rag_settings, show_sources
from ui.run_labels import adapter_label_for
from ui.state import KEEP

HISTORY_KEY = "chat_history"  # pane key -> messages: "single", "base", "tuned", "arena:<label>"
ARENA_MAX = 4  # checkpoints in the arena, besides the base


def histories() -> dict[str, list[dict]]:
    return st.session_state.setdefault(HISTORY_KEY, {})


def pane_history(key: str) -> list[dict]:
    return histories().setdefault(key, [])


def sidebar():
    from core.train.runs import list_adapters

    with st.sidebar:
        model = model_picker("chat_model", tr("common.model"))
        quant = quantization_select("chat_quant")
        mode = st.radio(tr("chat.mode"), ["single", "side", "arena"], key="chat_mode", persist_state=KEEP,
                        format_func=lambda m: tr(f"chat.mode_{m}"))
        adapters = list_adapters()
        labels = {a.label: a.path for a in adapters}
        options = [""] + list(labels)
        named = adapter_label_for(adapters)
        titled = adapter_label_for(adapters, short=True)
        if mode == "arena":
            arena = st.multiselect(tr("chat.arena_pick", n=ARENA_MAX), list(labels), key="chat_arena",
                                   persist_state=KEEP, max_selections=ARENA_MAX, format_func=named)
            adapter_label = ",".join(arena)
        else:
            adapter_label = st.selectbox(tr("chat.adapter"), options, key="chat_adapter", persist_state=KEEP,
                                         format_func=lambda s: named(s) if s else tr("chat.no_adapter"))
        if not adapters:
            st.caption(tr("chat.no_adapters_yet"))
        with st.expander(tr("chat.settings"), expanded=False):
            settings = generation_settings()
        rag = rag_settings()
        if st.button(tr("chat.clear"), key="chat_clear"):
            st.session_state[HISTORY_KEY] = {}
            st.rerun()
        if st.button(tr("common.unload_models"), key="chat_unload"):
            unload_all()
            st.toast(tr("common.unloaded"))
    return model, quant, mode, adapter_label, labels, titled, settings, rag


def generation_settings():
    from core.chat.generate import GenerationSettings

    return GenerationSettings(
        max_new_tokens=st.slider(tr("chat.max_new_tokens"), 16, 4096, 256, step=16, key="chat_max_new", persist_state=KEEP),
        temperature=st.slider(tr("chat.temperature"), 0.0, 2.0, 0.7, step=0.05, key="chat_temperature", persist_state=KEEP),
        top_p=st.slider(tr("chat.top_p"), 0.05, 1.0, 0.9, step=0.05, key="chat_top_p", persist_state=KEEP),
        top_k=st.slider(tr("chat.top_k"), 0, 200, 50, key="chat_top_k", persist_state=KEEP),
        repetition_penalty=st.slider(tr("chat.repetition_penalty"), 1.0, 2.0, 1.1, step=0.05, key="chat_rep", persist_state=KEEP),
        system=st.text_area(tr("chat.system"), "", key="chat_system", persist_state=KEEP, height=80),
    )


def retrieve_passages(rag, prompt: str):
    if rag is None:
        return []
    from core.rag.retrieval import retrieve

    try:
        return retrieve(rag, prompt)
    except UserError as err:
        st.warning(tr("chat.rag_unavailable", error=message_text(err)))
        return []


def model_messages(history: list[dict], rag, hits) -> list[dict]:
    messages = [{"role": m["role"], "content": m["content"]} for m in history]
    if rag is None or not hits:
        return messages
    from core.rag.prompting import build_grounded_messages

    return build_grounded_messages(messages, hits, rag.template)


def show_history(history: list[dict]) -> None:
    for message in history:
        with st.chat_message(message["role"]):
            show_untrusted(message["content"])
            if message.get("sources"):
                show_sources(message["sources"])


def stream_into(history: list[dict], lm, adapter_path, settings, rag, hits) -> None:
    """Stream one answer into the current container and append it (partial on Stop) to history."""
    from core.chat.generate import stream_reply

    stop = threading.Event()
    stopped_mark = tr("chat.stopped")  # read now: after a Stop click every st call (tr too) raises again
    pieces: list[str] = []
    state = {"finished": False, "recorded": False, "failed": False}

    def record() -> None:
        if state["recorded"] or state["failed"]:  # an error is shown as one, never as a reply cut off by Stop
            return
        state["recorded"] = True
        text = "".join(pieces)
        if not state["finished"]:
            text = f"{text} {stopped_mark}".strip()
        entry = {"role": "assistant", "content": text}
        if hits:
            entry["sources"] = [h.to_dict() if hasattr(h, "to_dict") else h for h in hits]
        history.append(entry)

    def tokens():
        try:
            for piece in stream_reply(lm, model_messages(history, rag, hits), settings, adapter=adapter_path, stop=stop):
                pieces.append(piece)
                yield piece
            state["finished"] = True
        except Exception:
            state["failed"] = True
            raise
        finally:
            stop.set()
            record()

    stream = tokens()
    with st.chat_message("assistant"):
        try:
            stream_untrusted(stream)
        except UserError as err:
            show_user_error(err)
        except Exception as err:  # noqa: BLE001 - a generation failure must not break the page
            st.error(tr("chat.error", error=f"{type(err).__name__}: {err}"))
        finally:
            # A Stop click interrupts the streaming in THIS pane: close the stream now, so generation
            # ends and this pane (not a later one, not after the rerun) is marked as stopped.
            stream.close()
            if not state["recorded"]:  # failed, or stopped before it began: keep user/assistant alternation
                history.pop()
        if hits:
            show_sources(hits)


def stream_panes(panes: list[tuple[str, str | None]], columns, lm, settings, rag, hits) -> None:
    """Answer in every pane at once from one batched generation (one streamer per row); each
    answer (partial on Stop, marked) goes into its pane's history. When the generation fails, a
    pane that had not finished shows the error and keeps neither a half reply nor the question."""
    from core.chat.batch import Request, stream_many
    from core.untrusted import inert_markdown

    stop = threading.Event()
    texts = ["" for _ in panes]
    ended: dict[int, bool] = {}  # row -> cut (by the token limit); missing = still going when stopped
    recorded = {"done": False}
    failure: list[str] = []  # the error's text, once the generation failed
    requests = [Request(model_messages(pane_history(key), rag, hits), adapter) for key, adapter in panes]
    slots = []
    for column in columns:
        with column, st.chat_message("assistant"):
            slots.append(st.empty())

    def record() -> None:
        if recorded["done"]:
            return
        recorded["done"] = True
        for row, (key, _) in enumerate(panes):
            text = texts[row]
            if failure and row not in ended:  # failed, not stopped: drop the question (user/assistant alternate)
                pane_history(key).pop()
                continue
            if row not in ended:
                text = f"{text} {tr('chat.stopped')}".strip()
            elif ended[row]:
                text = f"{text} {tr('chat.cut_limit')}".strip()
            entry = {"role": "assistant", "content": text}
            if hits:
                entry["sources"] = [h.to_dict() if hasattr(h, "to_dict") else h for h in hits]
            pane_history(key).append(entry)

    try:
        for event in stream_many(lm, requests, settings, stop):
            if event.done:
                ended[event.row] = event.cut
            else:
                texts[event.row] += event.text
            slots[event.row].markdown(inert_markdown(texts[event.row]) + ("" if event.done else " ▌"))
    except UserError as err:
        failure.append(message_text(err))
    except Exception as err:  # noqa: BLE001 - a generation failure must not break the page
        failure.append(tr("chat.error", error=f"{type(err).__name__}: {err}"))
    finally:  # also runs when a Stop click interrupts this script run
        stop.set()
        record()
    for row, slot in enumerate(slots):
        if failure and row not in ended:
            slot.error(inert_markdown(failure[0]))
        else:
            slot.markdown(inert_markdown(pane_history(panes[row][0])[-1]["content"]))
    if hits:
        with columns[-1]:
            show_sources(hits)


def server_target() -> tuple[str, str] | None:
    """A running server's model to talk to instead of a local one (Serve page), or None."""
    from core.serve.server import running_targets

    targets = running_targets()
    if not targets:
        return None
    options = [None] + targets
    return st.sidebar.selectbox(tr("serve.chat_target"), options, key="chat_server_target",
                                persist_state=KEEP, format_func=lambda t: "—" if t is None else f"{t[1]} @ {t[0]}")


def chat_with_server(target: tuple[str, str], settings) -> None:
    from core.serve.server import stream_api_reply

    history = pane_history("single")
    show_history(history)
    prompt = st.chat_input(tr("chat.input"), key="chat_input")
    if not prompt:
        return
    history.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        try:
            text = st.write_stream(stream_api_reply(target[0], target[1], history, settings))
        except UserError as err:
            history.pop()
            show_user_error(err)
            return
    history.append({"role": "assistant", "content": text if isinstance(text, str) else "".join(map(str, text))})


def main() -> None:
    page_start("chat.title")
    model, quant, mode, adapter_label, labels, titled, settings, rag = sidebar()
    if model is None:
        return
    try:
        settings.validate()
    except UserError as err:
        show_user_error(err)
        return
    target = server_target()
    if target is not None:
        chat_with_server(target, settings)
        return
    if is_loaded(model, quant):
        st.caption(tr("chat.loaded", model=model, quant=quantization_label(quant)))
    else:  # weights load on the first message, so the page itself opens instantly
        st.caption(tr("chat.loads_on_first", model=model))

    adapter_path = labels.get(adapter_label)
    if mode == "arena":
        chosen = [label for label in adapter_label.split(",") if label in labels]
        panes = [("base", None)] + [(f"arena:{label}", labels[label]) for label in chosen]
        titles = [tr("chat.base")] + [tr("chat.tuned", name=titled(label)) for label in chosen]
        if not chosen:
            st.info(tr("chat.arena_empty", n=ARENA_MAX))
    elif mode == "side":
        panes = [("base", None)] + ([("tuned", adapter_path)] if adapter_path else [])
        titles = [tr("chat.base"), tr("chat.tuned", name=titled(adapter_label) if adapter_label else "—")]
        if not adapter_path:
            st.info(tr("chat.pick_adapter"))
    else:
        panes, titles = [("single", adapter_path)], [None]
    if mode != "single":
        st.caption(tr("chat.shared_weights_arena" if mode == "arena" else "chat.shared_weights"))
    columns = st.columns(len(titles))
    for (key, _), title, column in zip(panes, titles, columns):
        with column:
            if title and mode == "arena":  # up to five narrow panes: a bold line, not a heading
                st.markdown(f"**{title}**")
            elif title:
                st.subheader(title)
            show_history(pane_history(key))

    prompt = st.chat_input(tr("chat.input"), key="chat_input")
    if not prompt:
        return
    stop_slot = st.empty()  # a click on Stop interrupts this run; the button goes once answers are done
    stop_slot.button(tr("chat.stop"), key="chat_stop", type="secondary")
    try:
        answer_all(prompt, mode, panes, columns, model, quant, adapter_path, settings, rag)
    finally:  # also after an error: no Stop button stays behind
        stop_slot.empty()


def answer_all(prompt, mode, panes, columns, model, quant, adapter_path, settings, rag) -> None:
    """Every pane answers ``prompt``: one streamed answer alone, or all panes from one batched generation."""
    try:
        lm = get_loaded_model(model, quant)
        for _, path in panes:
            if path:
                lm.attach(path)
    except UserError as err:
        show_user_error(err)
        return
    hits = retrieve_passages(rag, prompt)  # retrieved once: every pane gets the same passages
    for (key, _), column in zip(panes, columns):
        pane_history(key).append({"role": "user", "content": prompt})
        with column, st.chat_message("user"):
            show_untrusted(prompt)
    if mode == "single":
        with columns[0]:
            stream_into(pane_history("single"), lm, adapter_path, settings, rag, hits)
    else:
        stream_panes(panes, columns[:len(panes)], lm, settings, rag, hits)
    if any(path for _, path in panes):
        mark_chatted()  # the Home checklist's last step


main()
