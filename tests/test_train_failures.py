"""Failure explanations: each kind of failure gets its reason and what to try."""
from __future__ import annotations

import signal

from core.train.failures import explain


def test_each_kind_is_recognised():
    assert explain("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB")[0] == "out of memory"
    assert explain("RuntimeError: [enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")[0] \
        == "out of memory"
    assert explain("RuntimeError: CUDA error: device-side assert triggered")[0] == "CUDA error"
    assert explain("", returncode=-signal.SIGKILL)[0] == "killed (SIGKILL)"
    assert explain("", returncode=-signal.SIGSEGV)[0] == "terminated by SIGSEGV"
    assert explain("ValueError: Dataset 'x' has no assistant turns to learn from.")[0] == "data problem"
    reason, hint = explain("ModuleNotFoundError: No module named 'deepspeed'")
    assert reason == "DeepSpeed missing" and "requirements.txt" in hint
    assert explain("RuntimeError: Error building extension 'cpu_adam'")[0] == "DeepSpeed could not compile an op"


def test_a_deepspeed_runs_log_is_not_a_deepspeed_problem_by_itself():
    # every DeepSpeed run's log names DeepSpeed; the failure is whatever else the text says
    tail = ("[WARNING] [real_accelerator.py:213:get_accelerator] Setting accelerator to CPU.\n"
            "DeepSpeed deepspeed.ops.comm.deepspeed_shm_comm_op built successfully\n"
            "ZeroDivisionError: division by zero")
    assert explain(tail)[0] == "training error"
    assert explain(tail + "\ntorch.OutOfMemoryError: CUDA out of memory.")[0] == "out of memory"
