"""Preference stages (DPO, ORPO, KTO) on demo-tiny with the toolkit's demo files, and their refusals."""
from __future__ import annotations

import json
import shutil

import pytest

from core.data import importer, store
from core.errors import UserError
from core.train import launcher, runs, stages
from core.train.config import TrainConfig
from core.train.presets import from_preset

ROWS = 8  # the shortest rows of each demo file keep a CPU run to a minute or two


def _import_shortest(peer_data, file: str, name: str, rows: int = ROWS) -> None:
    records = json.loads((peer_data / file).read_text(encoding="utf-8"))
    records = sorted(records, key=lambda r: len(json.dumps(r)))[:rows]
    report = importer.analyze_bytes(json.dumps(records).encode(), file)
    importer.save_import(report, name)


def _config(stage: str, dataset: str, **overrides) -> TrainConfig:
    settings = dict(model="demo-tiny", dataset=dataset, stage=stage, quantization="none", lora_r=8, lora_alpha=16,
                    max_length=320, batch_size=4, max_steps=5, logging_steps=1, save_steps=5,
                    learning_rate=5e-3, probe_prompts=["Hi"], probe_steps=5, probe_max_new_tokens=4)
    return from_preset("cpu-demo", **{**settings, **overrides})


def test_stages_fit_dataset_kinds(workbench_home, tiny_model_path):
    assert stages.stages_for_kind("sft") == ["sft"] and stages.stages_for_kind("pt") == ["pt"]
    assert stages.stages_for_kind("preference") == ["dpo", "orpo"] and stages.stages_for_kind("kto") == ["kto"]
    chat = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    store.save_dataset("chat", [chat], source="t", extra={"kind": "sft"})
    store.save_dataset("pairs", [dict(chat, rejected={"role": "assistant", "content": "b"})], source="t",
                       extra={"kind": "preference"})
    store.save_dataset("kto-good", [dict(chat, label=True)] * 4, source="t", extra={"kind": "kto"})
    model = str(tiny_model_path)
    wrong = launcher.check_launchable(TrainConfig(model=model, dataset="chat", stage="dpo"))
    assert "chat (SFT)" in wrong["stage"] and "sft" in wrong["stage"]
    zh = launcher.check_launchable(TrainConfig(model=model, dataset="pairs", stage="sft"), "zh")
    assert "偏好对" in zh["stage"] and "dpo, orpo" in zh["stage"]
    one_label = launcher.check_launchable(TrainConfig(model=model, dataset="kto-good", stage="kto", batch_size=2))
    assert "labelled true" in one_label["dataset"]
    assert launcher.check_launchable(TrainConfig(model=model, dataset="pairs", stage="orpo")) == {}
    assert "batch_size" in TrainConfig(model=model, dataset="kto-good", stage="kto", batch_size=1).field_errors()
    assert "packing" in TrainConfig(model=model, dataset="pairs", stage="dpo", packing=True).field_errors()
    with pytest.raises(UserError) as info:
        launcher.launch_run(TrainConfig(model=model, dataset="chat", stage="kto", batch_size=2))
    assert info.value.field == "stage" and not runs.list_run_ids()  # nothing half-started


def test_cli_refuses_a_wrong_kind_with_exit_2(workbench_home, tiny_model_path, capsys):
    from core.cli import main

    chat = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    store.save_dataset("chat", [chat], source="t", extra={"kind": "sft"})
    code = main(["train", "start", "--model", str(tiny_model_path), "--dataset", "chat", "--stage", "orpo", "--json"])
    out = capsys.readouterr()
    assert code == 2 and "ORPO stage needs chosen/rejected pairs" in out.out + out.err


@pytest.mark.slow
@pytest.mark.parametrize("stage, file, overrides", [
    ("dpo", "dpo_en_demo.json", {}),
    ("orpo", "dpo_en_demo.json", {"pref_beta": 1.0}),
    ("kto", "kto_en_demo.json", {}),
])
def test_preference_stage_completes_and_the_margin_rises(workbench_home, tiny_model_path, peer_data,
                                                        stage, file, overrides):
    shutil.copytree(tiny_model_path, workbench_home / "models" / "demo-tiny")
    _import_shortest(peer_data, file, "prefs")
    status = launcher.launch_run(_config(stage, "prefs", **overrides))
    final = launcher.wait_for(status.run_id, timeout=600, poll=1)
    assert final.status == "completed", (final.error, runs.log_tail(status.run_id))
    assert runs.has_final_adapter(status.run_id)
    margins = [m["rewards_margins"] for m in runs.read_metrics(status.run_id) if "rewards_margins" in m]
    assert len(margins) == 5 and margins[-1] > margins[0] and max(margins[-2:]) > 0
    probes = runs.read_samples(status.run_id)
    assert {p["step"] for p in probes} == {0, 5} and all(p["prompt"] == "Hi" for p in probes)


@pytest.mark.slow
def test_dpo_continues_from_a_finished_sft_run(workbench_home, tiny_model_path, peer_data):
    shutil.copytree(tiny_model_path, workbench_home / "models" / "demo-tiny")
    chat = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]} for i in range(8)]
    store.save_dataset("chat", chat, source="t", extra={"kind": "sft"})
    sft = launcher.launch_run(_config("sft", "chat", max_steps=2, probe_prompts=[]))
    assert launcher.wait_for(sft.run_id, timeout=600, poll=1).status == "completed"
    _import_shortest(peer_data, "dpo_en_demo.json", "prefs", rows=4)
    with pytest.raises(UserError):  # a queued/unknown run has no adapter to start from
        launcher.launch_run(_config("dpo", "prefs", init_adapter="no-such-run"))
    dpo = launcher.launch_run(_config("dpo", "prefs", init_adapter=sft.run_id, max_steps=2, probe_prompts=[]))
    final = launcher.wait_for(dpo.run_id, timeout=600, poll=1)
    assert final.status == "completed", final.error
    config = runs.read_config(dpo.run_id)
    assert config["init_adapter_path"].endswith(f"{sft.run_id}/adapter")
    assert "starting from the adapter of" in (runs.run_dir(dpo.run_id) / runs.LOG_FILE).read_text()
