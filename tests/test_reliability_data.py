"""Issue 11, "Data on disk": no window without data, concurrent writers, no silent overwrite,
names in bytes, disk full. Each test names the promise in docs/RELIABILITY.md it proves."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from core import workspace
from core.data import shape, store
from core.errors import UserError
from core.train import presets
from core.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def chat(q: str, a: str) -> dict:
    return {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m core ARGS`` as a fresh process (a real start-up) on workspace ``home``."""
    env = {**os.environ, "WORKBENCH_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def dot_entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ----------------------------------------------------------------------------- 1. no window without data

# The child replaces dataset "d" (v1 -> v2) and dies (os._exit, like kill -9) at one instant of the swap.
CHILD = textwrap.dedent("""
    import os, sys
    from core import workspace
    from core.data import store
    point = sys.argv[1]
    real_rename = os.rename
    def rename(src, dst):
        src, dst = str(src), str(dst)
        if point == "before_aside" and ".old-" in dst:
            os._exit(9)
        if point == "between" and ".staging-" in src:
            os._exit(9)                      # old set aside, new not yet in place
        real_rename(src, dst)
        if point == "after_new" and ".staging-" in src:
            os._exit(9)                      # new in place, old still set aside
    workspace.os.rename = rename
    rows = [{"messages": [{"role": "user", "content": "v2"}, {"role": "assistant", "content": "v2"}]}]
    store.save_dataset("d", rows, source="v2", overwrite=True)
""")


@pytest.mark.parametrize("point, expected", [("before_aside", "v1"), ("between", "v1"), ("after_new", "v2")])
def test_kill_during_swap_next_start_finds_old_or_new(workbench_home, point, expected):
    store.save_dataset("d", [chat("v1", "v1")], source="v1")
    env = {**os.environ, "WORKBENCH_HOME": str(workbench_home), "PYTHONPATH": str(ROOT)}
    child = subprocess.run([sys.executable, "-c", CHILD, point], cwd=ROOT, env=env, timeout=120)
    assert child.returncode == 9
    folder = workbench_home / "datasets"
    left = dot_entries(folder)
    assert left, "the child died mid-swap, so it must have left a staging or set-aside folder"
    if point == "between":
        assert not (folder / "d").exists() and any(".d.old-" in n for n in left)
    listed = cli(workbench_home, "data", "list", "--json")  # the next start
    assert listed.returncode == 0, listed.stderr
    assert [d["name"] for d in json.loads(listed.stdout)["datasets"]] == ["d"]
    assert store.load_rows("d")[0]["messages"][0]["content"] == expected
    assert store.read_meta("d").source == expected
    assert dot_entries(folder) == []  # leftover staging and set-aside folders cleaned


def test_staged_dir_leaves_target_untouched_on_error_and_fsyncs(workbench_home, monkeypatch):
    target = workbench_home / "exports" / "m"
    with workspace.staged_dir(target) as folder:
        (folder / "a.txt").write_text("old")
    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(workspace.os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")),
                                                           real_fsync(fd))[1])
    with pytest.raises(RuntimeError):
        with workspace.staged_dir(target) as folder:
            (folder / "a.txt").write_text("half")
            raise RuntimeError("writer crashed")
    assert (target / "a.txt").read_text() == "old" and dot_entries(target.parent) == []
    with workspace.staged_dir(target) as folder:
        (folder / "a.txt").write_text("new")
    assert (target / "a.txt").read_text() == "new" and dot_entries(target.parent) == []
    # the staged file, the staged folder and the parent were fsynced
    staged = [s for s in synced if ".staging-" in s]
    assert any(s.endswith("/a.txt") for s in staged) and any(not s.endswith("/a.txt") for s in staged)
    assert str(target.parent) in synced


# ----------------------------------------------------------------------------- 2. concurrent writers

def _slow_fsync(monkeypatch, seconds=0.4):
    """Make every staged write take a while, so two writers surely overlap."""
    real = workspace._fsync_tree
    monkeypatch.setattr(workspace, "_fsync_tree", lambda root: (time.sleep(seconds), real(root))[1])


def _run_together(*calls) -> list:
    """Run the calls in threads (two browser tabs are two threads of one Streamlit process)."""
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i, call):
        barrier.wait()
        try:
            results[i] = ("ok", call())
        except UserError as err:
            results[i] = ("error", err)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_two_saves_of_one_new_dataset_one_wins_the_other_is_refused(workbench_home, monkeypatch):
    _slow_fsync(monkeypatch)
    results = _run_together(lambda: store.save_dataset("same", [chat("a", "1")], source="tab 1"),
                            lambda: store.save_dataset("same", [chat("b", "2")], source="tab 2"))
    assert sorted(r[0] for r in results) == ["error", "ok"]
    error = next(r[1] for r in results if r[0] == "error")
    assert error.key == "err.exists.dataset"
    winner = next(r[1] for r in results if r[0] == "ok")
    assert store.read_meta("same").source == winner.source  # the one reported saved is the one on disk


def test_two_preset_saves_one_refused(workbench_home, monkeypatch):
    real = workspace.atomic_write_json
    monkeypatch.setattr(workspace, "atomic_write_json", lambda p, o: (time.sleep(0.4), real(p, o))[1])
    results = _run_together(lambda: presets.save_preset("mine", TrainConfig(lora_r=8)),
                            lambda: presets.save_preset("mine", TrainConfig(lora_r=32)))
    assert sorted(r[0] for r in results) == ["error", "ok"]
    assert next(r[1] for r in results if r[0] == "error").key == "err.exists.preset"


def test_dataset_writer_from_another_process_is_waited_for(workbench_home):
    """The CLI (another process) holding a dataset's lock: a page's save waits, then keeps both rules."""
    store.save_dataset("shared", [chat("v1", "v1")], source="v1")
    holder = textwrap.dedent("""
        import sys, time
        from core import workspace
        from core.data import store
        with workspace.locked(store.dataset_dir("shared")):
            print("held", flush=True)
            time.sleep(1.5)
    """)
    env = {**os.environ, "WORKBENCH_HOME": str(workbench_home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", holder], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(UserError) as busy:
        with workspace.locked(store.dataset_dir("shared"), timeout=0):
            pass
    assert busy.value.key == "err.busy" and "another browser tab or the command line" in str(busy.value)
    started = time.monotonic()
    store.save_dataset("shared", [chat("v2", "v2")], source="v2", overwrite=True)
    assert time.monotonic() - started > 0.5  # it waited for the other writer
    proc.wait(30)
    assert store.read_meta("shared").source == "v2"


def test_two_ingests_into_one_knowledge_base_keep_both(workbench_home, tmp_path, monkeypatch):
    from core.rag import loaders
    from core.rag import store as kb_store

    kb_store.create_kb("notes", chunk_size=200, overlap=20)
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("Alpacas live in the Andes and eat grass. " * 5, encoding="utf-8")
    second.write_text("FAISS searches vectors by inner product. " * 5, encoding="utf-8")
    real_load = loaders.load_file
    monkeypatch.setattr(loaders, "load_file", lambda p, *a, **k: (time.sleep(0.5), real_load(p, *a, **k))[1])
    results = _run_together(lambda: kb_store.ingest("notes", [first]), lambda: kb_store.ingest("notes", [second]))
    assert [r[0] for r in results] == ["ok", "ok"]
    kb = kb_store.load_kb("notes")
    assert sorted(d["name"] for d in kb.documents) == ["first.txt", "second.txt"]
    assert kb.index.ntotal == len(kb.chunks) == sum(d["chunks"] for d in kb.documents)


# ----------------------------------------------------------------------------- 3. no silent overwrite

def test_split_mix_import_preset_refuse_an_existing_name_without_overwrite(workbench_home, tmp_path):
    store.save_dataset("src", [chat(f"q{i}", "a") for i in range(20)], source="t")
    store.save_dataset("src-train", [chat("keep", "me")], source="precious")
    with pytest.raises(UserError) as err:
        shape.split_dataset("src", 0.2)
    assert err.value.key == "err.exists.dataset"
    assert store.read_meta("src-train").source == "precious" and not store.exists("src-eval")
    with pytest.raises(UserError):
        shape.mix_datasets([shape.MixSource("src")], "src-train")
    assert store.read_meta("src-train").source == "precious"
    train, _ = shape.split_dataset("src", 0.2, overwrite=True)
    assert store.read_meta("src-train").rows == train.rows == 16

    presets.save_preset("p", TrainConfig(lora_r=8))
    with pytest.raises(UserError) as err:
        presets.save_preset("p", TrainConfig(lora_r=64))
    assert err.value.key == "err.exists.preset" and presets.load_preset("p").lora_r == 8
    assert presets.save_preset("p", TrainConfig(lora_r=64), overwrite=True) == "p"
    assert presets.load_preset("p").lora_r == 64


def test_pages_replace_only_with_the_overwrite_tick(workbench_home):
    from streamlit.testing.v1 import AppTest

    store.save_dataset("src", [chat(f"q{i}", "a") for i in range(20)], source="t")
    store.save_dataset("src-train", [chat("keep", "me")], source="precious")
    store.save_dataset("mix", [chat("keep", "me")], source="precious")
    at = AppTest.from_file(str(ROOT / "views" / "1_Datasets.py"), default_timeout=60).run()
    at.selectbox(key="ds_split_name").set_value("src").run()
    at.button(key="ds_split_go").click().run()
    assert not at.exception and "already exists" in at.error[0].value
    assert store.read_meta("src-train").source == "precious"
    at.multiselect(key="ds_mix_sources").set_value(["src"]).run()
    at.button(key="ds_mix_go").click().run()
    assert not at.exception and store.read_meta("mix").source == "precious"
    at.checkbox(key="ds_split_overwrite").check().run()
    at.button(key="ds_split_go").click().run()
    assert not at.exception and store.read_meta("src-train").rows == 18
    at.checkbox(key="ds_mix_overwrite").check().run()
    at.button(key="ds_mix_go").click().run()
    assert not at.exception and store.read_meta("mix").rows == 20

    presets.save_preset("mine", TrainConfig(lora_r=8))
    train = AppTest.from_file(str(ROOT / "views" / "2_Train.py"), default_timeout=60).run()
    train.text_input(key="train_preset_name").set_value("mine").run()
    train.button(key="train_save_preset").click().run()
    assert not train.exception and presets.load_preset("mine").lora_r == 8
    train.checkbox(key="train_preset_overwrite").check().run()
    train.button(key="train_save_preset").click().run()
    assert not train.exception and presets.load_preset("mine").lora_r != 8


def test_cli_needs_overwrite_for_import_split_mix_and_presets(workbench_home, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(chat(f"q{i}", "a")) + "\n" for i in range(10)), encoding="utf-8")
    assert cli(workbench_home, "data", "import", str(data), "--name", "d").returncode == 0
    checks = [
        ("data", "import", str(data), "--name", "d"),
        ("data", "split", "d"),
        ("data", "mix", "d", "--output", "d"),
        ("train", "save-preset", "p", "--preset", "cpu-demo"),
    ]
    assert cli(workbench_home, "data", "split", "d").returncode == 0
    assert cli(workbench_home, "train", "save-preset", "p", "--preset", "cpu-demo").returncode == 0
    for args in checks:
        refused = cli(workbench_home, *args)
        assert refused.returncode == 2, args
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "already exists" in lines[0] and "--overwrite" in lines[0], refused.stderr
        assert cli(workbench_home, *args, "--overwrite").returncode == 0, args


# ----------------------------------------------------------------------------- 4. names

def test_long_names_are_refused_in_bytes_before_anything_is_written(workbench_home, tmp_path):
    long_zh = "小" * 60  # 60 characters, 180 bytes: used to end in "File name too long"
    with pytest.raises(UserError) as err:
        store.save_dataset(long_zh, [chat("a", "b")], source="t")
    assert err.value.key == "err.name.too_long" and "180 bytes" in str(err.value)
    assert "180 字节" in err.value.text("zh")
    # derived names count: NAME is fine, NAME-train is one byte too many -> nothing written
    name = "a" * (workspace.MAX_NAME_BYTES - 5)
    store.save_dataset(name, [chat(f"q{i}", "a") for i in range(10)], source="t")
    before = sorted(p.name for p in (workbench_home / "datasets").iterdir())
    with pytest.raises(UserError) as err:
        shape.split_dataset(name, 0.2)
    assert err.value.key == "err.name.too_long"
    assert sorted(p.name for p in (workbench_home / "datasets").iterdir()) == before
    # the CLI: one line, exit 2, for a bad name and for a bad run id
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps(chat("q", "a")) + "\n", encoding="utf-8")
    for args in (("data", "import", str(data), "--name", long_zh), ("train", "status", "../../etc"),
                 ("data", "stats", "a/b")):
        done = cli(workbench_home, *args)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, (args, done.stderr)
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert not (workbench_home / "datasets" / long_zh).exists()
    # a derived default name (export of RUN/checkpoint-N) is cut to fit, keeping the checkpoint
    from core.models.export import default_export_name

    derived = default_export_name(workspace.runs_dir() / ("20261130-120000-" + "小" * 40) / "checkpoint-1200")
    assert workspace.check_name(derived) == derived and derived.endswith("-checkpoint-1200")


def test_a_copied_folder_is_listed_under_its_folder_name(workbench_home):
    import shutil

    store.save_dataset("orig", [chat("a", "b")], source="t")
    shutil.copytree(workbench_home / "datasets" / "orig", workbench_home / "copy")
    shutil.move(workbench_home / "copy", workbench_home / "datasets" / "copy")
    assert sorted(i.name for i in store.list_datasets()) == ["copy", "orig"]
    assert len(store.load_rows("copy")) == 1


# ----------------------------------------------------------------------------- 5. disk full

@pytest.fixture()
def tiny_disk(tmp_path, monkeypatch):
    """A 2 MB tmpfs as the workspace (needs root and permission to mount); skipped otherwise."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    home = mount / "workspace"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    yield home
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_on_a_real_small_disk_is_a_message_and_keeps_what_was_saved(tiny_disk, tmp_path):
    store.save_dataset("d", [chat("small", "one")], source="t")
    before = {p.name: p.read_bytes() for p in (tiny_disk / "datasets" / "d").iterdir()}
    big = [chat("x" * 1000, "y" * 1000) for _ in range(1500)]  # ~3 MB, more than the disk holds
    with pytest.raises(workspace.DiskError) as err:
        store.save_dataset("d", big, source="t", overwrite=True)
    assert str(err.value).startswith(f"Disk full: free space at {tiny_disk / 'datasets'}")
    assert err.value.text("zh").startswith("磁盘已满")
    assert {p.name: p.read_bytes() for p in (tiny_disk / "datasets" / "d").iterdir()} == before
    assert dot_entries(tiny_disk / "datasets") == []
    # the CLI on the same full disk: one line, exit 2, nothing changed
    data = tmp_path / "big.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in big), encoding="utf-8")
    done = cli(tiny_disk, "data", "import", str(data), "--name", "d", "--overwrite", "--max-chars", "100000")
    assert done.returncode == 2 and done.stderr.startswith("error: Disk full: free space at"), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in (tiny_disk / "datasets" / "d").iterdir()} == before


def test_injected_disk_errors_become_messages(workbench_home, monkeypatch):
    """Without root: ENOSPC and EIO injected where the staged files are flushed."""
    store.save_dataset("d", [chat("a", "b")], source="t")
    before = (workbench_home / "datasets" / "d" / "data.jsonl").read_bytes()
    for code, start in ((errno.ENOSPC, "Disk full: free space at"), (errno.EIO, "Could not write")):
        def failing(root, code=code):
            raise OSError(code, os.strerror(code))
        monkeypatch.setattr(workspace, "_fsync_tree", failing)
        with pytest.raises(UserError) as err:
            store.save_dataset("d", [chat("c", "d")], source="t", overwrite=True)
        assert str(err.value).startswith(start)
        assert (workbench_home / "datasets" / "d" / "data.jsonl").read_bytes() == before
    monkeypatch.setattr(workspace.os, "replace", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(workspace.DiskError):
        presets.save_preset("p", TrainConfig())
    assert presets.user_preset_names() == []
