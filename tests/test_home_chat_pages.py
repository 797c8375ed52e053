"""AppTests for the Home page (router, environment, password gate) and the Chat page without
a model; plus ./run.sh's refusal to listen beyond localhost without a password."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def test_home_renders_environment_and_counts(workbench_home, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PASSWORD", raising=False)
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Fine-tuning workbench"
    labels = [m.label for m in at.metric]
    assert labels == ["Models", "Datasets", "Training runs"]
    assert [m.value for m in at.metric] == ["0", "0", "0"]
    versions = at.dataframe[0].value
    assert {"torch", "transformers", "peft", "bitsandbytes", "trl"} <= set(versions["library"])


def test_home_switches_to_chinese(workbench_home, monkeypatch):
    monkeypatch.delenv("WORKBENCH_PASSWORD", raising=False)
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    at.selectbox(key="ui_lang_select").set_value("zh").run()
    assert not at.exception
    assert at.title[0].value == "大模型微调工作台"
    assert [m.label for m in at.metric] == ["模型", "数据集", "训练任务"]


def test_password_gate(workbench_home, monkeypatch):
    monkeypatch.setenv("WORKBENCH_PASSWORD", "s3cret")
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Sign in" and not at.metric
    at.text_input(key="login_password").set_value("wrong")
    at.button[0].click().run()
    assert "Wrong password." in [e.value for e in at.error] and not at.metric
    at.text_input(key="login_password").set_value("s3cret")
    at.button[0].click().run()
    assert not at.exception and len(at.metric) == 3


def test_chat_without_models_offers_demo(workbench_home):
    at = AppTest.from_file(str(ROOT / "views" / "6_Chat.py"), default_timeout=120).run()
    assert not at.exception
    assert any("demo model" in i.value for i in at.info)
    at.button(key="chat_model_build_demo").click().run()
    assert not at.exception
    assert at.selectbox(key="chat_model").value == "demo-tiny"
    assert (workbench_home / "models" / "demo-tiny" / "config.json").exists()


def test_chat_single_mode_streams_an_answer(workbench_home, tiny_model_path):
    (workbench_home / "models").mkdir(parents=True)
    (workbench_home / "models" / "tiny").symlink_to(tiny_model_path, target_is_directory=True)
    at = AppTest.from_file(str(ROOT / "views" / "6_Chat.py"), default_timeout=120).run()
    at.slider(key="chat_max_new").set_value(16).run()
    at.chat_input(key="chat_input").set_value("Hello").run()
    assert not at.exception
    history = at.session_state["chat_history"]["single"]
    assert [m["role"] for m in history] == ["user", "assistant"]
    assert history[1]["content"]
    at.button(key="chat_clear").click().run()
    assert at.session_state["chat_history"]["single"] == []


def test_chat_rejects_absurd_settings(workbench_home, tiny_model_path):
    from core.chat.generate import GenerationSettings
    from core.errors import UserError

    with pytest.raises(UserError):
        GenerationSettings(max_new_tokens=0).validate()
    with pytest.raises(UserError):
        GenerationSettings(top_p=0).validate()


def test_run_sh_refuses_public_bind_without_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_PASSWORD"}
    env["WORKBENCH_HOME"] = str(tmp_path)
    result = subprocess.run(["./run.sh", "--host", "0.0.0.0"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 1
    assert "WORKBENCH_PASSWORD" in result.stderr
