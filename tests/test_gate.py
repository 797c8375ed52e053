"""The gate (issue 11, items 14–15): the app itself refuses a public bind without a password,
run.sh and the app know loopback exactly, wrong passwords slow down and are logged without the
password, error details stay on the server, the WebSocket accepts only allowed Host names, and
the password never reaches a training worker's environment."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from core import gate, jobs

ROOT = Path(__file__).resolve().parents[1]
HOSTS = ["127.0.0.1", "::1", "localhost", "127.evil.example", "127.0.0.2", "localhost.evil.example", "0.0.0.0",
         "::", "", "10.0.0.5", "evil.localhost"]


@pytest.fixture()
def app_options():
    """Restore the Streamlit options a test (or the gate) changes, and forget earlier failures."""
    from ui.auth import login_throttle

    saved = {name: st_config.get_option(name) for name in ("server.address", "client.showErrorDetails")}
    login_throttle.clear()
    yield
    for name, value in saved.items():
        st_config.set_option(name, value)
    login_throttle.clear()


def test_loopback_is_recognised_exactly_by_the_app_and_run_sh():
    assert [h for h in HOSTS if gate.is_loopback(h)] == ["127.0.0.1", "::1", "localhost"]
    script = 'source ./env.sh; for h in "$@"; do if is_loopback "$h"; then echo "yes"; else echo "no"; fi; done'
    out = subprocess.run(["bash", "-c", script, "bash", *HOSTS], cwd=ROOT, capture_output=True, text=True,
                         timeout=30)
    assert out.stdout.split() == ["yes" if gate.is_loopback(h) else "no" for h in HOSTS]


def test_run_sh_refuses_a_lookalike_loopback_name(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != gate.PASSWORD_ENV}
    env["WORKBENCH_HOME"] = str(tmp_path)
    result = subprocess.run(["./run.sh", "--host", "127.evil.example"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "Refusing to listen on 127.evil.example" in result.stderr and "拒绝" in result.stderr


@pytest.mark.parametrize("address", ["0.0.0.0", "127.evil.example", ""])
def test_the_app_itself_refuses_a_public_bind_without_password(workbench_home, monkeypatch, app_options, address):
    monkeypatch.delenv(gate.PASSWORD_ENV, raising=False)
    st_config.set_option("server.address", address)
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not at.exception
    assert len(at.error) == 1 and "WORKBENCH_PASSWORD is not set" in at.error[0].value
    assert not at.metric and not at.title  # nothing of the workbench is drawn
    st_config.set_option("server.address", "127.0.0.1")
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not at.exception and len(at.metric) == 3


def test_a_public_bind_with_password_asks_for_it_and_hides_error_details(workbench_home, monkeypatch, app_options):
    monkeypatch.setenv(gate.PASSWORD_ENV, "s3cret")
    st_config.set_option("server.address", "0.0.0.0")
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not at.exception and at.title[0].value == "Sign in" and not at.metric
    assert st_config.get_option("client.showErrorDetails") == "none"


def test_login_throttle_grows_per_session_and_globally():
    now = [1000.0]
    throttle = gate.LoginThrottle(base=1.0, cap=8.0, global_free=3, window=60.0, clock=lambda: now[0])
    assert throttle.wait_before("a") == 0.0
    waits = []
    for _ in range(5):
        waits.append(throttle.wait_before("a"))
        now[0] += waits[-1]
        throttle.failed("a")
    assert waits[:2] == [0.0, 1.0]  # first failure: 1 s before the next attempt, then 2, 4 ...
    assert throttle.wait_before("a") >= 8.0 - 1e-9  # capped... plus the global spacing
    throttle.succeeded("a")
    # a fresh session does not start from zero: 5 failures server-wide space every attempt out
    first, second = throttle.wait_before("b"), throttle.wait_before("c")
    assert first >= 1.0 and second >= first + 1.0
    now[0] += 61.0  # the window passes: the server calms down
    assert throttle.wait_before("d") == 0.0


def test_wrong_passwords_wait_longer_and_are_logged_without_the_password(workbench_home, monkeypatch, app_options,
                                                                        caplog):
    monkeypatch.setenv(gate.PASSWORD_ENV, "s3cret")
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    timings = []
    with caplog.at_level(logging.WARNING, logger="workbench.auth"):
        for attempt in ("guess-one", "guess-two"):
            at.text_input(key="login_password").set_value(attempt)
            begun = time.monotonic()
            at.button[0].click().run()
            timings.append(time.monotonic() - begun)
            assert "Wrong password." in [e.value for e in at.error] and not at.metric
    assert timings[1] >= timings[0] + 0.9  # the second attempt waited ~1 s before it was checked
    assert any("After wrong passwords" in c.value for c in at.caption)
    records = [r.getMessage() for r in caplog.records if r.name == "workbench.auth"]
    assert len(records) == 2 and "failure 2" in records[1]
    assert not any("guess" in r or "s3cret" in r for r in records)
    at.text_input(key="login_password").set_value("s3cret")
    at.button[0].click().run()
    assert not at.exception and len(at.metric) == 3


def test_the_websocket_accepts_only_loopback_host_names(workbench_home):
    import websocket

    from tests.browser import streamlit_server

    with streamlit_server(workbench_home, workbench_home.parent / "server.log",
                          extra_env={gate.PASSWORD_ENV: "s3cret"}) as url:
        port = url.rsplit(":", 1)[1]
        stream = f"ws://127.0.0.1:{port}/_stcore/stream"
        for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
            ws = websocket.create_connection(stream, host=host, timeout=10)
            ws.close()
        for host in (f"evil.example:{port}", f"127.evil.example:{port}"):
            with pytest.raises(websocket.WebSocketException):
                websocket.create_connection(stream, host=host, timeout=10)


def test_the_password_never_reaches_a_job(workbench_home, monkeypatch, tmp_path):
    from core.train import launcher

    monkeypatch.setenv(gate.PASSWORD_ENV, "s3cret")
    assert gate.PASSWORD_ENV not in launcher.worker_env({})
    folder = tmp_path / "job"
    folder.mkdir()
    jobs.launch(folder, [sys.executable, "-c", "import os; print(sorted(k for k in os.environ if 'PASSWORD' in k))"],
                log_name="job.log")
    deadline = time.time() + 20
    while time.time() < deadline and not (folder / "job.log").read_text().strip():
        time.sleep(0.1)
    assert (folder / "job.log").read_text().strip() == "[]"
    assert jobs.read_pid(folder)[0] and jobs.exit_code(folder) in (0, None)


def test_a_public_bind_accepts_the_names_it_is_given(workbench_home, tmp_path):
    """run.sh's allowed_hosts (env.sh) for `--host 0.0.0.0` with WORKBENCH_ALLOWED_HOSTS, passed to
    Streamlit the way run.sh passes them: the listed name is accepted, any other still refused."""
    import urllib.request

    import websocket

    from tests.browser import free_port

    names = subprocess.run(["bash", "-c", 'source ./env.sh; allowed_hosts "$1"', "bash", "0.0.0.0"], cwd=ROOT,
                           env=dict(os.environ, WORKBENCH_ALLOWED_HOSTS="gpu.lan 10.9.8.7"), capture_output=True,
                           text=True, timeout=30).stdout.split()
    assert names == ["localhost", "127.0.0.1", "::1", "gpu.lan", "10.9.8.7"]
    port = free_port()
    args = [arg for name in names for arg in ("--server.allowedHosts", name)]
    env = dict(os.environ, WORKBENCH_HOME=str(workbench_home), PYTHONPATH=str(ROOT), **{gate.PASSWORD_ENV: "s3cret"})
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "Home.py", "--server.port", str(port),
                                   "--server.address", "127.0.0.1", "--server.headless", "true", *args],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                assert time.time() < deadline, (tmp_path / "server.log").read_text()[-2000:]
                time.sleep(0.5)
        stream = f"ws://127.0.0.1:{port}/_stcore/stream"
        for host in ("gpu.lan", "10.9.8.7", "localhost"):
            websocket.create_connection(stream, host=f"{host}:{port}", timeout=10).close()
        with pytest.raises(websocket.WebSocketException):
            websocket.create_connection(stream, host=f"evil.example:{port}", timeout=10)
    finally:
        server.terminate()
        server.wait(10)
