"""Models in: info / fits / delete, and downloads through the real huggingface_hub client from a local hub.

The hub is tests/local_hub.py on a loopback port (the endpoint the client is pointed at); the
download runs as the background job it is in the app, started by the CLI.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.local_hub import LocalHub

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture()
def hub(tiny_model_path):
    (tiny_model_path / "README.md").write_text("---\nlicense: apache-2.0\n---\n# tiny\n", encoding="utf-8")
    server = LocalHub({"acme/tiny-llama": tiny_model_path, "acme/locked": tiny_model_path},
                      gated=("acme/locked",)).start()
    yield server
    server.stop()


def same_files(a: Path, b: Path) -> bool:
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    return names == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names)


def test_download_info_delete(workbench_home, hub, tiny_model_path):
    done = cli("models", "download", "acme/tiny-llama", "--endpoint", hub.url, "--wait", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "completed" and result["name"] == "tiny-llama"
    assert result["bytes"] == result["bytes_total"] == sum(p.stat().st_size for p in tiny_model_path.rglob("*")
                                                          if p.is_file())
    target = workbench_home / "models" / "tiny-llama"
    assert result["path"] == str(target) and same_files(tiny_model_path, target)
    assert not (workbench_home / "models" / ".tiny-llama.partial").exists()
    assert any(r["method"] == "GET" and "/resolve/" in r["path"] for r in hub.requests)

    info = json.loads(cli("models", "info", "tiny-llama", "--json").stdout)
    assert info["architecture"] == "LlamaForCausalLM" and info["license"] == "apache-2.0"
    assert info["parameters"] > 600_000 and info["context_length"] == 2048 and info["has_chat_template"]
    assert set(info["fits"]["chat"]) == {"16bit", "8bit", "4bit"} and set(info["fits"]["train"]) == {"qlora", "lora"}
    assert info["fits"]["chat"]["4bit"]["bytes"] < info["fits"]["chat"]["16bit"]["bytes"]
    assert info["fits"]["chat"]["16bit"]["fits"] is True

    again = cli("models", "download", "acme/tiny-llama", "--endpoint", hub.url, "--json")
    assert again.returncode == 2 and "already exists" in again.stderr

    deleted = json.loads(cli("models", "delete", "tiny-llama", "--json").stdout)
    assert deleted["deleted"] and deleted["freed_bytes"] == result["bytes"] and not target.exists()


def test_resume_after_killed_download(workbench_home, hub, tiny_model_path):
    from core.models import download as dl

    hub.bytes_per_s = 600_000
    job = dl.start_download(dl.DownloadRequest("acme/tiny-llama", endpoint=hub.url, name="tiny"))
    deadline = time.time() + 60
    status = dl.read_status(job.job_id)
    while time.time() < deadline and not (status.bytes_total and status.bytes_done > 0.3 * status.bytes_total):
        time.sleep(0.1)
        status = dl.read_status(job.job_id)
    assert status.status == "running" and 0 < status.bytes_done < status.bytes_total
    assert status.speed_bps > 0 and status.eta_s is not None
    os.kill(status.pid, signal.SIGKILL)
    status = dl.wait_download(job.job_id, timeout=10)
    assert status.status == "failed" and status.message["key"] == "err.models.download_vanished"
    assert "killed" in str(status.user_error()) or "ended without reporting" in str(status.user_error())
    kept = status.bytes_done
    assert kept > 0 and (workbench_home / "models" / ".tiny.partial").is_dir()

    hub.bytes_per_s = None
    hub.requests.clear()
    second = dl.wait_download(dl.start_download(dl.DownloadRequest("acme/tiny-llama", endpoint=hub.url,
                                                                   name="tiny")).job_id, timeout=60)
    assert second.status == "completed", second.error
    assert second.resumed_bytes >= 0.3 * second.bytes_total
    ranges = [r["range"] for r in hub.requests if r["method"] == "GET" and r["range"]]
    assert ranges and int(ranges[0][len("bytes="):].split("-")[0]) > 0  # asked only for the rest of the file
    assert same_files(tiny_model_path, workbench_home / "models" / "tiny")


def test_cancel_keeps_partial_files(workbench_home, hub):
    from core.models import download as dl

    hub.bytes_per_s = 300_000
    job = dl.start_download(dl.DownloadRequest("acme/tiny-llama", endpoint=hub.url))
    deadline = time.time() + 60
    while time.time() < deadline and dl.read_status(job.job_id).bytes_done == 0:
        time.sleep(0.1)
    status = dl.cancel_download(job.job_id)
    assert status.status == "stopped" and 0 < status.bytes_done < status.bytes_total
    dl.discard_download(job.job_id)
    assert not (workbench_home / "models" / ".tiny-llama.partial").exists()
    assert dl.list_downloads() == []


@pytest.mark.parametrize("repo, extra, message", [
    ("acme/missing", [], "Repository 'acme/missing' was not found on http://127.0.0.1"),
    ("acme/tiny-llama", ["--revision", "v9"], "Revision 'v9' does not exist in acme/tiny-llama"),
    ("acme/locked", [], "acme/locked is a gated repository"),
    ("acme/tiny-llama", ["--include", "*.gguf"], "No file of acme/tiny-llama matches *.gguf"),
])
def test_bad_repo_revision_gated(workbench_home, hub, repo, extra, message):
    done = cli("models", "download", repo, "--endpoint", hub.url, *extra, "--wait", "--json")
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith(f"error: {message}")
    assert done.stdout == ""
    assert not any(p.name.startswith(".") and p.name.endswith(".partial") and any(p.rglob("*.safetensors"))
                   for p in (workbench_home / "models").iterdir())


def test_no_network(workbench_home):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    done = cli("models", "download", "acme/tiny-llama", "--endpoint", f"http://127.0.0.1:{port}", "--wait", "--json")
    assert done.returncode == 2 and f"Cannot reach http://127.0.0.1:{port}" in done.stderr


def test_full_disk(tmp_path, monkeypatch, hub):
    """A real small filesystem (tmpfs) as the workspace: refused before a byte is fetched."""
    home = tmp_path / "small"
    home.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(home)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        monkeypatch.setenv("WORKBENCH_HOME", str(home))
        done = cli("models", "download", "acme/tiny-llama", "--endpoint", hub.url, "--wait", "--json")
        assert done.returncode == 2 and "Not enough disk space" in done.stderr and "is free" in done.stderr
        assert not any("/resolve/" in r["path"] for r in hub.requests)
    finally:
        subprocess.run(["umount", str(home)], check=False)


def test_disk_full_while_writing_is_explained():
    from core.models.download import DownloadRequest, _hub_error

    err = _hub_error(OSError(28, "No space left on device", "/ws/models/x/model.safetensors"), DownloadRequest("a/b"))
    assert err.key == "err.disk.full" and "/ws/models/x" in str(err) and "磁盘已满" in err.text("zh")


def test_delete_refuses_outside_workspace(workbench_home, tiny_model_path, monkeypatch):
    from core.errors import UserError
    from core.models.info import delete_model

    monkeypatch.setenv("MODEL_DIRS", str(tiny_model_path.parent))
    with pytest.raises(UserError) as caught:
        delete_model(tiny_model_path.name)
    assert caught.value.key == "err.models.delete_outside" and tiny_model_path.is_dir()
    with pytest.raises(UserError):
        delete_model(str(tiny_model_path))
    assert tiny_model_path.is_dir()


# ----------------------------------------------------------------------------- ModelScope
# The real modelscope client pointed at the local hub's ModelScope layout with --endpoint.

def test_modelscope_download_info(workbench_home, hub, tiny_model_path):
    done = cli("models", "download", "acme/tiny-llama", "--source", "modelscope", "--endpoint", hub.url,
               "--name", "tiny-ms", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    target = workbench_home / "models" / "tiny-ms"
    assert result["status"] == "completed" and result["path"] == str(target)
    assert same_files(tiny_model_path, target)  # nothing of the client's own (locks, temp files) left in it
    assert result["bytes"] == sum(p.stat().st_size for p in tiny_model_path.rglob("*") if p.is_file())
    assert any(r["path"].endswith("/repo/files") for r in hub.requests)
    assert not (Path.home() / ".cache" / "modelscope" / "hub" / "models" / "acme").exists()
    info = json.loads(cli("models", "info", "tiny-ms", "--json").stdout)
    assert info["architecture"] == "LlamaForCausalLM" and info["has_chat_template"]


@pytest.mark.parametrize("repo, message, zh", [
    ("acme/missing", "Repository 'acme/missing' was not found on http://127.0.0.1", "MODELSCOPE_API_TOKEN"),
    ("acme/locked", "acme/locked is a gated repository", "modelscope.cn"),
])
def test_modelscope_bad_repo_and_gated(workbench_home, hub, repo, message, zh):
    from core.models import download as dl

    done = cli("models", "download", repo, "--source", "modelscope", "--endpoint", hub.url, "--wait", "--json")
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].startswith(f"error: {message}")
    job = dl.list_downloads()[0]
    assert zh in job.user_error().text("zh")  # the hint names ModelScope's token, not Hugging Face's


def test_modelscope_checksum_mismatch_fails_and_keeps_models_clean(workbench_home, tiny_model_path):
    weights = next(p.name for p in tiny_model_path.glob("*.safetensors"))
    server = LocalHub({"acme/tiny-llama": tiny_model_path}, corrupt_sha=(weights,)).start()
    try:
        done = cli("models", "download", "acme/tiny-llama", "--source", "modelscope", "--endpoint", server.url,
                   "--wait", "--json")
    finally:
        server.stop()
    assert done.returncode == 2 and "answered with an error" in done.stderr and "failed" in done.stderr
    assert not (workbench_home / "models" / "tiny-llama").exists()
