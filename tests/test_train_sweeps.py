"""Sweeps: a grid of settings becomes queued runs tagged as one sweep, ranked; "copy this run, change one field"."""
from __future__ import annotations

import json

import pytest

from core.data import store
from core.errors import UserError
from core.train import launcher, runs, sweeps
from core.train.presets import from_preset


def test_parse_grid_and_refusals(workbench_home, tiny_model_path):
    assert sweeps.parse_grid(["lr=1e-4,2e-4", "lora_r=8,16"]) == {"learning_rate": [1e-4, 2e-4], "lora_r": [8, 16]}
    assert sweeps.parse_grid(["packing=true,false"]) == {"packing": [True, False]}
    for bad in (["model=a,b"], ["lr=fast"], ["lr"], [], ["lr=1", "r=8", "alpha=8", "seed=1"]):
        with pytest.raises(UserError):
            sweeps.parse_grid(bad)
    store.save_dataset("d", [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}],
                       source="t", extra={"kind": "sft"})
    base = from_preset("cpu-demo", model=str(tiny_model_path), dataset="d")
    with pytest.raises(UserError) as info:  # 3 x 3 = 9 runs > 8: needs a confirmation
        sweeps.launch_sweep(base, sweeps.parse_grid(["lr=1e-4,2e-4,3e-4", "lora_r=4,8,16"]))
    assert info.value.key == "err.sweep.confirm" and "9 runs" in str(info.value)
    with pytest.raises(UserError) as info:  # one invalid combination: nothing starts
        sweeps.launch_sweep(base, sweeps.parse_grid(["lr=1e-4,0"]))
    assert info.value.field == "learning_rate" and "Nothing was started" in str(info.value)
    assert runs.list_run_ids() == []


@pytest.mark.slow
def test_cli_sweep_2x2_queues_four_runs_that_complete(workbench_home, tiny_model_path, capsys):
    from core.cli import main

    rows = [{"messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": "answer"}]}
            for i in range(8)]
    store.save_dataset("small", rows, source="t", extra={"kind": "sft"})
    code = main(["train", "sweep", "--model", str(tiny_model_path), "--dataset", "small", "--preset", "cpu-demo",
                 "--grid", "lr=1e-4,2e-3", "--grid", "lora_r=4,8", "--max-steps", "2", "--quantization", "none",
                 "--max-length", "64", "--save-steps", "2", "--logging-steps", "1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["sweep_id"].startswith("sweep-") and len(out["run_ids"]) == 4
    finals = [launcher.wait_for(r, timeout=600, poll=1) for r in out["run_ids"]]
    assert [f.status for f in finals] == ["completed"] * 4, [f.error for f in finals]
    configs = [runs.read_config(r) for r in out["run_ids"]]
    assert {c["sweep"] for c in configs} == {out["sweep_id"]}
    assert sorted((c["learning_rate"], c["lora_r"]) for c in configs) == [(1e-4, 4), (1e-4, 8), (2e-3, 4), (2e-3, 8)]
    ranking = sweeps.rank_sweep(out["sweep_id"])
    losses = [r["final_loss"] for r in ranking]
    assert len(ranking) == 4 and all(x is not None for x in losses) and losses == sorted(losses)
    assert sweeps.list_sweeps()[0]["sweep_id"] == out["sweep_id"]
    copy = sweeps.copy_with(out["run_ids"][0], "lr", "5e-4")
    assert copy.learning_rate == 5e-4 and copy.lora_r == configs[0]["lora_r"] and copy.sweep == ""
