"""Evaluate a model on a dataset: the glue between `models.predict` (predictions) and the pure
scores of `metrics`. It lives here, beside prediction, so that `metrics` stays pure (lists in,
numbers out) and imports no model code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textlens.data.types import Dataset
from textlens.errors import DataError
from textlens.metrics.classification import classification_scores
from textlens.metrics.squad import squad_scores, strip_quotes
from textlens.models.loading import LoadedModel, ensure_loaded


def evaluate_classification(loaded: LoadedModel | str | Path, data: Dataset,
                            batch_size: int | None = None,
                            max_length: int | None = None) -> dict[str, Any]:
    from textlens.models.predict import predict_classification

    loaded = ensure_loaded(loaded, task="classification")
    gold = [e.label for e in data]
    if any(label is None for label in gold):
        raise DataError("Evaluation needs a label on every example.",
                        "pass --label-col with the column that holds the labels.")
    preds = predict_classification(loaded, [e.text for e in data], gold, batch_size, max_length)
    scores = classification_scores(gold, preds.labels.tolist(), preds.label_names)
    scores["mean_loss"] = float(preds.loss.mean()) if preds.loss is not None else None
    return scores


def evaluate_qa(loaded: LoadedModel | str | Path, data: Dataset, batch_size: int | None = None,
                max_length: int | None = None, stride: int | None = None) -> dict[str, Any]:
    """EM/F1 as predicted and with the quote-stripping post-processing (`strip_quotes`); windows
    as the model was trained unless `max_length` / `stride` are given."""
    from textlens.models.predict import predict_qa

    loaded = ensure_loaded(loaded, task="qa")
    preds = predict_qa(loaded, list(data), batch_size, max_length, stride)
    references = {e.id: [a.text for a in e.answers] for e in data}
    raw = {p.id: p.answer for p in preds}
    stripped = {qid: strip_quotes(answer) for qid, answer in raw.items()}
    scores: dict[str, Any] = dict(squad_scores(raw, references))
    scores["stripped"] = squad_scores(stripped, references)
    losses = [p.loss for p in preds if p.loss is not None]
    scores["mean_loss"] = sum(losses) / len(losses) if losses else None
    return scores
