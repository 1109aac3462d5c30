"""Validate a corpus run before publishing it: draw a stratified sample of sentences, label it
(CSV sheet or the dashboard), measure the classifier on it and correct the group shares for the
classifier's errors. Every table lives in the run store (see `textlens.store.corpus_db`)."""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "draw_validation_sample": "sample", "ValidationSample": "sample",
    "current_labels": "labels", "record_label": "labels", "export_sheet": "labels",
    "import_sheet": "labels", "ImportReport": "labels", "RESERVED_LABELS": "labels",
    "measure": "measures", "ClassifierMeasures": "measures",
    "correct_shares": "correct", "CorrectedShares": "correct",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        from importlib import import_module

        return getattr(import_module(f"textlens.corpus.validation.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
