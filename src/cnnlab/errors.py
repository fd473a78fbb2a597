"""The one exception type for mistakes a user can fix (exit code 2 on the command line)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """Bad input: the message says what is wrong and what to do; no traceback is shown."""


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like `word`, to suggest after a typo, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' when a choice is close to `word`, else ''."""
    match = closest(word, choices)
    return f" (did you mean '{match}'?)" if match else ""
