"""Texts used by more than one page."""

TEXTS = {
    "common.refresh": {"en": "Refresh", "zh": "刷新"},
    "common.delete": {"en": "Delete", "zh": "删除"},
    "common.confirm_delete": {"en": "Yes, delete it", "zh": "确认删除"},
    "common.none": {"en": "(none)", "zh": "（无）"},
    "common.model": {"en": "Model", "zh": "模型"},
    "common.dataset": {"en": "Dataset", "zh": "数据集"},
    "common.run": {"en": "Run", "zh": "训练任务"},
    "common.no_models": {
        "en": "No model folder found. Build the offline demo model to try the whole loop now.",
        "zh": "没有找到模型文件夹。可以先构建离线演示模型，马上体验完整流程。",
    },
    "common.build_demo": {"en": "Build demo model (demo-tiny)", "zh": "构建演示模型 (demo-tiny)"},
    "common.unload_models": {"en": "Unload models from memory", "zh": "从内存卸载模型"},
    "common.unloaded": {"en": "Models unloaded.", "zh": "模型已卸载。"},
    "common.building_demo": {"en": "Building demo-tiny…", "zh": "正在构建 demo-tiny…"},
    "common.loading_model": {"en": "Loading {model}…", "zh": "正在加载 {model}…"},
    "common.step_n": {"en": "step {step}", "zh": "第 {step} 步"},
    "common.final_step": {"en": "final (step {step})", "zh": "最终（第 {step} 步）"},
    "common.quantization": {"en": "Load the base as", "zh": "基座加载精度"},
    "common.quant.none": {"en": "16/32-bit (no quantization)", "zh": "16/32 位（不量化）"},
    "common.quant.4bit": {"en": "4-bit NF4", "zh": "4 位 NF4"},
    "common.quant.8bit": {"en": "8-bit", "zh": "8 位"},
}
