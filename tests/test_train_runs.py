"""Run lifecycle with real workers on demo-tiny (CPU): graceful stop saves a checkpoint and the
adapter, resume continues the step count and the loss curve, SIGKILL is reported as failed within
seconds, a half-written checkpoint is never listed, and the CLI shapes stay as documented.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from core.train import launcher, runs
from core.train.config import TrainConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture()
def demo_setup(workbench_home, tiny_model_path):
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=200), "assistant")
    return str(tiny_model_path)


def _config(model, **kw) -> TrainConfig:
    base = dict(model=model, dataset="assistant", quantization="none", max_length=128, batch_size=4, grad_accum=1,
                learning_rate=3e-3, lora_r=8, lora_alpha=16, logging_steps=1, save_steps=3, max_steps=6,
                gradient_checkpointing=False, warmup_ratio=0.0, lr_scheduler="constant")
    base.update(kw)
    return TrainConfig(**base)


def _wait(pred, timeout=90.0, poll=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("timed out")


def test_stop_then_resume_continues_steps_and_loss(demo_setup):
    status = launcher.launch_run(_config(demo_setup, max_steps=400, save_steps=1000, probe_prompts=["你是谁？"],
                                         probe_steps=1000, probe_max_new_tokens=4))
    run_id = status.run_id
    _wait(lambda: runs.read_status(run_id).step >= 4)
    launcher.stop_run(run_id)
    final = launcher.wait_for(run_id, timeout=60, poll=0.2)
    assert final.status == "stopped", runs.log_tail(run_id)
    checkpoints = runs.list_checkpoints(run_id)
    assert len(checkpoints) == 1 and runs.has_final_adapter(run_id)  # saved at the stop step
    stop_step = int(checkpoints[0].split("-")[1])
    assert stop_step == final.step
    ckpt = runs.run_dir(run_id) / checkpoints[0]
    assert (ckpt / "optimizer.pt").is_file() and (ckpt / "scheduler.pt").is_file()
    parent_losses = [m["loss"] for m in runs.read_metrics(run_id) if "loss" in m]

    cfg = launcher.resume_config(f"{run_id}/{checkpoints[0]}", max_steps=stop_step + 3)
    assert cfg.lora_r == 8 and cfg.learning_rate == 3e-3  # the parent's settings
    child = launcher.launch_run(cfg)
    done = launcher.wait_for(child.run_id, timeout=90, poll=0.2)
    assert done.status == "completed", runs.log_tail(child.run_id)
    assert done.parent == f"{run_id}/{checkpoints[0]}"
    assert done.start_step == stop_step and done.step == stop_step + 3
    rows = runs.read_metrics(child.run_id)
    inherited = [r for r in rows if r.get("resumed_from") == run_id]
    new = [r for r in rows if "resumed_from" not in r and "loss" in r]
    assert inherited and max(r["step"] for r in inherited) <= stop_step
    assert [r["step"] for r in new] == list(range(stop_step + 1, stop_step + 4))
    # the curve continues: far below the untrained start, close to where the parent stopped
    assert new[0]["loss"] < parent_losses[0] - 0.5
    assert abs(new[0]["loss"] - parent_losses[-1]) < 1.0


def test_sigkill_is_failed_within_seconds(demo_setup):
    status = launcher.launch_run(_config(demo_setup, max_steps=400, save_steps=1000))
    run_id = status.run_id
    _wait(lambda: runs.read_status(run_id).step >= 1)
    pid = runs.read_status(run_id).pid
    os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    failed = _wait(lambda: (s := runs.read_status(run_id)).status == "failed" and s, timeout=10, poll=0.1)
    assert time.time() - killed_at < 5
    assert "killed" in failed.error.lower() and failed.hint
    assert not failed.live


def test_half_written_checkpoint_is_never_listed(workbench_home):
    folder = workbench_home / "runs" / "r1"
    folder.mkdir(parents=True)
    runs.write_status(runs.RunStatus(run_id="r1", status="running", pid=os.getpid()))
    good, half, torn = folder / "checkpoint-2", folder / "checkpoint-4", folder / "checkpoint-6"
    for ckpt in (good, half, torn):
        ckpt.mkdir()
        (ckpt / "adapter_config.json").write_text("{}")
        (ckpt / "adapter_model.safetensors").write_bytes(b"x")
    (good / "trainer_state.json").write_text("{}")
    runs.mark_checkpoint_complete(good)
    (torn / "trainer_state.json").write_text('{"global_step": ')  # cut off mid-write
    runs.mark_checkpoint_complete(torn)
    (half / "trainer_state.json").write_text("{}")  # complete files, but the marker is not there yet
    assert runs.list_checkpoints("r1") == ["checkpoint-2"]
    # once the run is over too: without its marker a checkpoint is never listed
    runs.write_status(runs.RunStatus(run_id="r1", status="failed"))
    assert runs.list_checkpoints("r1") == ["checkpoint-2"]
    from core.errors import UserError

    with pytest.raises(UserError):
        launcher.resolve_resume("r1/checkpoint-6")


def test_failure_is_explained_with_hint(demo_setup, workbench_home):
    from core.data.store import dataset_dir

    (dataset_dir("assistant") / "data.jsonl").write_text(json.dumps({"messages": [{"role": "user", "content": "x"}]})
                                                         + "\n", encoding="utf-8")
    status = launcher.launch_run(_config(demo_setup))
    done = launcher.wait_for(status.run_id, timeout=60, poll=0.2)
    assert done.status == "failed"
    assert done.error.startswith("data problem") and "Datasets page" in done.hint


def test_cli_start_status_runs_shapes(demo_setup, workbench_home):
    env = dict(os.environ, PYTHONPATH=ROOT, WORKBENCH_HOME=str(workbench_home))

    def cli(*args):
        out = subprocess.run([sys.executable, "-m", "core", *args, "--json"], capture_output=True, text=True,
                             env=env, cwd=ROOT, timeout=120)
        return out.returncode, out.stdout, out.stderr

    code, out, err = cli("train", "start", "--model", demo_setup, "--dataset", "assistant", "--preset", "cpu-demo",
                         "--quantization", "none", "--max-steps", "2", "--save-steps", "1", "--max-length", "128")
    assert code == 0, err
    started = json.loads(out)
    assert started["status"] in ("queued", "running") and started["run_id"]
    code, out, _ = cli("train", "status", started["run_id"])
    payload = json.loads(out)
    assert {"run_id", "status", "pid", "step", "total_steps", "checkpoints", "error"} <= set(payload)
    done = launcher.wait_for(started["run_id"], timeout=90, poll=0.2)
    assert done.status == "completed"
    code, out, _ = cli("runs")
    listed = json.loads(out)["runs"]
    assert listed[0]["run_id"] == started["run_id"] and listed[0]["checkpoints"] == ["checkpoint-1", "checkpoint-2"]
    code, _, err = cli("train", "status", f"{started['run_id']}-nope")
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = cli("train", "start", "--resume", f"{started['run_id']}/checkpoint-99")
    assert code == 2 and "checkpoint-99" in err
