"""The seam between the engine and the methods: a `Job` to explain, the `RawAttribution` a method
returns, the `AttributionMethod` protocol, and the registry that finds methods by name.

Methods live in `attribution/methods/`, one a module (as Captum's `attr/_core`); importing that
package registers each of them with `@register`, and `list_methods()` lists what registered (as
inseq's `list_feature_attribution_methods()`). A method is a frozen dataclass whose fields are its
options; `get_method("ig", steps=50)` builds one. Methods receive jobs of near-equal token length
(any lengths on an accelerator) and batch their rows right-padded with an attention mask
(`runner.pad_rows`), which leaves every row's output unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

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
    # LRP: F(input) minus the relevances' sum, the part its rules absorbed (biases, position and
    # token-type embeddings); None for methods not held to F(input).
    absorbed: float | None = None


@runtime_checkable
class AttributionMethod(Protocol):
    """What the engine needs of a method. `needs_gold`: the method explains the loss against the
    ground truth, so `explain` refuses to run it without labels or answers (before any work)."""

    name: ClassVar[str]
    description: ClassVar[str]
    needs_gold: ClassVar[bool]

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        """One RawAttribution per job, in order. Jobs may differ in token length: rows are
        right-padded with an attention mask (`pad_rows`), which changes no row's output."""
        ...


_CONTRACT = ("name", "description", "needs_gold", "attribute")


_REGISTRY: dict[str, type] = {}
_ALIASES: dict[str, str] = {}


def register(name: str, *aliases: str) -> Callable[[type], type]:
    """Class decorator: make a method findable by `name` and its aliases. A class missing part
    of the `AttributionMethod` contract is refused here, at import, not at its first use."""
    def add(cls: type) -> type:
        missing = [attr for attr in _CONTRACT if not hasattr(cls, attr)]
        if missing:
            raise TypeError(f"Attribution method {cls.__name__} lacks {', '.join(missing)} "
                            "(see registry.AttributionMethod).")
        _REGISTRY[name] = cls
        for alias in aliases:
            _ALIASES[alias] = name
        return cls
    return add


def _load_builtin() -> None:
    import textlens.attribution.methods  # noqa: F401  (importing registers every method)


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


def get_method_class(name: str) -> type:
    """The class of a method by name or alias: its ClassVars (`needs_gold`, `description`)
    without building it (building checks options and optional extras)."""
    return _REGISTRY[canonical_name(name)]


def get_method(name: str, **options: Any) -> AttributionMethod:
    """Build a method by name or alias with its options (unknown options are an error)."""
    cls = _REGISTRY[canonical_name(name)]
    fields = set(getattr(cls, "__dataclass_fields__", {}))
    unknown = sorted(k for k, v in options.items() if v is not None and k not in fields)
    if unknown:
        raise InputError(f"Method '{name}' takes no option(s) {', '.join(unknown)}.",
                         f"its options are: {', '.join(sorted(fields)) or 'none'}.")
    return cls(**{k: v for k, v in options.items() if v is not None})
