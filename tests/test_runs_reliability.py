"""Runs never break their readers and have one worker each (issue 11, items 6–9), on core/jobs:
wrong-shaped run files read as one "unreadable" run, readers never write or re-create a folder,
a second worker on a folder exits at once and writes nothing, a kill during checkpoint rotation
never leaves a listed half checkpoint, resume needs optimizer + scheduler state, an unknown start
time is not proof of life, and a full disk during training ends the run "failed: disk full"."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from core import jobs, workspace
from core.errors import UserError
from core.train import launcher, metrics, queue, runs
from core.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
BAD_STATUS = {
    "as-list": "[]",
    "as-null": "null",
    "pid-text": json.dumps({"status": "running", "pid": "abc"}),
    "step-list": json.dumps({"status": "completed", "step": [1]}),
    "odd-state": json.dumps({"status": "exploded"}),
    "torn": '{"status": "runn',
}


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and mtime: equal snapshots mean nothing was written."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), WORKBENCH_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "core", *args, "--json"], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def _dead_process() -> tuple[int, float]:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(child.pid).create_time()
    child.wait()
    return child.pid, started


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until the disk refuses even one more page."""
    with open(path, "wb", buffering=0) as fh:
        for chunk in (1 << 20, 1 << 16, 4096, 1):
            try:
                while True:
                    fh.write(b"\0" * chunk)
            except OSError:
                continue


def _unmount(mount: Path) -> None:
    """Unmount a test tmpfs once the workers that had files open on it are gone (lazily if one lingers)."""
    for proc in psutil.process_iter(["cmdline"]):
        if str(mount) in " ".join(proc.info["cmdline"] or []):  # a worker this test started
            try:
                proc.wait(20)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    jobs.reap()
    if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def _folder(home: Path, run_id: str, status: str | None = None) -> Path:
    folder = home / "runs" / run_id
    folder.mkdir(parents=True)
    if status is not None:
        (folder / runs.STATUS_FILE).write_text(status, encoding="utf-8")
    return folder


def _checkpoint(folder: Path, step: int, *, optimizer=True, scheduler=True, marker=True, extra_files=0) -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir()
    (path / "adapter_config.json").write_text("{}")
    (path / "adapter_model.safetensors").write_bytes(b"x" * 64)
    (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    if optimizer:
        (path / runs.OPTIMIZER_FILE).write_bytes(b"o")
    if scheduler:
        (path / runs.SCHEDULER_FILE).write_bytes(b"s")
    for i in range(extra_files):
        (path / f"rng_state_{i}.pth").write_bytes(b"r")
    if marker:
        runs.mark_checkpoint_complete(path)
    return path


# ------------------------------------------------------------------ 6: readers never break


def test_wrong_shaped_status_is_one_unreadable_run(workbench_home):
    for run_id, text in BAD_STATUS.items():
        _folder(workbench_home, run_id, text)
    good = _folder(workbench_home, "good")
    runs.write_status(runs.RunStatus(run_id="good", status="completed", step=5, total_steps=5))
    moved = _folder(workbench_home, "copied-run", json.dumps({"run_id": "elsewhere", "status": "completed"}))

    listed = {s.run_id: s for s in runs.list_runs()}
    assert set(listed) == set(BAD_STATUS) | {"good", "copied-run"}  # the id is the folder's name
    assert listed["good"].status == "completed" and listed["good"].progress == 1.0
    assert listed["copied-run"].status == "completed"
    for run_id in BAD_STATUS:
        assert listed[run_id].status == "unreadable" and not listed[run_id].live
    assert "expected a JSON object, found list" in listed["as-list"].error
    assert "'pid' has the wrong type" in listed["pid-text"].error
    assert "'step' has the wrong type" in listed["step-list"].error
    assert "unknown state 'exploded'" in listed["odd-state"].error
    assert "not valid JSON" in listed["torn"].error
    assert runs.list_checkpoints("as-list") == [] and runs.list_adapters() == []
    assert good.is_dir() and moved.is_dir()

    result = _cli(workbench_home, "runs")
    assert result.returncode == 0, result.stderr
    states = {r["run_id"]: r["status"] for r in json.loads(result.stdout)["runs"]}
    assert states["pid-text"] == "unreadable" and states["good"] == "completed"
    result = _cli(workbench_home, "train", "status", "pid-text")
    assert result.returncode == 0 and "wrong type" in json.loads(result.stdout)["error"]


def test_wrong_shaped_metric_and_sample_lines_are_skipped(workbench_home):
    folder = _folder(workbench_home, "r1")
    runs.write_status(runs.RunStatus(run_id="r1", status="completed"))
    lines = ["null", "[]", '"text"', json.dumps({"step": "two", "loss": 1.0}), json.dumps({"step": 3, "loss": "x"}),
             json.dumps({"step": 1, "loss": 2.5}), json.dumps({"step": 2, "loss": 2.0}), '{"step": 4, "lo']
    (folder / runs.METRICS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / runs.SAMPLES_FILE).write_text("\n".join([
        "null", json.dumps({"step": 1, "prompt": "hi", "answer": ["x"]}),
        json.dumps({"step": 2, "prompt": "hi", "answer": "hello"})]) + "\n", encoding="utf-8")
    assert metrics.series(runs.read_metrics("r1"), "loss") == ([1, 2], [2.5, 2.0])
    assert metrics.probe_table("r1") == {"hi": [(2, "hello")]}


def test_pages_keep_working_beside_unreadable_runs(workbench_home, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.delenv("WORKBENCH_PASSWORD", raising=False)
    for run_id, text in BAD_STATUS.items():
        _folder(workbench_home, run_id, text)
    folder = _folder(workbench_home, "20260101-000000-good")
    runs.write_status(runs.RunStatus(run_id=folder.name, status="completed", step=3, total_steps=3))
    (folder / runs.METRICS_FILE).write_text("null\n" + json.dumps({"step": 1, "loss": 2.0}) + "\n")
    workspace.atomic_write_json(workbench_home / "presets" / "broken.json", {"config": {"lora_r": "abc"}})
    for page in ("Home.py", "views/2_Train.py", "views/3_Monitor.py", "views/4_Compare.py", "views/6_Chat.py"):
        at = AppTest.from_file(str(ROOT / page), default_timeout=60).run()
        assert not at.exception, (page, [e.value for e in at.exception])
    at = AppTest.from_file(str(ROOT / "views" / "2_Train.py"), default_timeout=60).run()
    at.selectbox(key="train_preset").set_value("broken").run()
    assert not at.exception
    assert any("lora_r" in e.value for e in at.error)


def test_wrong_shaped_presets_and_configs_are_user_errors(workbench_home):
    from core.train import presets

    presets_dir = presets.presets_dir()
    (presets_dir / "as-list.json").write_text("[]")
    (presets_dir / "bad-type.json").write_text(json.dumps({"config": {"lora_r": "abc"}}))
    (presets_dir / "torn.json").write_text('{"config": ')
    assert {"as-list", "bad-type", "torn"} <= set(presets.list_presets())
    for name, reason in (("as-list", "found list"), ("bad-type", "'lora_r'"), ("torn", "not valid JSON")):
        with pytest.raises(UserError) as caught:
            presets.load_preset(name)
        assert caught.value.key == "err.train.preset_unreadable" and reason in str(caught.value)
        assert "无法读取" in caught.value.text("zh")
    _folder(workbench_home, "r1")
    runs.write_status(runs.RunStatus(run_id="r1", status="completed"))
    workspace.atomic_write_json(runs.run_dir("r1") / runs.CONFIG_FILE, {"learning_rate": "fast"})
    with pytest.raises(UserError) as caught:
        presets.config_from_run("r1")
    assert caught.value.key == "err.run.config_unreadable" and "learning_rate" in str(caught.value)


def test_a_reader_never_writes_even_on_a_full_disk(workbench_home, tmp_path):
    pid, started = _dead_process()
    folder = _folder(workbench_home, "r1")
    runs.write_status(runs.RunStatus(run_id="r1", status="running", pid=pid, pid_started=started, step=2))
    (folder / runs.LOG_FILE).write_text("step 2\nRuntimeError: boom\n")
    before = _snapshot(folder)
    status = runs.read_status("r1")
    assert status.status == "failed" and status.error.startswith("killed") and status.hint
    assert [s.status for s in runs.list_runs()] == ["failed"]
    assert _snapshot(folder) == before  # reconciled in memory only
    assert json.loads((folder / runs.STATUS_FILE).read_text())["status"] == "running"
    if os.geteuid() != 0:
        return
    # The same on a disk with no byte free: every reader still answers.
    mount = tmp_path / "full"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], check=True)
    try:
        home = mount / "workspace"
        shutil.copytree(workbench_home, home)
        _fill(mount / "filler")
        before = _snapshot(home / "runs" / "r1")
        result = _cli(home, "runs")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["runs"][0]["status"] == "failed"
        assert _snapshot(home / "runs" / "r1") == before
    finally:
        _unmount(mount)


def test_a_deleted_run_folder_is_not_recreated(workbench_home):
    folder = _folder(workbench_home, "r1")
    status = runs.RunStatus(run_id="r1", status="running", pid=os.getpid(),
                            pid_started=psutil.Process().create_time())
    runs.write_status(status)
    shutil.rmtree(folder)
    assert runs.list_runs() == []
    with pytest.raises(UserError):
        runs.read_status("r1")
    with pytest.raises(FileNotFoundError):
        runs.write_status(status)  # the worker's next write
    with pytest.raises(FileNotFoundError):
        runs.mark_checkpoint_complete(folder / "checkpoint-1")
    assert not folder.exists()


# ------------------------------------------------------------------ 7: one worker per run


def test_a_second_worker_on_the_folder_exits_at_once_and_writes_nothing(workbench_home):
    folder = _folder(workbench_home, "r1")
    workspace.atomic_write_json(folder / runs.CONFIG_FILE, TrainConfig(model="m", dataset="d").to_dict())
    runs.write_status(runs.RunStatus(run_id="r1", status="queued"))
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from core import jobs; "
                               "jobs.hold_lock(sys.argv[1]); print('held', flush=True); time.sleep(60)", str(folder)],
                              cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = _snapshot(folder)
        begun = time.time()
        second = subprocess.run([sys.executable, "-m", "core.train.worker", str(folder)], cwd=ROOT,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                                timeout=60)
        assert second.returncode == 3 and time.time() - begun < 20
        assert "already has a worker" in second.stderr and len(second.stderr.strip().splitlines()) == 1
        assert _snapshot(folder) == before  # not a byte: no status, pid, log or reserve file
        with pytest.raises(jobs.JobBusy):
            jobs.hold_lock(folder)  # this test process is refused too
    finally:
        holder.kill()
        holder.wait()
    assert jobs.hold_lock(folder) > 0  # free once the holder is gone


def test_a_real_worker_holds_its_lock_for_its_life(workbench_home, tiny_model_path):
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=50), "assistant")
    blocker = _folder(workbench_home, "blocker")  # keeps the new run queued: its worker just waits
    runs.write_status(runs.RunStatus(run_id="blocker", status="running", pid=os.getpid(),
                                     pid_started=psutil.Process().create_time()))
    status = launcher.launch_run(TrainConfig(model=str(tiny_model_path), dataset="assistant", quantization="none",
                                             max_steps=2))
    folder = runs.run_dir(status.run_id)
    deadline = time.time() + 30
    while time.time() < deadline and not runs.read_status(status.run_id).queue_reason:
        time.sleep(0.2)
    assert "blocker" in runs.read_status(status.run_id).queue_reason
    assert jobs.read_pid(folder)[0] == status.pid
    second = subprocess.run([sys.executable, "-m", "core.train.worker", str(folder)], cwd=ROOT,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=60)
    assert second.returncode == 3 and str(status.pid) in second.stderr
    assert runs.read_status(status.run_id).live and jobs.read_pid(folder)[0] == status.pid
    launcher.stop_run(status.run_id)
    assert launcher.wait_for(status.run_id, timeout=30, poll=0.2).status == "stopped"
    shutil.rmtree(blocker)


# ------------------------------------------------------------------ 8: checkpoints


KILL_DURING_ROTATION = r"""
import os, signal, sys
from core.train import runs
calls = []
real_unlink = os.unlink
def unlink(path, *args, **kwargs):
    calls.append(str(path))
    if len(calls) == 3:   # the marker, one more file ... then the power goes
        os.kill(os.getpid(), signal.SIGKILL)
    return real_unlink(path, *args, **kwargs)
os.unlink = unlink
runs.rotate_checkpoints(sys.argv[1], 1)
"""


def test_a_kill_during_rotation_never_leaves_a_listed_half_checkpoint(workbench_home):
    folder = _folder(workbench_home, "r1")
    runs.write_status(runs.RunStatus(run_id="r1", status="completed"))
    for step in (1, 2, 3):
        _checkpoint(folder, step, extra_files=4)
    assert runs.list_checkpoints("r1") == ["checkpoint-1", "checkpoint-2", "checkpoint-3"]
    child = subprocess.run([sys.executable, "-c", KILL_DURING_ROTATION, str(folder)], cwd=ROOT,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert child.returncode == -signal.SIGKILL
    half = folder / "checkpoint-1"
    assert half.is_dir() and not (half / runs.CHECKPOINT_MARKER).exists() and any(half.iterdir())
    assert runs.list_checkpoints("r1") == ["checkpoint-2", "checkpoint-3"]
    assert "checkpoint-1" not in {a.name for a in runs.list_adapters()}
    with pytest.raises(UserError):
        launcher.resolve_resume("r1/checkpoint-1")
    assert runs.rotate_checkpoints(folder, 1) == ["checkpoint-2"]  # the next rotation goes on
    assert runs.list_checkpoints("r1") == ["checkpoint-3"]


def test_resume_needs_optimizer_and_scheduler_state(workbench_home):
    folder = _folder(workbench_home, "r1")
    runs.write_status(runs.RunStatus(run_id="r1", status="completed"))
    _checkpoint(folder, 1, scheduler=False)
    _checkpoint(folder, 2, optimizer=False)
    _checkpoint(folder, 3)
    for spec, missing in (("r1/checkpoint-1", "scheduler"), ("r1/checkpoint-2", "optimizer")):
        with pytest.raises(UserError) as caught:
            launcher.resolve_resume(spec)
        assert caught.value.key == "err.run.resume_state_missing" and caught.value.field == "resume_from"
        assert missing in str(caught.value) and spec in str(caught.value)
        assert "无法继续训练" in caught.value.text("zh")
    assert launcher.resolve_resume("r1") == ("r1", str(folder / "checkpoint-3"))
    # DeepSpeed keeps its optimizer state as per-rank shards
    ds = _checkpoint(folder, 4, optimizer=False)
    (ds / "global_step4").mkdir()
    (ds / "global_step4" / "bf16_zero_pp_rank_0_mp_rank_00_optim_states.pt").write_bytes(b"o")
    assert launcher.resolve_resume("r1/checkpoint-4")[1] == str(ds)


def test_an_unknown_start_time_is_not_proof_of_life(workbench_home):
    me, started = os.getpid(), psutil.Process().create_time()
    assert jobs.process_alive(me, started) and not jobs.process_alive(me, None)
    assert not jobs.process_alive(me, started - 100)  # a reused pid
    _folder(workbench_home, "old")
    runs.write_status(runs.RunStatus(run_id="old", status="running", pid=me, created=1.0))  # no start time
    old = runs.read_status("old")
    assert old.status == "failed" and not old.live
    waiting = runs.RunStatus(run_id="new", status="queued", created=2.0, pid=me, pid_started=started)
    assert queue.blocking_run(waiting, runs.list_runs()) is None


def test_rotation_in_a_real_run_keeps_the_newest_checkpoints(workbench_home, tiny_model_path):
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=50), "assistant")
    cfg = TrainConfig(model=str(tiny_model_path), dataset="assistant", quantization="none", max_length=128,
                      batch_size=2, grad_accum=1, lora_r=4, logging_steps=1, save_steps=1, max_steps=4,
                      save_total_limit=2, gradient_checkpointing=False)
    done = launcher.wait_for(launcher.launch_run(cfg).run_id, timeout=120, poll=0.2)
    assert done.status == "completed", runs.log_tail(done.run_id)
    folder = runs.run_dir(done.run_id)
    assert sorted(p.name for p in folder.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-4"]
    assert runs.list_checkpoints(done.run_id) == ["checkpoint-3", "checkpoint-4"]
    assert not (folder / ".disk-reserve").exists()  # the worker's disk reserve is gone with it


# ------------------------------------------------------------------ 9: disk full


SITE_ENOSPC = r"""
import builtins, errno, os
_open = builtins.open
def open(file, mode="r", *args, **kwargs):
    if str(file).endswith("metrics.jsonl") and "a" in mode and os.path.exists(file) and os.path.getsize(file) > 200:
        raise OSError(errno.ENOSPC, "No space left on device", str(file))
    return _open(file, mode, *args, **kwargs)
builtins.open = open
"""


def test_disk_full_during_training_fails_with_the_reason(workbench_home, tiny_model_path, tmp_path, monkeypatch):
    """A tmpfs that fills up mid-run when root; else ENOSPC injected into the worker (sitecustomize)."""
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    mount = tmp_path / "small"
    mount.mkdir()
    as_root = os.geteuid() == 0
    if as_root:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
        monkeypatch.setenv("WORKBENCH_HOME", str(mount / "workspace"))
    else:
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "sitecustomize.py").write_text(SITE_ENOSPC)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]))
    try:
        save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=50), "assistant")
        cfg = TrainConfig(model=str(tiny_model_path), dataset="assistant", quantization="none", max_length=128,
                          batch_size=2, grad_accum=1, lora_r=4, logging_steps=1, save_steps=1000, max_steps=2000,
                          gradient_checkpointing=False)
        run_id = launcher.launch_run(cfg).run_id
        deadline = time.time() + 90
        while time.time() < deadline and runs.read_status(run_id).step < 2:
            time.sleep(0.2)
        if as_root:
            _fill(mount / "filler")  # to the last byte, while it trains
        done = launcher.wait_for(run_id, timeout=90, poll=0.2)
        on_disk = json.loads((runs.run_dir(run_id) / runs.STATUS_FILE).read_text())
        assert on_disk["status"] == done.status == "failed"  # written by the worker, not inferred
        assert done.error.startswith("disk full: free space at ") and done.hint
        assert "No space left on device" in runs.log_tail(run_id, 200)
        assert "worker finished: failed" in runs.log_tail(run_id, 5)
        shown = _cli(Path(os.environ["WORKBENCH_HOME"]), "train", "status", run_id)
        payload = json.loads(shown.stdout)
        assert payload["error"].startswith("disk full") and "worker finished: failed" in payload["log_tail"]
    finally:
        if as_root:
            _unmount(mount)
