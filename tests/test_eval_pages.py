"""AppTest for the Scoreboard tab (views/4_Compare.py + ui/scoreboard_tab.py) and the Chat page's arena
(views/6_Chat.py): a saved board shows its table and best checkpoint; the arena answers with base + two
checkpoints at once, each pane equal to that model answering alone."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from compare_fixtures import ws  # noqa: F401 (ws is a fixture)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def saved_board(ws):
    from core import workspace
    from core.eval.scoreboard import Scoreboard, scoreboard_path

    rows = [{"label": "base", "checkpoint": "", "step": None, "identity_seen": 0.0, "identity_heldout": 0.0,
             "drift_rouge_l": None, "general_perplexity": 900.0, "perplexity_delta": 0.0}]
    for step, seen, heldout in ((10, 0.5, 0.1), (20, 1.0, 0.3)):
        rows.append({"label": f"{ws.run_id}/checkpoint-{step}", "checkpoint": f"checkpoint-{step}", "step": step,
                     "train_loss": 3.0 / step, "identity_seen": seen, "identity_heldout": heldout,
                     "drift_rouge_l": 0.5, "general_perplexity": 950.0 + step, "perplexity_delta": 50.0 + step})
    details = {"identity": {"name": "小智", "author": "张三", "seen": ["你是谁？"], "heldout": ["你怎么称呼？"],
                            "models": [{"label": r["label"], "hit_rate_seen": r["identity_seen"],
                                        "hit_rate_heldout": r["identity_heldout"], "n_seen": 1, "n_heldout": 1,
                                        "misses": []} for r in rows]}}
    board = Scoreboard(run_id=ws.run_id, model=str(ws.model_path), rows=rows, details=details)
    workspace.atomic_write_json(scoreboard_path(ws.run_id), board.to_dict())
    yield board
    shutil.rmtree(scoreboard_path(ws.run_id).parent, ignore_errors=True)


def test_scoreboard_tab_shows_the_board_and_the_best(saved_board, ws):
    at = AppTest.from_file(str(ROOT / "views" / "4_Compare.py"), default_timeout=120)
    at.session_state["cmp_tab"] = "Scoreboard"  # the user opens the tab
    at.run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "model" in d.value.columns)  # the board
    assert list(table["model"]) == ["base", "checkpoint-10", "checkpoint-20"]  # the run is picked above it
    assert table["step"].tolist() == ["—", "10", "20"] and table["perplexity Δ"].tolist() == ["0", "60", "70"]
    assert "identity (held-out)" in table.columns
    assert any(f"{ws.run_id}/checkpoint-20" in s.value for s in at.success)
    at.selectbox(key="sb_criterion").set_value("perplexity_delta").run()
    assert any(f"{ws.run_id}/checkpoint-10" in s.value for s in at.success)  # lower is better
    at.button(key="sb_next_export").click().run()
    assert at.session_state["cmp_export_adapter"] == f"{ws.run_id}/checkpoint-10"


def test_scoreboard_serve_opens_the_serve_page_with_the_best_checkpoint(saved_board, ws, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PASSWORD", raising=False)
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=120)  # the whole app: pages can switch
    at.session_state["cmp_tab"] = "Scoreboard"
    at.run()
    at.switch_page("views/4_Compare.py").run()
    assert not at.exception
    at.button(key="sb_next_serve").click().run()
    assert not at.exception, at.exception
    assert at.multiselect(key="serve_adapters").value == [f"{ws.run_id}/checkpoint-20"]  # best by identity
    assert at.selectbox(key="serve_model").value == "demo-tiny"
    assert at.button(key="serve_start")  # the start form, one click away


def test_chat_arena_answers_with_every_model_at_once(ws):
    from core.chat.generate import GenerationSettings, generate_reply
    from core.models.loading import load_base

    at = AppTest.from_file(str(ROOT / "views" / "6_Chat.py"), default_timeout=180).run()
    at.radio(key="chat_mode").set_value("arena").run()
    picked = [f"{ws.run_id}/checkpoint-10", f"{ws.run_id}/adapter"]
    at.multiselect(key="chat_arena").set_value(picked).run()
    at.slider(key="chat_max_new").set_value(16)
    at.slider(key="chat_temperature").set_value(0.0)
    at.slider(key="chat_rep").set_value(1.0).run()
    at.chat_input(key="chat_input").set_value("你是谁？").run()
    assert not at.exception and not at.error
    history = at.session_state["chat_history"]
    keys = ["base"] + [f"arena:{label}" for label in picked]
    assert all([m["role"] for m in history[key]] == ["user", "assistant"] for key in keys)
    lm = load_base(ws.model_path)
    settings = GenerationSettings(max_new_tokens=16, temperature=0.0, repetition_penalty=1.0)
    for key, adapter in zip(keys, [None, ws.adapter("checkpoint-10"), ws.adapter("adapter")]):
        alone = generate_reply(lm, [{"role": "user", "content": "你是谁？"}], settings, adapter=adapter)
        answer = history[key][1]["content"]
        assert answer.removesuffix(" (cut at the token limit)").strip() == alone.strip(), key
