"""Choice options checked at the API boundary, before any work, with the valid values listed."""

from __future__ import annotations

from collections.abc import Iterable

from textlens.errors import InputError


def check_choice(option: str, value: object, valid: Iterable[object]) -> None:
    """Refuse `value` for `option` unless it is one of `valid` (a `TextlensError` that lists
    them), so a typo fails in milliseconds, not after minutes of work."""
    allowed = tuple(valid)
    if value not in allowed:
        raise InputError(f"Unknown {option} {value!r}.",
                         f"use one of: {', '.join(str(v) for v in allowed if v is not None)}.")
