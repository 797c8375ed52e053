"""`python -m core data …` (core.data.commands): JSON output and exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

from core.cli import main
from core.data import store

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def run(capsys, *argv) -> tuple[int, dict | str]:
    code = main(list(argv))
    out = capsys.readouterr()
    try:
        return code, json.loads(out.out)
    except ValueError:
        return code, out.out + out.err


def test_import_list_stats_split_mix_export_rename_delete(workbench_home, capsys, tmp_path, tiny_model_path):
    src = tmp_path / "pairs.jsonl"
    src.write_text('{"input": "a", "output": "b"}\n{"input": "c", "output": ""}\n{broken\n'
                   '{"input": "d", "output": "e"}\n', encoding="utf-8")
    code, out = run(capsys, "data", "import", str(src), "--name", "pairs", "--on-error", "abort", "--json")
    assert code == 1 and out["dataset"] is None and out["aborted"]
    assert [(b["line"], b["code"]) for b in out["bad_rows"]] == [(2, "empty_assistant"), (3, "malformed_json")]
    assert not store.exists("pairs")

    code, out = run(capsys, "data", "import", str(src), "--name", "pairs", "--json")
    assert code == 0 and out["dataset"] == "pairs" and out["rows"] == 2 and len(out["bad_rows"]) == 2
    assert out["kind"] == "sft"

    code, out = run(capsys, "data", "import", str(src), "--name", "pairs", "--json")
    assert code == 2  # exists, no --overwrite: a user error

    code, out = run(capsys, "data", "list", "--json")
    assert [d["name"] for d in out["datasets"]] == ["pairs"] and out["datasets"][0]["rows"] == 2
    assert out["datasets"][0]["kind"] == "sft"

    code, out = run(capsys, "data", "stats", "pairs", "--model", str(tiny_model_path), "--max-length", "8", "--json")
    assert code == 0 and out["rows"] == 2 and out["tokens"]["over"] == 2 and "lengths" not in out

    code, out = run(capsys, "data", "split", "pairs", "--eval-ratio", "0.5", "--json")
    assert out == {"train": "pairs-train", "train_rows": 1, "eval": "pairs-eval", "eval_rows": 1}

    code, out = run(capsys, "data", "mix", "pairs:repeat=3", "pairs-eval:weight=1,allow_repeat=0",
                    "--output", "mixed", "--json")
    assert code == 0 and out["rows"] == 7

    out_file = tmp_path / "out.json"
    code, out = run(capsys, "data", "export", "mixed", "--format", "sharegpt", "--output", str(out_file), "--json")
    assert code == 0 and len(json.loads(out_file.read_text())) == 7

    code, out = run(capsys, "data", "rename", "mixed", "mix2", "--json")
    assert code == 0 and store.exists("mix2")
    code, out = run(capsys, "data", "delete", "mix2", "--json")
    assert code == 2 and store.exists("mix2")  # needs --yes
    code, out = run(capsys, "data", "delete", "mix2", "--yes", "--json")
    assert code == 0 and not store.exists("mix2")
    code, out = run(capsys, "data", "rename", "pairs", "../evil")
    assert code == 2


def test_import_peer_identity_with_fill(workbench_home, capsys, peer_data):
    code, out = run(capsys, "data", "import", str(peer_data / "identity.json"), "--name", "identity",
                    "--fill", "name=Aria", "--fill", "author=Lab", "--json")
    assert code == 0 and out["rows"] == 91 and out["bad_rows"] == []
    assert "{{" not in json.dumps(store.load_rows("identity"))


def test_import_peer_preference_and_kto_kinds(workbench_home, capsys, peer_data):
    code, out = run(capsys, "data", "import", str(peer_data / "dpo_en_demo.json"), "--name", "dpo", "--json")
    assert code == 0 and out["kind"] == "preference" and out["rows"] == 300
    code, out = run(capsys, "data", "import", str(peer_data / "kto_en_demo.json"), "--name", "kto", "--json")
    assert code == 0 and out["kind"] == "kto" and out["rows"] == 300
    code, out = run(capsys, "data", "list", "--json")
    assert {d["name"]: d["kind"] for d in out["datasets"]} == {"dpo": "preference", "kto": "kto"}


def test_module_entry_point_prints_one_json_object(workbench_home, tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("question,answer\n1+1?,2\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "core", "data", "import", str(src), "--name", "x",
                           "--format", "csv", "--json"], cwd=ROOT, capture_output=True, text=True,
                          env={**__import__("os").environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == 1
