"""Texts of the Chat page."""

TEXTS = {
    "chat.title": {"en": "Chat", "zh": "对话"},
    "chat.mode": {"en": "Mode", "zh": "模式"},
    "chat.mode_single": {"en": "Single model", "zh": "单模型"},
    "chat.mode_side": {"en": "Side by side: base vs fine-tuned", "zh": "并排：基座 vs 微调"},
    "chat.adapter": {"en": "Fine-tuned adapter", "zh": "微调适配器"},
    "chat.no_adapter": {"en": "(base model only)", "zh": "（仅基座模型）"},
    "chat.no_adapters_yet": {
        "en": "No trained adapters yet: train a run on the Train page, then pick a checkpoint here.",
        "zh": "还没有训练好的适配器：请先在“训练”页面训练，然后在这里选择检查点。",
    },
    "chat.settings": {"en": "Generation settings", "zh": "生成参数"},
    "chat.max_new_tokens": {"en": "Max new tokens", "zh": "最大生成长度"},
    "chat.temperature": {"en": "Temperature (0 = greedy)", "zh": "温度（0 = 贪心解码）"},
    "chat.top_p": {"en": "Top-p", "zh": "Top-p"},
    "chat.top_k": {"en": "Top-k", "zh": "Top-k"},
    "chat.repetition_penalty": {"en": "Repetition penalty", "zh": "重复惩罚"},
    "chat.system": {"en": "System prompt", "zh": "系统提示词"},
    "chat.clear": {"en": "Clear conversation", "zh": "清空对话"},
    "chat.stop": {"en": "Stop generating", "zh": "停止生成"},
    "chat.stopped": {"en": "(stopped)", "zh": "（已停止）"},
    "chat.input": {"en": "Ask something … e.g. Who are you?", "zh": "输入问题……例如：你是谁？"},
    "chat.base": {"en": "Base model", "zh": "基座模型"},
    "chat.tuned": {"en": "Fine-tuned: {name}", "zh": "微调：{name}"},
    "chat.pick_adapter": {
        "en": "Pick a fine-tuned adapter in the sidebar to compare it with the base model.",
        "zh": "请在侧边栏选择一个微调适配器，与基座模型对比。",
    },
    "chat.shared_weights": {
        "en": "Both panes answer together in one batched generation on one copy of the base weights; only the "
              "right pane's row uses the adapter.",
        "zh": "两栏在同一次批量生成中同时作答，共用同一份基座权重；只有右栏那一行启用适配器。",
    },
    "chat.shared_weights_arena": {
        "en": "Every pane answers together in one batched generation on one copy of the base weights, each row "
              "with its own checkpoint.",
        "zh": "所有栏在同一次批量生成中同时作答，共用同一份基座权重，每一行使用各自的检查点。",
    },
    "chat.loaded": {"en": "Loaded: {model} ({quant})", "zh": "已加载：{model}（{quant}）"},
    "chat.loads_on_first": {"en": "{model} loads with your first message.", "zh": "发送第一条消息时加载 {model}。"},
    "chat.error": {"en": "Generation failed: {error}", "zh": "生成失败：{error}"},
    "chat.rag_unavailable": {"en": "Knowledge base unavailable: {error}", "zh": "知识库不可用：{error}"},
}
