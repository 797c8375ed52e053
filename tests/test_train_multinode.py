"""Several machines: the command for the other nodes, validation, and a 2-node x 1-process run on one
machine over gloo (torchrun's static rendezvous) with one set of checkpoints; a node that never
joins ends the run with a clear message."""
from __future__ import annotations

import socket

import pytest

from core.train import launcher, runs
from core.train.config import TrainConfig
from core.train.failures import explain
from core.train.multinode import other_node_commands


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_other_node_commands_and_validation():
    cfg = TrainConfig(model="demo-tiny", dataset="a", nnodes=3, master_addr="10.0.0.1", master_port=29555,
                      lora_r=8, packing=True, gpus="0,1", probe_prompts=["你是谁？"])
    commands = other_node_commands(cfg)
    assert len(commands) == 2 and commands[1].endswith("--node-rank 2")
    first = commands[0]
    assert "--nnodes 3" in first and "--master-addr 10.0.0.1" in first and "--master-port 29555" in first
    assert "--lora-r 8" in first and "--packing true" in first and "--probe '你是谁？'" in first
    assert "--gpus" not in first  # each machine picks its own GPUs
    assert other_node_commands(TrainConfig()) == []
    assert "master_addr" in TrainConfig(model="m", dataset="d", nnodes=2).field_errors()
    assert "node_rank" in TrainConfig(model="m", dataset="d", nnodes=2, node_rank=2, master_addr="h").field_errors()
    assert TrainConfig(model="m", dataset="d", nnodes=2, node_rank=1, master_addr="gpu-a.lan").field_errors() == {}
    reason, hint = explain("torch.distributed.DistStoreError: Timed out after 11 seconds waiting for clients. 1/2 clients joined.")
    assert reason == "the other nodes never joined" and "command shown on the Train page" in hint


def _config(model, port: int, node_rank: int, **overrides) -> TrainConfig:
    settings = dict(model=str(model), dataset="assistant", quantization="none", max_length=128, batch_size=2,
                    grad_accum=1, lora_r=8, logging_steps=1, save_steps=2, max_steps=4,
                    gradient_checkpointing=False, nnodes=2, node_rank=node_rank, master_addr="127.0.0.1",
                    master_port=port, gpus=str(node_rank), join_timeout=120)  # own queue slot per "machine"
    return TrainConfig(**{**settings, **overrides})


@pytest.mark.slow
@pytest.mark.distributed
def test_two_nodes_one_process_each_over_gloo(workbench_home, tiny_model_path):
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=64), "assistant")
    port = _free_port()
    master = launcher.launch_run(_config(tiny_model_path, port, 0))
    other = launcher.launch_run(_config(tiny_model_path, port, 1))
    done = launcher.wait_for(master.run_id, timeout=400, poll=0.5)
    done_other = launcher.wait_for(other.run_id, timeout=120, poll=0.5)
    log = runs.log_tail(master.run_id, 200)
    assert done.status == "completed", log
    assert done_other.status == "completed", runs.log_tail(other.run_id, 200)
    assert "--rdzv-backend=static" in log and "--nnodes=2" in log and "node 0 of 2" in log
    # one set of checkpoints and one adapter: on node 0 only
    assert runs.list_checkpoints(master.run_id) == ["checkpoint-2", "checkpoint-4"]
    assert runs.has_final_adapter(master.run_id)
    other_folder = runs.run_dir(other.run_id)
    assert runs.list_checkpoints(other.run_id) == [] and not runs.has_final_adapter(other.run_id)
    # what node 1 keeps is only its own rank's RNG state (the trainer writes it per rank, for a resume)
    assert {p.relative_to(other_folder).as_posix() for p in other_folder.glob("checkpoint-*/*")} == \
        {"checkpoint-2/rng_state_1.pth", "checkpoint-4/rng_state_1.pth"}
    assert runs.read_status(other.run_id).step == 4  # node 1's own folder follows the run
    steps = [m["step"] for m in runs.read_metrics(master.run_id) if "loss" in m]
    assert steps == [1, 2, 3, 4]
    # a world of two: each step consumed 2 x batch_size samples
    assert runs.read_metrics(master.run_id)[-1]["epoch"] == pytest.approx(4 * 2 * 2 / 64, abs=0.02)


@pytest.mark.slow
@pytest.mark.distributed
def test_a_node_that_never_joins_times_out_with_a_message(workbench_home, tiny_model_path):
    from core.data.assistant import AssistantSpec, save_assistant_dataset

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=16), "assistant")
    alone = launcher.launch_run(_config(tiny_model_path, _free_port(), 0, join_timeout=10))
    done = launcher.wait_for(alone.run_id, timeout=180, poll=0.5)
    assert done.status == "failed", runs.log_tail(alone.run_id, 100)
    assert done.error.startswith("the other nodes never joined") and "Train page" in done.hint
    assert not runs.list_checkpoints(alone.run_id)
