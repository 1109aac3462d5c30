"""Metrics: official SQuAD v1.1 EM/F1 and classification scores, as pure functions."""

from textlens.metrics.classification import classification_scores
from textlens.metrics.squad import exact_match, f1, normalize_answer, squad_scores, strip_quotes

__all__ = ["classification_scores", "exact_match", "f1", "normalize_answer", "squad_scores",
           "strip_quotes"]
