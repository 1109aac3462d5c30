"""Find an issue type by its `issue_name`: the built-in types register on import (`base.register`),
so this module imports them; `base` itself imports none of them (no cycle)."""

from __future__ import annotations

from typing import Any

import textlens.latent.issues.classification  # noqa: F401  (importing registers)
import textlens.latent.issues.qa  # noqa: F401
from textlens.errors import InputError
from textlens.latent.issues.base import REGISTERED, IssueType


def list_issue_types(task: str | None = None) -> dict[str, str]:
    """Registered issue names (of one task, or all) and their one-line descriptions."""
    return {name: cls.description for name, cls in sorted(REGISTERED.items())
            if task is None or cls.task == task}


def get_issue_type(name: str, **options: Any) -> IssueType:
    """Build an issue type by its `issue_name` (options are its dataclass fields)."""
    if name not in REGISTERED:
        raise InputError(f"Unknown label issue type '{name}'.",
                         f"use one of: {', '.join(sorted(REGISTERED))}.")
    return REGISTERED[name](**options)
