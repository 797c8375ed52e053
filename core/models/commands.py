"""CLI: `models` (list local model folders) and `demo-model` (build demo-tiny offline)."""
from __future__ import annotations

from core.cli import command


def register(sub) -> None:
    def models(args) -> dict:
        from core.models.registry import list_models

        return {"models": [m.to_dict() for m in list_models()]}

    def demo(args) -> dict:
        from core.models.demo import ensure_demo_model

        return {"path": str(ensure_demo_model())}

    command(sub, "models", models, "list local model folders (workspace/models, MODEL_DIRS, exports)")
    command(sub, "demo-model", demo, "build the offline demo model demo-tiny (if missing)")
