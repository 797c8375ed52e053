"""CLI: `models` (list local model folders), `demo-model` (build demo-tiny offline) and
`export merge|bundle|adapter-zip` (merge an adapter into its base, a deployment bundle, or a zip).

    python -m core export merge --model demo-tiny --adapter RUN/checkpoint-100 --out /srv/merged --json
    python -m core export adapter-zip --adapter RUN/adapter --out adapter.zip --json
"""
from __future__ import annotations

from core.cli import command, stderr_progress


def export_merge(args) -> dict:
    from core.models.export import merge_adapter

    result = merge_adapter(args.model, args.adapter, out=args.out, name=args.name, dtype=args.dtype,
                           max_shard_size=args.max_shard_size, overwrite=args.overwrite,
                           progress=None if args.quiet else stderr_progress)
    return result.to_dict()


def export_bundle(args) -> dict:
    from core.models.bundle import write_bundle

    return write_bundle(args.model, args.adapter, args.out, overwrite=args.overwrite)


def export_adapter_zip(args) -> dict:
    from core.models.export import write_adapter_zip

    path = write_adapter_zip(args.adapter, args.out, include_training_state=args.training_state)
    return {"path": str(path), "size_bytes": path.stat().st_size}


def register(sub) -> None:
    def models(args) -> dict:
        from core.models.registry import list_models

        return {"models": [m.to_dict() for m in list_models()]}

    def demo(args) -> dict:
        from core.models.demo import ensure_demo_model

        return {"path": str(ensure_demo_model())}

    command(sub, "models", models, "list local model folders (workspace/models, MODEL_DIRS, exports)")
    command(sub, "demo-model", demo, "build the offline demo model demo-tiny (if missing)")

    export = sub.add_parser("export", help="merge an adapter into its base, or zip an adapter")
    esub = export.add_subparsers(dest="export_command", required=True)
    m = command(esub, "merge", export_merge,
                "merge an adapter into its (unquantised) base and write a standard HF model folder")
    m.add_argument("--model", required=True, help="the base the run trained on")
    m.add_argument("--adapter", required=True, help="RUN, RUN/checkpoint-N, RUN/adapter or a folder")
    m.add_argument("--out", help="target folder (default workspace/exports/<name>)")
    m.add_argument("--name", help="folder name under workspace/exports/ (default RUN-checkpoint)")
    m.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"], default="auto",
                   help="saved precision; auto = bf16 on GPU, fp32 on CPU")
    m.add_argument("--max-shard-size", default="2GB")
    m.add_argument("--overwrite", action="store_true", help="replace an existing target folder")
    m.add_argument("--quiet", action="store_true")
    b = command(esub, "bundle", export_bundle, "merged model + README with vLLM/SGLang/transformers serve commands")
    b.add_argument("--model", required=True, help="the base the run trained on")
    b.add_argument("--adapter", required=True, help="RUN or RUN/checkpoint-N")
    b.add_argument("--out", required=True, help="bundle folder (model/, README.md, client_example.py)")
    b.add_argument("--overwrite", action="store_true", help="replace an existing bundle folder")
    z = command(esub, "adapter-zip", export_adapter_zip, "zip an adapter folder for download")
    z.add_argument("--adapter", required=True, help="RUN, RUN/checkpoint-N, RUN/adapter or a folder")
    z.add_argument("--out", required=True, help="zip file (or a folder to put <run>-<checkpoint>.zip in)")
    z.add_argument("--training-state", action="store_true", help="include optimizer/scheduler state")
