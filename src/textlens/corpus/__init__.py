"""Corpus analysis: speeches in; every sentence classified, aggregated per group, plotted, and a
systematic sample explained (`run`). Heavy imports happen inside the functions that need them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textlens.corpus.sentences import split_sentences

if TYPE_CHECKING:
    from textlens.corpus.pipeline import CorpusOptions, CorpusResult

__all__ = ["split_sentences", "run", "CorpusOptions", "CorpusResult"]


def run(model: Any, data: Any, out: Any, options: CorpusOptions | None = None,
        **kwargs: Any) -> CorpusResult:
    """Classify every sentence of `data` with `model` and write the run to `out` (resumable);
    see `textlens.corpus.pipeline.run`."""
    from textlens.corpus.pipeline import CorpusOptions
    from textlens.corpus.pipeline import run as _run

    return _run(model, data, out, options or CorpusOptions(), **kwargs)


def __getattr__(name: str) -> Any:
    if name in ("CorpusOptions", "CorpusResult"):
        from textlens.corpus import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
