"""The one exception type for mistakes a user can make (bad file, unknown run, absurd setting).

A ``UserError`` carries a message key from ``core.i18n`` plus its parameters, so the page can
say it in the user's language while the CLI prints English (one line, exit code 2)::

    raise UserError("err.kb.not_found", name=name, field="name", hint="err.kb.not_found.hint")

``str(err)`` is the English text, ``err.text(lang)`` the text in ``lang``. A parameter may be a
``Msg`` (a nested translatable text, e.g. a row's validation reason); it is rendered in the same
language. ``field`` names the form field the message belongs to; ``hint`` (a key, a ``Msg`` or
plain text) says what to do next. Anything else escaping to a page or the CLI is a bug.
"""
from __future__ import annotations

from core.i18n import Joined, Msg


class UserError(Exception):
    def __init__(self, message_key: str | Msg, /, *, field: str | None = None,
                 hint: str | Msg | None = None, **params):
        self.message = message_key if isinstance(message_key, Msg) else Msg(message_key, **params)
        self.hint = hint if hint is None or isinstance(hint, Msg) else Msg(hint, **params)
        self.field = field
        super().__init__(self.message.key)

    @property
    def key(self) -> str:
        return self.message.key

    @property
    def params(self) -> dict:
        return self.message.params

    def text(self, lang: str = "en") -> str:
        """The message plus what to do next, on one line, in ``lang``."""
        return self.msg().render(lang)

    def msg(self) -> Msg:
        """The same text (message plus hint) as a ``Msg``, to keep and render later."""
        return Joined([self.message, self.hint]) if self.hint is not None else self.message

    def __str__(self) -> str:
        return self.text("en")
