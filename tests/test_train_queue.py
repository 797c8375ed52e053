"""The daemon-less queue: order rules (unit) and a real second launch that waits, then starts
after the first run ends."""
from __future__ import annotations

import time

from core.train import launcher, queue, runs
from core.train.config import TrainConfig


def _status(run_id, state, created, devices=("0",), pid=1):
    return runs.RunStatus(run_id=run_id, status=state, created=created, devices=list(devices), pid=pid)


def test_blocking_rules():
    me = _status("c", "queued", 30)
    assert queue.blocking_run(me, []) is None
    assert queue.blocking_run(me, [_status("a", "running", 10)])[1] == "running"
    assert queue.blocking_run(me, [_status("b", "queued", 20)])[1] == "queued before"
    assert queue.blocking_run(me, [_status("d", "queued", 40)]) is None  # later in line
    assert queue.blocking_run(me, [_status("a", "running", 10, devices=("1",))]) is None  # other GPU
    assert queue.blocking_run(me, [_status("a", "completed", 10)]) is None
    gpu01 = _status("e", "queued", 50, devices=("0", "1"))
    assert queue.blocking_run(gpu01, [_status("a", "running", 10, devices=("1",))])[0].run_id == "a"
    stale = _status("s", "queued", time.time() - 3600, pid=None)  # a worker that never started
    assert queue.blocking_run(me, [stale]) is None


def test_second_launch_waits_then_starts(workbench_home, tiny_model_path):
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=100), "assistant")
    cfg = TrainConfig(model=str(tiny_model_path), dataset="assistant", quantization="none", max_length=128,
                      batch_size=4, grad_accum=1, lora_r=8, logging_steps=1, save_steps=100, max_steps=3,
                      gradient_checkpointing=False)
    first = launcher.launch_run(cfg)
    second = launcher.launch_run(cfg)
    assert second.status == "queued"  # returned at once
    deadline = time.time() + 60
    while time.time() < deadline and runs.read_status(first.run_id).status != "running":
        time.sleep(0.1)
    deadline = time.time() + 30  # the second worker reports why it waits on its first poll
    while time.time() < deadline and not runs.read_status(second.run_id).queue_reason:
        time.sleep(0.1)
    waiting = runs.read_status(second.run_id)
    assert waiting.status == "queued" and first.run_id in (waiting.queue_reason or "")
    assert queue.queue_position(second.run_id) == 1
    a = launcher.wait_for(first.run_id, timeout=90, poll=0.2)
    b = launcher.wait_for(second.run_id, timeout=90, poll=0.2)
    assert a.status == b.status == "completed"
    assert b.started >= a.finished - 0.5  # started only after the first one ended
    assert b.step == 3


def test_stop_while_queued_leaves_the_queue(workbench_home, tiny_model_path):
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=100), "assistant")
    # a "running" run held by this test process blocks the device
    blocker = runs.RunStatus(run_id="blocker", status="running", pid=__import__("os").getpid(),
                             pid_started=__import__("psutil").Process().create_time())
    (workbench_home / "runs" / "blocker").mkdir(parents=True)
    runs.write_status(blocker)
    cfg = TrainConfig(model=str(tiny_model_path), dataset="assistant", quantization="none", max_steps=2)
    queued = launcher.launch_run(cfg)
    time.sleep(1.5)
    assert runs.read_status(queued.run_id).status == "queued"
    launcher.stop_run(queued.run_id)
    done = launcher.wait_for(queued.run_id, timeout=20, poll=0.2)
    assert done.status == "stopped" and not runs.list_checkpoints(queued.run_id)
