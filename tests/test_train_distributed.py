"""Many processes: a two-process DDP run on CPU (torchrun, gloo backend) completes and writes one
set of checkpoints and one adapter; rank 0 alone writes the run folder."""
from __future__ import annotations

import pytest

from core.train import launcher, runs
from core.train.config import TrainConfig


@pytest.mark.distributed
@pytest.mark.parametrize("quantization", ["none", "4bit"])
def test_two_process_gloo_run(workbench_home, tiny_model_path, quantization):
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=100), "assistant")
    cfg = TrainConfig(model=str(tiny_model_path), dataset="assistant", quantization=quantization, max_length=128,
                      batch_size=2, grad_accum=1, lora_r=8, logging_steps=1, save_steps=2, max_steps=4,
                      num_processes=2, gradient_checkpointing=False, probe_prompts=["hi"], probe_steps=2,
                      probe_max_new_tokens=4)
    status = launcher.launch_run(cfg)
    done = launcher.wait_for(status.run_id, timeout=150, poll=0.5)
    log = runs.log_tail(status.run_id, 200)
    assert done.status == "completed", log
    assert done.processes == 2 and "nproc_per_node=2" in log
    folder = runs.run_dir(status.run_id)
    assert runs.list_checkpoints(status.run_id) == ["checkpoint-2", "checkpoint-4"]
    assert sorted(p.name for p in folder.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert {p.name for p in (folder / "checkpoint-4").glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
    assert runs.has_final_adapter(status.run_id) and not list(folder.glob(".adapter*staging*"))
    steps = [m["step"] for m in runs.read_metrics(status.run_id) if "loss" in m]
    assert steps == [1, 2, 3, 4]  # one writer: no duplicate rows
    probes = runs.read_samples(status.run_id)
    assert sorted(p["step"] for p in probes) == [0, 2, 4]
    # the world is two processes: each step consumed 2 x batch_size samples
    assert runs.read_metrics(status.run_id)[-1]["epoch"] == pytest.approx(4 * 2 * 2 / 100, abs=0.011)
