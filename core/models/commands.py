"""CLI: `models` (list; info / download / downloads / cancel / delete) `demo-model` (build demo-tiny offline) and
`export merge|bundle|adapter-zip` (merge an adapter into its base, a deployment bundle, or a zip).

    python -m core models --json
    python -m core models info demo-tiny --json
    python -m core models download Qwen/Qwen2.5-0.5B-Instruct --endpoint https://hf-mirror.com --wait --json
    python -m core models delete Qwen2.5-0.5B-Instruct --json
    python -m core export merge --model demo-tiny --adapter RUN/checkpoint-100 --out /srv/merged --json
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

    def info(args) -> dict:
        from core.models.info import model_details

        return model_details(args.name).to_dict()

    def download(args) -> dict:
        from core.models import download as dl

        request = dl.DownloadRequest(repo_id=args.repo_id, source=args.source, endpoint=args.endpoint or "",
                                     revision=args.revision, name=args.name or "",
                                     allow_patterns=[p for p in (args.include or "").split(",") if p.strip()])
        status = dl.start_download(request)
        if args.wait:
            status = dl.wait_download(status.job_id)
            if status.status == "failed" and status.user_error() is not None:
                raise status.user_error()
        return _download_payload(status)

    def downloads(args) -> dict:
        from core.models.download import list_downloads

        return {"downloads": [_download_payload(s) for s in list_downloads()]}

    def cancel(args) -> dict:
        from core.models.download import cancel_download

        return _download_payload(cancel_download(args.job_id))

    def delete(args) -> dict:
        from core.models.info import delete_model

        return delete_model(args.name)

    parser = command(sub, "models", models, "list local model folders (workspace/models, MODEL_DIRS, exports); "
                                            "info / download / downloads / cancel / delete")
    actions = parser.add_subparsers(dest="models_action", required=False)
    p = command(actions, "info", info, "what a model is (architecture, parameters, dtype, context, license) "
                                       "and whether it fits this machine for chat and training")
    p.add_argument("name", help="a listed model name or a model folder")
    p = command(actions, "download", download, "download a model by name as a background job (resumes)")
    p.add_argument("repo_id", help="owner/name on the hub, e.g. Qwen/Qwen2.5-0.5B-Instruct")
    p.add_argument("--source", choices=("hf", "modelscope"), default="hf")
    p.add_argument("--endpoint", help="hub URL or mirror (default: HF_ENDPOINT, else huggingface.co)")
    p.add_argument("--revision", default="main", help="branch, tag or commit")
    p.add_argument("--name", help="folder name under workspace/models (default: the repo's last part)")
    p.add_argument("--include", help="only files matching these comma-separated patterns, e.g. '*.json,*.safetensors'")
    p.add_argument("--wait", action="store_true", help="wait until the download ends")
    command(actions, "downloads", downloads, "list download jobs")
    p = command(actions, "cancel", cancel, "cancel a running download (the files so far are kept for a resume)")
    p.add_argument("job_id")
    p = command(actions, "delete", delete, "delete a model folder inside the workspace (models/ or exports/)")
    p.add_argument("name")
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

def _download_payload(status) -> dict:
    payload = {"job_id": status.job_id, "name": status.name, "path": status.path, "bytes": status.bytes_done,
               "status": status.status, "bytes_total": status.bytes_total, "commit": status.commit}
    if status.user_error() is not None:
        payload["error"] = str(status.user_error())
    return payload

