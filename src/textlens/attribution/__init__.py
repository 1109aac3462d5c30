"""Attribution engine: which tokens, words and characters drove a prediction, with evidence.

`explain(...)` is the entry point; `list_methods()` the registry of methods (one per module).
"""

from __future__ import annotations

from typing import Any

__all__ = ["explain", "list_methods", "get_method", "Explanation", "QAExplanation",
           "MultiExplanation"]


def __getattr__(name: str) -> Any:
    if name == "explain":
        from textlens.attribution.api import explain

        return explain
    if name in ("list_methods", "get_method"):
        from textlens.attribution import registry

        return getattr(registry, name)
    if name in ("Explanation", "QAExplanation", "MultiExplanation"):
        from textlens.attribution import explanation

        return getattr(explanation, name)
    raise AttributeError(f"module 'textlens.attribution' has no attribute {name!r}")
