"""The one exception type for mistakes a user can make (bad file, unknown run, absurd setting).

Pages show ``str(err)`` as a message and the CLI prints it on one line with exit code 2;
anything else escaping is a bug. ``field`` names the form field the message belongs to.
"""
from __future__ import annotations


class UserError(Exception):
    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.field = field
        self.hint = hint

    def __str__(self) -> str:  # message plus what to do next, on one line
        base = super().__str__()
        return f"{base} {self.hint}" if self.hint else base
