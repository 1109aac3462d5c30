"""Checks on user text before it reaches a model: empty, not UTF-8, or longer than the model takes."""

from __future__ import annotations

import warnings

from textlens.errors import InputError


def as_text(value: str | bytes, what: str = "text") -> str:
    """Decode bytes as UTF-8 and refuse empty text, with messages that say what to do."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"The {what} is not valid UTF-8 (byte {exc.start}).",
                             "re-encode it as UTF-8.") from exc
    if not isinstance(value, str):
        raise InputError(f"The {what} must be a string, got {type(value).__name__}.")
    if not value.strip():
        raise InputError(f"The {what} is empty.", f"pass a non-empty {what}.")
    return value


def check_length(n_tokens: int, max_length: int, what: str = "text", truncate: bool = False) -> None:
    """Refuse an over-long input, or announce its truncation when `truncate` is set."""
    if n_tokens <= max_length:
        return
    if truncate:
        warnings.warn(f"The {what} has {n_tokens} tokens; truncated to the model's {max_length}.",
                      stacklevel=3)
        return
    raise InputError(
        f"The {what} has {n_tokens} tokens, more than the model's limit of {max_length}.",
        "shorten it, split it into sentences, or pass truncate=True (--truncate) to cut it.",
    )
