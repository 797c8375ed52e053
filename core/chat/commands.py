"""CLI: `chat` — one reply from a model, optionally with a run's adapter (greedy by default)."""
from __future__ import annotations

from core.cli import command


def add_generation_args(parser, max_new_tokens: int = 256) -> None:
    """The generation settings as options (shared by `chat` and `compare`); greedy by default."""
    parser.add_argument("--max-new-tokens", type=int, default=max_new_tokens)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=0.9)
    parser.add_argument("--top-k", type=int, default=50)
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--system", default="")
    parser.add_argument("--quantization", choices=["none", "4bit", "8bit"], default="none")


def settings_from_args(args):
    """GenerationSettings from the options added by add_generation_args."""
    from core.chat.generate import GenerationSettings

    return GenerationSettings(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                              top_p=args.top_p, top_k=args.top_k,
                              repetition_penalty=args.repetition_penalty, system=args.system or "")


def register(sub) -> None:
    def chat(args) -> dict:
        from core.chat.generate import generate_reply
        from core.models.loading import load_base
        from core.train.runs import resolve_adapter

        adapter = resolve_adapter(args.adapter) if args.adapter else None
        lm = load_base(args.model, quantization=args.quantization)
        settings = settings_from_args(args)
        text = generate_reply(lm, [{"role": "user", "content": args.prompt}], settings, adapter=adapter)
        return {"text": text, "model": str(lm.path), "adapter": str(adapter) if adapter else None}

    p = command(sub, "chat", chat, "answer one prompt (greedy unless --temperature > 0)")
    p.add_argument("--model", required=True, help="listed model name or folder")
    p.add_argument("--adapter", help="RUN, RUN/checkpoint-N or RUN/adapter")
    p.add_argument("--prompt", required=True)
    add_generation_args(p)
