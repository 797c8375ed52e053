"""GPU detection from nvidia-smi (recorded outputs of real machines; no GPU needed) and what the
Home page says about it."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from core import system
from tests.conftest import ROOT

ONE_GPU = "0, NVIDIA GeForce RTX 4090, 24564, 23988\n"
EIGHT_GPUS = "".join(f"{i}, NVIDIA H800, 81559, {81559 - 1000 * i}\n" for i in range(8))
MIG_NA = "0, NVIDIA A100-SXM4-80GB, 81920, [N/A]\n1, NVIDIA A100-SXM4-80GB, [N/A], [N/A]\n"


def test_one_gpu():
    (gpu,) = system.parse_nvidia_smi(ONE_GPU)
    assert (gpu.index, gpu.name, gpu.total_bytes, gpu.free_bytes) == (
        0, "NVIDIA GeForce RTX 4090", 24564 * 2**20, 23988 * 2**20)


def test_several_gpus_keep_their_order_and_memory():
    found = system.parse_nvidia_smi(EIGHT_GPUS)
    assert [g.index for g in found] == list(range(8))
    assert {g.name for g in found} == {"NVIDIA H800"}
    assert found[7].free_bytes == (81559 - 7000) * 2**20


def test_unreadable_values_are_unknown_not_a_crash():
    found = system.parse_nvidia_smi(MIG_NA + "No devices were found\n")
    assert len(found) == 1  # the row without a total is skipped, the message line ignored
    assert found[0].total_bytes == 81920 * 2**20 and found[0].free_bytes is None


def test_name_with_a_comma():
    (gpu,) = system.parse_nvidia_smi("0, Tesla V100-SXM2-32GB, rev 1, 32768, 32000")
    assert gpu.name == "Tesla V100-SXM2-32GB, rev 1" and gpu.total_bytes == 32768 * 2**20


def _fake_nvidia_smi(tmp_path, output: str, monkeypatch, exit_code: int = 0) -> None:
    exe = tmp_path / "bin" / "nvidia-smi"
    exe.parent.mkdir()
    exe.write_text(f"#!/bin/sh\ncat <<'OUT'\n{output}OUT\nexit {exit_code}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")


def test_gpus_runs_nvidia_smi(tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path, EIGHT_GPUS, monkeypatch)
    assert len(system.gpus()) == 8
    assert system.system_info().device == "cuda"


def test_failing_nvidia_smi_means_cpu(tmp_path, monkeypatch):
    _fake_nvidia_smi(tmp_path, "NVIDIA-SMI has failed because it couldn't communicate with the driver\n",
                     monkeypatch, exit_code=9)
    assert system.gpus() == []
    assert system.system_info().device == "cpu"


def test_home_page_names_each_gpu(tmp_path, monkeypatch, workbench_home):
    from streamlit.testing.v1 import AppTest

    _fake_nvidia_smi(tmp_path, "0, NVIDIA GeForce RTX 4090, 24564, 23988\n1, NVIDIA GeForce RTX 4090, 24564, 100\n",
                     monkeypatch)
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not at.exception
    texts = [e.value for e in at.success]
    assert "GPU 0: NVIDIA GeForce RTX 4090, 24.0 GB" in texts
    assert "GPU 1: NVIDIA GeForce RTX 4090, 24.0 GB" in texts


def test_home_page_without_a_gpu_says_cpu_only(tmp_path, monkeypatch, workbench_home):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                               if not (Path(p) / "nvidia-smi").exists()))
    at = AppTest.from_file(str(ROOT / "Home.py"), default_timeout=60).run()
    assert not at.exception
    expected = f"CPU only ({os.cpu_count()} cores) — training uses fp32; fine for the demo model."
    assert expected in [e.value for e in at.info]
    assert not any(e.value.startswith("GPU ") for e in at.success)
