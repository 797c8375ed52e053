"""All UI text, in English and Chinese, in one folder.

Each module here (one per page or area) defines ``TEXTS = {key: {"en": ..., "zh": ...}}``;
they are merged on first use, and a duplicate key is an error so two pages never fight
over one. ``t(key, lang, **fmt)`` returns the text, falling back to English; ``Msg(key, **fmt)`` is the
same text kept unrendered until the reader's language is known (errors, reasons, progress).

    >>> t("home.title", "zh")   # doctest: +SKIP
    '微调工作台'
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

LANGUAGES = {"en": "English", "zh": "中文"}
FULL_STOPS_WITHOUT_SPACE = ("。", "！", "？", "：", "；")  # Chinese punctuation that takes no space after it


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
        return key  # a missing key (or a plain sentence) shows itself rather than crashing a page
    text = texts.get(lang) or texts.get("en") or key
    if not fmt:
        return text
    fmt = {name: value.render(lang) if isinstance(value, Msg) else value for name, value in fmt.items()}
    return text.format(**fmt)


class Msg:
    """A text to be said later in the reader's language: a key plus its parameters.

    Core code returns or raises these (validation reasons, progress, errors) without knowing the
    language; the page renders them with ``render(lang)``, the CLI with ``str()`` (English).
    A parameter that is itself a ``Msg`` is rendered in the same language.

        >>> Msg("common.model").render("zh")   # doctest: +SKIP
        '模型'
    """

    __slots__ = ("key", "params")

    def __init__(self, key: str, **params):
        self.key = key
        self.params = params

    def render(self, lang: str = "en") -> str:
        return t(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Msg({self.key!r}, **{self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Msg) and (self.key, self.params) == (other.key, other.params)

    def __hash__(self) -> int:
        return hash(self.key)


def every_language(text) -> "dict[str, str] | None":
    """``{lang: text}`` for every language (a ``Msg``) or the text as given (plain, None), to store
    a message in JSON and still show it in the reader's language later."""
    if isinstance(text, Msg):
        return {code: text.render(code) for code in LANGUAGES}
    return text


class Joined(Msg):
    """Several texts (Msg or plain) said one after another in the same language, e.g. a list of problems.

        >>> str(Joined([Msg("common.model"), "x"], sep=", "))   # doctest: +SKIP
        'Model, x'
    """

    __slots__ = ("items", "sep")

    def __init__(self, items, sep: "str | Msg" = " "):
        super().__init__("")
        self.items = list(items)
        self.sep = sep

    def render(self, lang: str = "en") -> str:
        sep = self.sep.render(lang) if isinstance(self.sep, Msg) else self.sep
        texts = [i.render(lang) if isinstance(i, Msg) else str(i) for i in self.items]
        if sep != " ":
            return sep.join(texts)
        out = ""  # sentences: a space between them, none after a Chinese full stop
        for text in texts:
            out += text if not out or out.endswith(FULL_STOPS_WITHOUT_SPACE) else " " + text
        return out

    def __repr__(self) -> str:
        return f"Joined({self.items!r}, sep={self.sep!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Joined) and (self.items, self.sep) == (other.items, other.sep)

    def __hash__(self) -> int:
        return hash(self.sep)
