"""The one error type for user mistakes.

A `UserError` is something the user can fix: a bad config, a missing file, an unknown persona. The CLI
prints it as a single line (``error: <where>: <what>; <fix>``) and exits with code 2, without a traceback
unless ``--debug`` is given. Bugs are ordinary exceptions and keep their tracebacks.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_USER_ERROR = 2


class UserError(Exception):
    """A mistake in the user's input, reported as one line: where, what is wrong, how to fix it."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.where = where
        self.message = message
        self.fix = fix
        super().__init__(self.line())

    def line(self) -> str:
        """The one-line message the CLI prints: ``<where>: <message>; <fix>``."""
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f"; {self.fix}"
        return text


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A hint naming the closest of `choices` to `name`, or listing them all when none is close."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return "choose one of: " + ", ".join(choices) if choices else "none are defined"
