"""The seam between the engine and the methods: a `Job` to explain, the `RawAttribution` a method
returns, the `AttributionMethod` protocol, and the registry that finds methods by name.

A method is a frozen dataclass whose fields are its options; `get_method("ig", steps=50)` builds
one. Methods receive jobs of one exact token length, so they can batch rows without padding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textlens.attribution.encoding import Encoded
from textlens.attribution.targets import Target
from textlens.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from textlens.attribution.runner import Runner


@dataclass(frozen=True)
class Job:
    """One (input, target) pair to attribute; `x` holds its word embeddings (L, H)."""

    encoded: Encoded
    target: Target
    x: torch.Tensor
    token_types: torch.Tensor
    baseline_ids: tuple[int, ...]


@dataclass(frozen=True)
class RawAttribution:
    """Per-token scores of one job, and the evidence that comes with them."""

    scores: np.ndarray
    steps: int
    completeness_error: float | None = None
    output: float | None = None  # F(x)
    baseline_output: float | None = None  # F(baseline)


@runtime_checkable
class AttributionMethod(Protocol):
    name: str
    description: str

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        """Attribute jobs that share one token length."""
        ...


_REGISTRY: dict[str, type] = {}
_ALIASES: dict[str, str] = {}


def register(name: str, *aliases: str) -> Callable[[type], type]:
    def add(cls: type) -> type:
        _REGISTRY[name] = cls
        for alias in aliases:
            _ALIASES[alias] = name
        return cls
    return add


def _load_builtin() -> None:
    from textlens.attribution import (  # noqa: F401  (importing registers them)
        gradient_x_input,
        integrated_gradients,
        loss_attribution,
        occlusion,
        saliency,
    )


def list_methods() -> dict[str, str]:
    """Registered method names and their one-line descriptions."""
    _load_builtin()
    return {name: cls.description for name, cls in sorted(_REGISTRY.items())}


def canonical_name(name: str) -> str:
    _load_builtin()
    key = name.lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise InputError(f"Unknown attribution method '{name}'.",
                         f"use one of: {', '.join(sorted(_REGISTRY))} (see `textlens methods`).")
    return key


def get_method(name: str, **options: Any) -> AttributionMethod:
    """Build a method by name or alias with its options (unknown options are an error)."""
    cls = _REGISTRY[canonical_name(name)]
    fields = set(getattr(cls, "__dataclass_fields__", {}))
    unknown = sorted(k for k, v in options.items() if v is not None and k not in fields)
    if unknown:
        raise InputError(f"Method '{name}' takes no option(s) {', '.join(unknown)}.",
                         f"its options are: {', '.join(sorted(fields)) or 'none'}.")
    return cls(**{k: v for k, v in options.items() if v is not None})
