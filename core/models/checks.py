"""Is a model folder usable? The one place that checks weights, tokenizer and chat template.

Every loader goes through here (chat and compare via ``core.models.loading``, training before
launch and in the worker, token counts in ``core.data.stats``), so a broken folder ends in a
``UserError`` that names the file and says what to do, never in a library traceback:

- weights: every ``*.safetensors`` file opens (``safetensors.safe_open`` checks the header and
  that the data covers the file: a truncated or corrupt file fails), every shard named in an
  index exists;
- tokenizer: tokenizer files are present and ``AutoTokenizer`` loads them;
- chat template: renders a short conversation within ``TEMPLATE_SECONDS`` into at most
  ``MAX_TEMPLATE_CHARS`` characters (a template that raises, loops or explodes is refused).

    tokenizer = check_model_folder("workspace/models/Qwen2.5-0.5B-Instruct")
    prompt = render_chat_template(tokenizer, [{"role": "user", "content": "hi"}])
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from core.errors import UserError

TEMPLATE_SECONDS = 5.0  # a chat template renders in milliseconds; seconds means a loop gone wrong
MAX_TEMPLATE_CHARS = 200_000  # for the short sample conversation below
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
SAMPLE_CONVERSATION = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello, who are you?"},
    {"role": "assistant", "content": "I am an assistant."},
    {"role": "user", "content": "你好"},
]
_TEMPLATE_CODE = "<template>"  # the file name Jinja gives the code it compiles from a string


def check_weights(path: Path | str) -> None:
    """Every safetensors file of the folder opens, and every shard an index names exists."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    for index in sorted(path.glob("*.index.json")):
        try:
            shards = set((json.loads(index.read_text(encoding="utf-8")).get("weight_map") or {}).values())
        except (OSError, ValueError, AttributeError) as err:
            raise UserError("err.models.index_unreadable", file=index, reason=str(err)[:200],
                            hint="err.models.weights.hint") from None
        for shard in sorted(shards):
            if not (path / shard).is_file():
                raise UserError("err.models.shard_missing", file=path / shard, index=index.name,
                                hint="err.models.weights.hint")
    for file in sorted(path.glob("*.safetensors")):
        try:
            with safe_open(str(file), framework="np"):
                pass
        except (SafetensorError, OSError, ValueError) as err:
            raise UserError("err.models.weights_damaged", file=file, reason=str(err)[:200],
                            hint="err.models.weights.hint") from None


def check_tokenizer_files(path: Path | str) -> None:
    path = Path(path)
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise UserError("err.models.tokenizer_missing", path=path, files=", ".join(TOKENIZER_FILES),
                        hint="err.models.tokenizer.hint")


def load_tokenizer(path: Path | str):
    """``AutoTokenizer`` of a local model folder (never downloads), with a pad token; UserError if broken."""
    from transformers import AutoTokenizer

    path = Path(path)
    check_tokenizer_files(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except Exception as err:  # tokenizers/sentencepiece/json raise many types for a damaged file
        raise UserError("err.models.tokenizer_failed", path=path, reason=f"{type(err).__name__}: {str(err)[:200]}",
                        hint="err.models.tokenizer.hint") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def template_file(tokenizer) -> str:
    """The file the tokenizer's chat template came from (for messages), or its folder."""
    folder = Path(getattr(tokenizer, "name_or_path", "") or ".")
    for name in ("chat_template.jinja", "chat_template.json", "tokenizer_config.json"):
        if (folder / name).is_file():
            return str(folder / name)
    return str(folder)


def _call_with_deadline(fn, seconds: float):
    """``fn()``, raising TimeoutError once ``seconds`` pass while template code runs.

    A trace function on this thread checks the clock on every line of Jinja-compiled template
    code (and nowhere else, so the cost is small); a signal alarm is no option because Streamlit
    runs pages outside the main thread.
    """
    deadline = time.monotonic() + seconds
    previous = sys.gettrace()

    def on_line(frame, event, arg):
        if time.monotonic() > deadline:
            raise TimeoutError
        return on_line

    def on_call(frame, event, arg):
        if frame.f_code.co_filename == _TEMPLATE_CODE:
            return on_line(frame, event, arg)
        return previous(frame, event, arg) if previous else None

    sys.settrace(on_call)
    try:
        return fn()
    finally:
        sys.settrace(previous)


def render_chat_template(tokenizer, messages: list[dict], *, add_generation_prompt: bool = True,
                         seconds: float | None = None, **kwargs) -> str:
    """``tokenizer.apply_chat_template(..., tokenize=False)`` under a time limit; UserError naming the file."""
    from core.chat.templates import ensure_chat_template

    ensure_chat_template(tokenizer)
    seconds = seconds or TEMPLATE_SECONDS
    try:
        return _call_with_deadline(lambda: tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=add_generation_prompt, **kwargs), seconds)
    except TimeoutError:
        raise UserError("err.models.template_slow", file=template_file(tokenizer), seconds=seconds,
                        hint="err.models.template.hint") from None
    except UserError:
        raise
    except Exception as err:  # jinja2.TemplateError, raise_exception(...), a bad filter, a TypeError inside
        raise UserError("err.models.template_failed", file=template_file(tokenizer),
                        reason=f"{type(err).__name__}: {str(err)[:200]}", hint="err.models.template.hint") from None


def check_chat_template(tokenizer) -> None:
    """The template renders a short conversation in time and to a sane length."""
    prompt = render_chat_template(tokenizer, SAMPLE_CONVERSATION)
    if not isinstance(prompt, str) or len(prompt) > MAX_TEMPLATE_CHARS:
        size = len(prompt) if isinstance(prompt, str) else 0
        raise UserError("err.models.template_long", file=template_file(tokenizer), n=f"{size:,}",
                        hint="err.models.template.hint")


def check_config(path: Path | str) -> None:
    """config.json exists and is JSON (a UserError naming the file otherwise)."""
    path = Path(path)
    config = path / "config.json"
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("err.models.no_config", path=path, hint="err.models.weights.hint") from None
    except (OSError, ValueError) as err:
        raise UserError("err.models.config_unreadable", file=config, reason=str(err)[:200],
                        hint="err.models.weights.hint") from None


def check_model_folder(path: Path | str, *, weights: bool = True):
    """config.json, weights, tokenizer and chat template of ``path``; returns the loaded tokenizer."""
    path = Path(path)
    check_config(path)
    if weights:
        check_weights(path)
    tokenizer = load_tokenizer(path)
    check_chat_template(tokenizer)
    return tokenizer
