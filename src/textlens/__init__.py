"""textlens: explain transformer text models and debug their data.

The package imports nothing heavy at import time; `textlens.explain` is resolved lazily so that
`import textlens` and `textlens --help` stay instant.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "explain", "load_model"]


def __getattr__(name: str) -> Any:
    if name == "explain":
        from textlens.attribution.api import explain

        return explain
    if name == "load_model":
        from textlens.models.loading import load_model

        return load_model
    raise AttributeError(f"module 'textlens' has no attribute {name!r}")
