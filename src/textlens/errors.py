"""User-facing errors: each names the problem and the fix, and the CLI prints it without a traceback."""

from __future__ import annotations


class TextlensError(Exception):
    """An error caused by input or configuration that the user can fix."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\nFix: {fix}")


class DataError(TextlensError):
    """Missing file, column or split; unreadable or malformed rows."""


class ModelError(TextlensError):
    """A model or tokenizer that cannot be loaded or does not fit the task."""


class InputError(TextlensError):
    """A text or question the model cannot take as given (empty, over-long, not UTF-8)."""


class NotFoundError(TextlensError):
    """A named thing (run, sample, column, slice) that does not exist; the fix lists what does."""


class LimitError(InputError):
    """A request larger than the server takes (body size, element count, work per request)."""


class BusyError(DataError):
    """A resource held by another process for longer than the retries wait (a locked store)."""
