"""CLI commands no other test reaches: train estimate / presets / save-preset, data dedupe,
kb list / preview / rebuild. Each is checked for its values, not only its exit code."""
from __future__ import annotations

import json

from core.cli import main
from core.data import store


def run(capsys, *argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _demo_model(workbench_home, tiny_model_path):
    import shutil

    shutil.copytree(tiny_model_path, workbench_home / "models" / "demo-tiny")


def test_train_estimate_adds_up_and_fits_the_cpu(workbench_home, capsys, tiny_model_path):
    _demo_model(workbench_home, tiny_model_path)
    assert run(capsys, "data", "assistant", "--name", "Ann", "--author", "Bo", "--n", "20",
               "--lang", "en", "--out", "a")[0] == 0
    code, est = run(capsys, "train", "estimate", "--model", "demo-tiny", "--dataset", "a", "--preset", "cpu-demo")
    assert code == 0
    parts = ("weights_bytes", "lora_bytes", "gradients_bytes", "optimizer_bytes", "activations_bytes", "overhead_bytes")
    assert est["total_bytes"] == sum(est[p] for p in parts)
    assert est["device"] == "cpu" and est["fits"] is True
    assert 0 < est["trainable_params"] < est["params"]
    assert est["optimizer_bytes"] == 2 * est["lora_bytes"]  # AdamW: two fp32 moments per trainable weight
    # LoRA weights grow linearly with the rank (cpu-demo uses r = 64)
    code, bigger = run(capsys, "train", "estimate", "--model", "demo-tiny", "--dataset", "a", "--preset", "cpu-demo",
                       "--lora-r", "128")
    assert code == 0 and bigger["trainable_params"] == 2 * est["trainable_params"]
    assert bigger["total_bytes"] > est["total_bytes"]


def test_presets_list_and_save(workbench_home, capsys):
    code, out = run(capsys, "train", "presets")
    builtins = set(out["presets"])
    assert code == 0 and {"cpu-demo", "xtuner-qlora"} <= builtins
    code, saved = run(capsys, "train", "save-preset", "mine", "--preset", "cpu-demo")
    assert code == 0
    code, out = run(capsys, "train", "presets")
    assert set(out["presets"]) == builtins | {"mine"}


def test_data_dedupe_keeps_one_of_each(workbench_home, capsys):
    assert run(capsys, "data", "assistant", "--name", "Ann", "--author", "Bo", "--n", "50",
               "--lang", "en", "--out", "a")[0] == 0
    distinct = {json.dumps(r, sort_keys=True) for r in store.load_rows("a")}
    code, out = run(capsys, "data", "dedupe", "a")
    assert code == 0 and out["rows"] == len(distinct) and out["removed"] == 50 - len(distinct)
    rows = store.load_rows("a")
    assert len(rows) == len(distinct) == len({json.dumps(r, sort_keys=True) for r in rows})


def test_kb_preview_list_rebuild(workbench_home, capsys, tmp_path):
    doc = tmp_path / "doc.txt"
    doc.write_text("Paris is the capital of France. It is known for the Eiffel Tower.\n\n"
                   "Berlin is the capital of Germany.", encoding="utf-8")
    code, preview = run(capsys, "kb", "preview", str(doc), "--chunk-size", "60", "--overlap", "0")
    assert code == 0
    assert [c["text"] for c in preview["chunks"]] == [
        "Paris is the capital of France.", "It is known for the Eiffel Tower.", "Berlin is the capital of Germany."]
    assert preview["total_chunks"] == 3

    assert run(capsys, "kb", "create", "k", "--chunk-size", "60", "--overlap", "0")[0] == 0
    assert run(capsys, "kb", "ingest", "k", str(doc))[0] == 0
    code, listed = run(capsys, "kb", "list")
    assert code == 0 and [(b["name"], b["documents"], b["chunks"]) for b in listed["knowledge_bases"]] == [("k", 1, 3)]
    code, docs = run(capsys, "kb", "list", "k")
    assert code == 0 and [(d["name"], d["chunks"]) for d in docs["documents"]] == [("doc.txt", 3)]

    code, before = run(capsys, "kb", "query", "k", "Which city has the Eiffel Tower?")
    code, rebuilt = run(capsys, "kb", "rebuild", "k", "--index", "hnsw")
    assert code == 0 and rebuilt["rebuilt"]["index_type"] == "hnsw" and rebuilt["rebuilt"]["chunks"] == 3
    code, after = run(capsys, "kb", "query", "k", "Which city has the Eiffel Tower?")
    assert code == 0
    assert [h["text"] for h in after["hits"]][:1] == [h["text"] for h in before["hits"]][:1] == [
        "It is known for the Eiffel Tower."]
