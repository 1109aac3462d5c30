"""transformers-interpret's error types, as textlens errors.

Each keeps the built-in base transformers-interpret gives it (so `except RuntimeError` or
`except ValueError` in existing code still catches it) and is a `TextlensError` that names the
problem and the fix. They are textlens classes: catch these, not `transformers_interpret.errors`."""

from __future__ import annotations

from textlens.errors import TextlensError


class AttributionTypeNotSupportedError(TextlensError, RuntimeError):
    """The explainer was asked for an attribution type other than "lig"."""


class AttributionsNotCalculatedError(TextlensError, RuntimeError):
    """Attributions were asked for before any were calculated."""


class InputIdsNotCalculatedError(TextlensError, RuntimeError):
    """Something that needs an explained input (a prediction) was asked for before any call."""


class ExplainerNotCalledError(TextlensError, ValueError):
    """`word_attributions` or `visualize()` before the explainer was called on a text."""


class CustomLabelsError(TextlensError, ValueError):
    """`custom_labels` of a different size than the model's labels."""
