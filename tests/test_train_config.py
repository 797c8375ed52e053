"""TrainConfig validation, presets (built-in, saved, copied from a run), CLI parsing and the memory estimate."""
from __future__ import annotations

import json

import pytest

from core.errors import UserError
from core.train import presets, runs
from core.train.config import TrainConfig
from core.train.presets import BUILTIN_PRESETS, from_preset


def test_field_errors_name_the_fields():
    cfg = TrainConfig(model="m", dataset="", learning_rate=0, max_length=8, target_modules="q_proj, bad name",
                      gpus="x", deepspeed="zero2")
    errs = cfg.field_errors()
    assert {"dataset", "learning_rate", "max_length", "target_modules", "gpus", "deepspeed"} <= set(errs)
    assert "> 0" in errs["learning_rate"]
    with pytest.raises(UserError) as info:
        cfg.validate()
    assert info.value.field in errs


def test_builtin_presets():
    xt = BUILTIN_PRESETS["xtuner-qlora"]
    assert (xt.lora_r, xt.lora_alpha, xt.lora_dropout, xt.learning_rate, xt.batch_size, xt.grad_accum,
            xt.max_length, xt.warmup_ratio, xt.lr_scheduler, xt.save_total_limit, xt.quantization) == \
        (64, 16, 0.1, 2e-4, 1, 16, 1024, 0.03, "cosine", 3, "4bit")
    assert 2 <= xt.epochs <= 3
    demo = from_preset("cpu-demo", model="demo-tiny", dataset="a")
    assert demo.field_errors() == {} and demo.max_steps > 0
    assert presets.DEFAULT_PRESET in BUILTIN_PRESETS
    assert presets.preset_label("cpu-demo", "zh").startswith("CPU 演示") and presets.preset_label("mine") == "★ mine"


def test_presets_are_copies_and_config_does_not_import_presets():
    loaded = presets.load_preset("cpu-demo")
    loaded.lora_r = 3
    loaded.probe_prompts.append("who?")
    again = presets.load_preset("cpu-demo")
    assert again.lora_r == 64 and again.probe_prompts == [] and BUILTIN_PRESETS["cpu-demo"].lora_r == 64
    import subprocess
    import sys

    code = "import sys, core.train.config; print('core.train.presets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_devices_and_processes():
    assert TrainConfig().devices == ["0"] and TrainConfig().processes == 1
    cfg = TrainConfig(gpus="0,1")
    assert cfg.devices == ["0", "1"] and cfg.processes == 2
    assert TrainConfig(num_processes=2).processes == 2


def test_save_load_copy_presets(workbench_home):
    name = presets.save_preset("my-r16", TrainConfig(model="x", dataset="y", lora_r=16, packing=True))
    assert name in presets.list_presets()
    loaded = from_preset("my-r16", model="demo-tiny", dataset="d")
    assert loaded.lora_r == 16 and loaded.packing and loaded.model == "demo-tiny"
    saved = json.loads((presets.presets_dir() / "my-r16.json").read_text())
    assert "model" not in saved["config"] and "dataset" not in saved["config"]
    with pytest.raises(UserError):
        presets.save_preset("cpu-demo", TrainConfig())
    with pytest.raises(UserError):
        presets.save_preset("bad", TrainConfig(learning_rate=-1))
    with pytest.raises(UserError):
        from_preset("nope")
    # copy from a run's config.json
    folder = workbench_home / "runs" / "r1"
    folder.mkdir(parents=True)
    (folder / runs.CONFIG_FILE).write_text(json.dumps(TrainConfig(lora_r=8, resume_from="x/checkpoint-1").to_dict()))
    copied = presets.config_from_run("r1")
    assert copied.lora_r == 8 and copied.resume_from == ""
    presets.delete_preset("my-r16")
    assert "my-r16" not in presets.list_presets()


def test_cli_start_parses_every_setting(workbench_home):
    from core.cli import build_parser
    from core.train.commands import config_from_args

    args = build_parser().parse_args(
        ["train", "start", "--model", "m", "--dataset", "d", "--preset", "cpu-demo", "--lora-r", "8",
         "--target-modules", "q_proj,v_proj", "--dora", "true", "--packing", "true", "--eval-ratio", "0.1",
         "--probe", "a", "--probe", "b", "--gpus", "0,1", "--nproc", "2", "--max-steps", "7", "--json"])
    cfg = config_from_args(args)
    assert (cfg.lora_r, cfg.target_modules, cfg.use_dora, cfg.packing, cfg.eval_ratio, cfg.probe_prompts,
            cfg.gpus, cfg.num_processes, cfg.max_steps) == (8, "q_proj,v_proj", True, True, 0.1, ["a", "b"],
                                                            "0,1", 2, 7)


def test_cli_unknown_run_exits_2(workbench_home, capsys):
    from core.cli import main

    assert main(["train", "status", "no-such-run", "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Unknown run" in err[0]
    assert main(["train", "start", "--resume", "no-such-run/checkpoint-3", "--json"]) == 2


def test_memory_estimate_components(tiny_model_path):
    from core.train.memory import estimate, model_shape

    shape = model_shape(tiny_model_path)
    assert shape.layers == 2 and len(shape.block_linears) == 14
    base = TrainConfig(quantization="none", lora_r=8, batch_size=2, max_length=128, gradient_checkpointing=False)
    est = estimate(shape, base, "cpu", device_bytes=10 * 2**30)
    assert est.fits and est.trainable_params == sum(8 * (a + b) for _, a, b in shape.block_linears)
    assert est.optimizer_bytes == 2 * est.lora_bytes
    q4 = estimate(shape, TrainConfig(**{**base.to_dict(), "quantization": "4bit"}), "cpu")
    assert q4.weights_bytes < est.weights_bytes
    ckpt = estimate(shape, TrainConfig(**{**base.to_dict(), "gradient_checkpointing": True}), "cpu")
    assert ckpt.activations_bytes < est.activations_bytes
    assert est.total_ckpt_bytes == ckpt.total_bytes
    longer = estimate(shape, TrainConfig(**{**base.to_dict(), "max_length": 256}), "cpu")
    assert longer.activations_bytes == pytest.approx(2 * est.activations_bytes, rel=0.01)
    tiny_device = estimate(shape, base, "cuda", device_bytes=1000)
    assert tiny_device.fits is False
    only_q = estimate(shape, TrainConfig(**{**base.to_dict(), "target_modules": "q_proj"}), "cpu")
    assert only_q.trainable_params < est.trainable_params


def test_memory_estimate_is_per_gpu_under_deepspeed(tiny_model_path):
    from core.train.memory import estimate, model_shape

    shape = model_shape(tiny_model_path)
    ddp = TrainConfig(quantization="none", lora_r=8, batch_size=2, max_length=128, gpus="0,1")
    plain = estimate(shape, ddp, "cuda")
    z2 = estimate(shape, TrainConfig(**{**ddp.to_dict(), "deepspeed": "zero2"}), "cuda")
    z3 = estimate(shape, TrainConfig(**{**ddp.to_dict(), "deepspeed": "zero3"}), "cuda")
    assert z2.gradients_bytes == plain.gradients_bytes / 2
    assert z2.optimizer_bytes == (plain.optimizer_bytes + 4 * plain.trainable_params) / 2  # + fp32 master copy
    assert z2.weights_bytes == plain.weights_bytes and z3.weights_bytes < plain.weights_bytes
    assert z3.total_bytes < z2.total_bytes and any("ZeRO-3" in n for n in z3.note_texts())
    assert any("ZeRO-3" in n for n in z3.note_texts("zh")) and "notes" in z3.to_dict()
    assert z3.activations_bytes == plain.activations_bytes  # each rank still runs its own batch


def test_deepspeed_choice_is_checked_before_launch(workbench_home, monkeypatch):
    import importlib.util

    from core.data.assistant import AssistantSpec, save_assistant_dataset
    from core.train import launcher

    save_assistant_dataset(AssistantSpec(name="小智", author="张三", n=20), "assistant")
    alone = TrainConfig(model="demo-tiny", dataset="assistant", deepspeed="zero2")
    assert "processes to 2" in launcher.check_launchable(alone)["deepspeed"]
    assert "进程数" in launcher.check_launchable(alone, "zh")["deepspeed"]
    two = TrainConfig(model="demo-tiny", dataset="assistant", deepspeed="zero3", num_processes=2)
    assert launcher.check_launchable(two) == {}
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepspeed" else real(name, *a))
    assert "requirements.txt" in launcher.check_launchable(two)["deepspeed"]


def test_trackers_are_opt_in_and_checked(monkeypatch):
    from core.train import trackers

    assert trackers.report_to(TrainConfig()) == ["tensorboard"]  # nothing is sent by default
    assert trackers.tracker_errors(TrainConfig()) == {}
    monkeypatch.setattr(trackers, "installed", lambda name: False)
    assert "pip install wandb" in str(trackers.tracker_errors(TrainConfig(trackers="wandb"))["trackers"])
    assert "mlflow" in str(trackers.tracker_errors(TrainConfig(trackers="mlflow"))["trackers"])
    monkeypatch.setattr(trackers, "installed", lambda name: True)
    monkeypatch.delenv("SWANLAB_API_KEY", raising=False)
    monkeypatch.delenv("SWANLAB_MODE", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")
    assert "swanlab login" in trackers.tracker_errors(TrainConfig(trackers="swanlab"))["trackers"].render("en")
    monkeypatch.setenv("SWANLAB_MODE", "local")
    cfg = TrainConfig(trackers="swanlab")
    assert trackers.tracker_errors(cfg) == {} and trackers.report_to(cfg) == ["tensorboard", "swanlab"]


def test_gpu_speed_plan_falls_back_and_says_so(monkeypatch):
    import importlib.util

    from core.train.gpu_speed import speed_plan

    assert speed_plan(TrainConfig(packing=True), on_gpu=False).trainer_arguments() == {}  # off on CPU
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    plan = speed_plan(TrainConfig(packing=True), on_gpu=True)
    assert plan.trainer_arguments() == {} and not plan.flash_attention
    assert any("Liger kernels: not installed" in n for n in plan.notes) and any("SDPA" in n for n in plan.notes)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    plan = speed_plan(TrainConfig(packing=True), on_gpu=True)
    assert plan.trainer_arguments() == {"use_liger_kernel": True} and plan.flash_attention
    assert speed_plan(TrainConfig(gpu_kernels=False), on_gpu=True).trainer_arguments() == {}
