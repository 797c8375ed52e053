"""AppTests for the Models and Serve pages: tables, fits, download list after a reload, delete, refusals."""
from __future__ import annotations

import socket
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.local_hub import LocalHub

ROOT = Path(__file__).resolve().parents[1]


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "views" / name), default_timeout=120)


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    return "\n".join(map(str, parts))


def test_models_page_table_download_delete(workbench_home, tiny_model_path):
    from core.models import download as dl
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    hub = LocalHub({"acme/tiny-llama": tiny_model_path}).start()
    try:
        done = dl.wait_download(dl.start_download(dl.DownloadRequest("acme/tiny-llama", endpoint=hub.url)).job_id,
                                timeout=120)
    finally:
        hub.stop()
    assert done.status == "completed"
    at = page("7_Models.py").run()  # a fresh page: the finished download is listed from its folder
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(table["Name"]) == ["demo-tiny", "tiny-llama"]
    assert set(table["Chat 4bit"].str.startswith("yes")) == {True} and "Train QLORA" in table.columns
    assert "Fits this machine?" in texts(at) and "acme/tiny-llama" in texts(at)
    assert at.get("progress")[0].proto.value == 100

    at.selectbox(key="models_selected").select("tiny-llama").run()
    assert any("Folder:" in m.value and "tiny-llama" in m.value for m in at.markdown)
    at.checkbox(key="models_confirm_tiny-llama").check().run()
    at.button(key="models_delete").click().run()
    assert not at.exception
    assert not (workbench_home / "models" / "tiny-llama").exists()
    assert "Deleted tiny-llama" in texts(at)


def test_models_page_bad_download_in_chinese(workbench_home):
    at = page("7_Models.py")
    from core.settings import save_setting

    save_setting("lang", "zh")  # the workspace default: what AppTest's option formatting reads too
    at.run()
    at.text_input(key="models_repo_id").input("not a repo!")
    at.button(key="FormSubmitter:models_download_form-开始下载").click().run()
    assert not at.exception
    assert "不是有效的仓库名" in texts(at)


def test_serve_page_empty_and_port_in_use(workbench_home, tiny_model_path):
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    at = page("8_Serve.py").run()
    assert not at.exception and "No server yet." in texts(at)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        at.selectbox(key="serve_engine").select("transformers")
        at.number_input(key="serve_port").set_value(taken.getsockname()[1])
        at.button(key="serve_start").click().run()
    assert not at.exception and "is already in use" in texts(at)
    at.text_input(key="serve_host").input("0.0.0.0")
    at.number_input(key="serve_port").set_value(0)
    at.button(key="serve_start").click().run()
    assert "an API key is required" in texts(at)


def test_models_page_names_a_broken_folder_in_chinese(workbench_home):
    """A folder with a damaged config.json is listed as a warning in the page's language; the rest shows."""
    from core.models.demo import ensure_demo_model
    from core.settings import save_setting

    ensure_demo_model()
    broken = workbench_home / "models" / "broken-model"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{ not json", encoding="utf-8")
    (broken / "model.safetensors").write_bytes(b"\x00" * 16)
    save_setting("lang", "zh")
    at = page("7_Models.py").run()
    assert not at.exception
    assert "demo-tiny" in str(at.dataframe[0].value)
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("broken-model:") and "不是合法的 JSON" in w for w in warnings), warnings
    assert all("Traceback" not in w for w in warnings)


def test_models_page_downloads_from_modelscope(workbench_home, tiny_model_path, monkeypatch):
    """The page's form with ModelScope picked: the job uses the modelscope client (not HF_ENDPOINT,
    which is a Hugging Face mirror) and the model is listed when it is done."""
    from core.models import download as dl
    from core.models.demo import ensure_demo_model

    ensure_demo_model()
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # a Hugging Face mirror: must not be used
    hub = LocalHub({"qwen/tiny-chat": tiny_model_path}).start()
    try:
        at = page("7_Models.py").run()
        at.text_input(key="models_repo_id").input("qwen/tiny-chat")
        at.selectbox(key="models_source").select("modelscope")
        at.text_input(key="models_endpoint").input(hub.url)
        at.button(key="FormSubmitter:models_download_form-Start download").click().run()
        assert not at.exception
        job = dl.list_downloads()[0]
        done = dl.wait_download(job.job_id, timeout=120)
        assert done.status == "completed", done.error
        assert any(r["path"].startswith("/api/v1/models/qwen/tiny-chat") for r in hub.requests)
    finally:
        hub.stop()
    at = page("7_Models.py").run()
    assert "tiny-chat" in list(at.dataframe[0].value["Name"])
