"""All UI text, in English and Chinese, in one folder.

Each module here (one per page or area) defines ``TEXTS = {key: {"en": ..., "zh": ...}}``;
they are merged on first use, and a duplicate key is an error so two pages never fight
over one. ``t(key, lang, **fmt)`` returns the text, falling back to English.

    >>> t("home.title", "zh")   # doctest: +SKIP
    '微调工作台'
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

LANGUAGES = {"en": "English", "zh": "中文"}


@lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for key, texts in getattr(module, "TEXTS", {}).items():
            if key in merged:
                raise KeyError(f"UI text key {key!r} defined twice (in {info.name})")
            merged[key] = texts
    return merged


def t(key: str, lang: str = "en", **fmt) -> str:
    texts = catalog().get(key)
    if texts is None:
        return key  # a missing key shows itself rather than crashing a page
    text = texts.get(lang) or texts.get("en") or key
    return text.format(**fmt) if fmt else text
