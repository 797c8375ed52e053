"""Headers of the tables core builds with stable column keys (CompareResult.table/metrics_table):
pages rename ``table.col.<column>``."""

TEXTS = {
    "table.col.prompt": {"en": "Prompt", "zh": "提示"},
    "table.col.reference": {"en": "Reference", "zh": "参考答案"},
    "table.col.model": {"en": "Model", "zh": "模型"},
    "table.col.step": {"en": "Step", "zh": "步数"},
    "table.col.seconds": {"en": "Seconds", "zh": "耗时（秒）"},
}
