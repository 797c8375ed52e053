"""Many processes: a two-process DDP run on CPU (torchrun, gloo backend) completes and writes one
set of checkpoints and one adapter; rank 0 alone writes the run folder. The same with DeepSpeed
ZeRO-2 and ZeRO-3 (its CPU accelerator uses gloo), including an exact resume."""
from __future__ import annotations

import pytest

from core import workspace
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


@pytest.mark.distributed
@pytest.mark.parametrize("stage,quantization,packing", [("zero2", "4bit", False), ("zero3", "4bit", False),
                                                        ("zero3", "none", True)])
def test_deepspeed_zero_run_and_exact_resume(workbench_home, tiny_model_path, stage, quantization, packing):
    """DeepSpeed ZeRO-2/3 over two CPU processes (its CPU accelerator talks gloo), on a 4-bit base and
    on a 16-bit one loaded already sharded (zero.Init) with packed rows: one set of checkpoints with
    per-rank ZeRO shards, the whole adapter gathered, probes answered (under ZeRO-3 every rank must
    take part), and a resume from checkpoint-2 that reproduces steps 3-4 of the uninterrupted run."""
    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.errors import UserError
    from safetensors.torch import load_file

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=100), "assistant")
    cfg = TrainConfig(model=str(tiny_model_path), dataset="assistant", quantization=quantization, max_length=128,
                      batch_size=2, grad_accum=1, lora_r=8, logging_steps=1, save_steps=2, max_steps=4,
                      num_processes=2, deepspeed=stage, packing=packing, gradient_checkpointing=False,
                      probe_prompts=["你是谁？"], probe_steps=2, probe_max_new_tokens=4)
    first = launcher.launch_run(cfg)
    done = launcher.wait_for(first.run_id, timeout=300, poll=0.5)
    log = runs.log_tail(first.run_id, 300)
    assert done.status == "completed", log
    # a 16-bit base under ZeRO-3 is loaded one shard per rank, so the packing self-check cannot run
    assert ("packing self-check skipped" in log) == (stage == "zero3" and quantization == "none")
    folder = runs.run_dir(first.run_id)
    ds_config = workspace.read_json(folder / "deepspeed.json")
    assert ds_config["zero_optimization"]["stage"] == int(stage[-1])
    assert runs.list_checkpoints(first.run_id) == ["checkpoint-2", "checkpoint-4"]
    shards = {p.name for p in (folder / "checkpoint-4" / "global_step4").iterdir()}
    assert {"zero_pp_rank_0_mp_rank_00_optim_states.pt", "zero_pp_rank_1_mp_rank_00_optim_states.pt"} <= shards
    final = load_file(folder / "adapter" / "adapter_model.safetensors")
    last = load_file(folder / "checkpoint-4" / "adapter_model.safetensors")
    assert final.keys() == last.keys() and len(final) == 4 * 7  # 2 layers x 7 linears x (A, B): gathered whole
    assert all((final[k] == last[k]).all() for k in final)
    assert sum(float(v.float().abs().sum()) for k, v in final.items() if "lora_B" in k) > 0  # it learnt
    losses = {m["step"]: m["loss"] for m in runs.read_metrics(first.run_id) if "loss" in m}
    assert sorted(losses) == [1, 2, 3, 4]
    assert sorted(p["step"] for p in runs.read_samples(first.run_id)) == [0, 2, 4]

    resumed = launcher.launch_run(launcher.resume_config(f"{first.run_id}/checkpoint-2"))
    again = launcher.wait_for(resumed.run_id, timeout=300, poll=0.5)
    assert again.status == "completed", runs.log_tail(resumed.run_id, 300)
    new = {m["step"]: m["loss"] for m in runs.read_metrics(resumed.run_id) if "loss" in m and "resumed_from" not in m}
    assert sorted(new) == [3, 4]
    for step in (3, 4):  # optimizer, scheduler, RNG and data position all restored from the shards
        assert new[step] == pytest.approx(losses[step], abs=1e-4)

    # Another optimizer layout would fail (ZeRO-2 <-> 3) or silently restart the optimizer: refused.
    with pytest.raises(UserError) as err:
        launcher.launch_run(launcher.resume_config(f"{first.run_id}/checkpoint-2", deepspeed=""))
    assert err.value.field == "deepspeed"
    with pytest.raises(UserError) as err:
        launcher.launch_run(launcher.resume_config(f"{first.run_id}/checkpoint-2", num_processes=3))
    assert err.value.field == "num_processes"
