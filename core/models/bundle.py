"""A deployment bundle: the merged model plus a README that makes it behave outside as it did inside.

``DIR/model/`` is the checkpoint merged into its base (core.models.export.merge_adapter: a standard HF
folder), ``DIR/README.md`` gives the exact vLLM, SGLang and ``transformers serve`` commands, the
generation settings that break exported models most often (chat template, stop tokens, greedy
settings of the parity check) and an ``openai`` client snippet; ``DIR/client_example.py`` is that
snippet as a file.

    python -m core export bundle --model demo-tiny --adapter RUN/checkpoint-20 --out /srv/bundle --json
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path

from core import workspace
from core.errors import UserError

MODEL_SUBDIR = "model"


def generation_settings(model_dir: Path) -> dict:
    """Chat template, stop tokens and generation defaults, read from the folder (no model load)."""
    tok = workspace.read_json(model_dir / "tokenizer_config.json", {}) or {}
    gen = workspace.read_json(model_dir / "generation_config.json", {}) or {}
    template_file = model_dir / "chat_template.jinja"
    template = template_file.read_text(encoding="utf-8") if template_file.is_file() else tok.get("chat_template")

    def token_text(value):
        return value.get("content") if isinstance(value, dict) else value

    eos_ids = gen.get("eos_token_id")
    stop = [t for t in (token_text(tok.get("eos_token")),) if t]
    for marker in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>"):
        if template and marker in template and marker not in stop:
            stop.append(marker)
    return {"chat_template": template, "chat_template_file": str(template_file) if template_file.is_file() else None,
            "eos_token_id": eos_ids if isinstance(eos_ids, list) or eos_ids is None else [eos_ids],
            "stop_tokens": stop, "pad_token": token_text(tok.get("pad_token")),
            "generation_config": {k: v for k, v in gen.items() if not k.startswith("_")}}


def serve_commands(model_dir: Path, name: str, settings: dict, port: int = 8000) -> dict[str, str]:
    path = shlex.quote(str(model_dir))
    template = settings["chat_template_file"]
    vllm = f"vllm serve {path} --served-model-name {shlex.quote(name)} --port {port} --generation-config auto"
    sglang = (f"python -m sglang.launch_server --model-path {path} --served-model-name {shlex.quote(name)} "
              f"--port {port}")
    if template:
        vllm += f" --chat-template {shlex.quote(template)}"
    return {"vllm": vllm, "sglang": sglang, "transformers": f"transformers serve {path} --port {port}", "port": port}


def client_snippet(name: str, port: int, stop: list[str]) -> str:
    return (
        "from openai import OpenAI\n\n"
        f'client = OpenAI(base_url="http://127.0.0.1:{port}/v1", api_key="none")\n'
        "reply = client.chat.completions.create(\n"
        f"    model={name!r},\n"
        '    messages=[{"role": "user", "content": "Who are you?"}],\n'
        "    temperature=0,  # greedy, as the workbench's parity check\n"
        "    max_tokens=256,\n"
        f"    stop={stop!r},\n"
        ")\n"
        "print(reply.choices[0].message.content)\n")


def readme(name: str, base: str, adapter: str, commands: dict, settings: dict, snippet: str) -> str:
    template = settings["chat_template"] or "(none: clients must format prompts themselves)"
    return f"""# {name}

Merged by the fine-tuning workbench: base `{base}` + adapter `{adapter}`. The weights in `model/`
are a standard Hugging Face folder; no PEFT is needed to load them.

## Serve it (OpenAI-compatible, one of these on port {commands["port"]})

vLLM (GPU):

```bash
{commands["vllm"]}
```

SGLang (GPU):

```bash
{commands["sglang"]}
```

`transformers serve` (CPU or GPU; needs `pip install "transformers[serving]"`). Its model name in
requests is the folder path, not the name below:

```bash
{commands["transformers"]}
```

## Generation settings that must match

- Stop tokens: {", ".join(f"`{s}`" for s in settings["stop_tokens"]) or "(none)"}; eos_token_id = {settings["eos_token_id"]}
- Pad token: `{settings["pad_token"]}`
- The workbench's parity check decodes greedily (temperature 0, no repetition penalty).
- generation_config.json: `{json.dumps(settings["generation_config"], ensure_ascii=False)}`
- Chat template (in `model/chat_template.jinja` or tokenizer_config.json; servers read it from there):

```jinja
{template}
```

## Client

```python
{snippet}```
"""


def write_bundle(model: str, adapter: str, out: str | Path, port: int = 8000, overwrite: bool = False) -> dict:
    """Merge ``adapter`` into ``model`` under ``out/model`` and write the README and client example."""
    from core.models.export import merge_adapter

    out = Path(out).expanduser().resolve()
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError("err.bundle.exists", path=str(out), field="out", hint="err.bundle.exists.hint")
    out.mkdir(parents=True, exist_ok=True)
    result = merge_adapter(model, adapter, out=out / MODEL_SUBDIR, overwrite=overwrite)
    model_dir = Path(result.path)
    name = adapter.strip("/").replace("/", "-")
    settings = generation_settings(model_dir)
    commands = serve_commands(model_dir, name, settings, port)
    snippet = client_snippet(name, port, settings["stop_tokens"])
    workspace.atomic_write_text(out / "README.md", readme(name, str(model), adapter, commands, settings, snippet))
    workspace.atomic_write_text(out / "client_example.py", snippet)
    return {"path": str(out), "model_path": str(model_dir), "name": name, "readme": str(out / "README.md"),
            "size_bytes": workspace.dir_size(out), "commands": commands, "stop_tokens": settings["stop_tokens"],
            "has_chat_template": bool(settings["chat_template"])}
