"""Merge and export: a standard HF folder that loads without PEFT and answers like base+adapter;
atomic writes, refusals, the adapter zip, and the CLI."""
from __future__ import annotations

import json
import zipfile

import pytest

from compare_fixtures import QUESTIONS, ws  # noqa: F401 (ws is a fixture)
from core.models import export as E
from core.chat.generate import GenerationSettings, generate_reply
from core.errors import UserError

SETTINGS = GenerationSettings(max_new_tokens=24, temperature=0.0, repetition_penalty=1.0)


def test_merged_model_loads_without_peft_and_answers_like_base_plus_adapter(ws):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models.loading import load_base
    from core.models.registry import list_models

    steps = []
    result = E.merge_adapter("demo-tiny", f"{ws.run_id}/checkpoint-20", name="merged-20",
                             max_shard_size="1MB", progress=lambda f, m: steps.append(f))
    folder = ws.home / "exports" / "merged-20"
    assert result.path == str(folder) and steps[-1] == 1.0 and steps == sorted(steps)
    files = set(result.files)
    assert {"config.json", "generation_config.json", "model.safetensors.index.json", "tokenizer.json",
            "tokenizer_config.json", "chat_template.jinja"} <= files
    assert len([f for f in files if f.endswith(".safetensors")]) > 1  # sharded
    assert "adapter_config.json" not in files
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config  # trained in 4-bit, merged unquantised
    assert not list(folder.parent.glob(".*staging"))

    model = AutoModelForCausalLM.from_pretrained(str(folder))
    assert type(model).__name__ == "LlamaForCausalLM" and model.dtype == torch.float32
    assert AutoTokenizer.from_pretrained(str(folder)).chat_template
    assert "merged-20" in [m.name for m in list_models()]

    merged = load_base("merged-20")
    base = load_base("demo-tiny")
    adapter = ws.adapter("checkpoint-20")
    for q in QUESTIONS:
        messages = [{"role": "user", "content": q}]
        assert generate_reply(merged, messages, SETTINGS) == generate_reply(base, messages, SETTINGS, adapter=adapter)


def test_merge_refusals_and_overwrite(ws, tmp_path, monkeypatch):
    with pytest.raises(UserError, match="not on other-tiny"):
        E.merge_adapter(str(ws.other_model_path), ws.run_id, out=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    out = tmp_path / "m"
    E.merge_adapter("demo-tiny", ws.run_id, out=out, dtype="bfloat16")
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    with pytest.raises(UserError, match="already exists"):
        E.merge_adapter("demo-tiny", ws.run_id, out=out)
    with pytest.raises(UserError, match="Unknown run"):
        E.merge_adapter("demo-tiny", "no-such-run", out=tmp_path / "y")

    # a failure while writing leaves the old folder as it was and no staging folder behind
    before = sorted(p.name for p in out.iterdir())
    from transformers import PreTrainedModel

    def boom(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", boom)
    with pytest.raises(OSError):
        E.merge_adapter("demo-tiny", ws.run_id, out=out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_adapter_zip(ws, tmp_path):
    data = E.adapter_zip_bytes(f"{ws.run_id}/checkpoint-10")
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as archive:
        names = archive.namelist()
    root = f"{ws.run_id}-checkpoint-10"
    assert f"{root}/adapter_config.json" in names and f"{root}/adapter_model.safetensors" in names
    assert not any(n.endswith(("optimizer.pt", "scheduler.pt", "rng_state.pth")) for n in names)
    path = E.write_adapter_zip(ws.run_id, tmp_path)
    assert path.name == f"{ws.run_id}-adapter.zip" and zipfile.is_zipfile(path)
    with_state = E.adapter_zip_bytes(f"{ws.run_id}/checkpoint-10", include_training_state=True)
    assert len(with_state) > len(data)


def test_cli_export(ws, tmp_path, capsys):
    from transformers import AutoModelForCausalLM

    from core.cli import main

    out = tmp_path / "shipped"
    code = main(["export", "merge", "--model", "demo-tiny", "--adapter", f"{ws.run_id}/checkpoint-10",
                 "--out", str(out), "--json", "--quiet"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["path"] == str(out.resolve())
    AutoModelForCausalLM.from_pretrained(str(out))
    assert main(["export", "merge", "--model", "demo-tiny", "--adapter", ws.run_id, "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    code = main(["export", "adapter-zip", "--adapter", ws.run_id, "--out", str(tmp_path / "a.zip"), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0 and payload["size_bytes"] == (tmp_path / "a.zip").stat().st_size
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        members = archive.namelist()
        config = json.loads(next(archive.read(n) for n in members if n.endswith("/adapter_config.json")))
    assert any(n.endswith("/adapter_model.safetensors") for n in members)
    assert not any(n.endswith(("optimizer.pt", "scheduler.pt", "rng_state.pth")) for n in members)
    assert config["peft_type"] == "LORA" and config["r"] > 0
