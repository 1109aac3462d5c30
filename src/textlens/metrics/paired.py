"""Two classifiers' accuracy on the same labelled sentences, and its change, with intervals.

Paired: both models are scored on the SAME sentences, and the bootstrap resamples sentences
(within the sampling strata, when given) and recomputes both accuracies on each resample, so
the interval of the difference keeps the pairing (the two accuracies are strongly correlated;
an interval from two independent ones would be far too wide). Accuracies are weighted by the
sampling design (weight = 1 / inclusion probability): a sample stratified by confidence over-
represents uncertain sentences, and unweighted it would understate accuracy on the corpus.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "ci_low": self.low, "ci_high": self.high}


@dataclass(frozen=True)
class AccuracyChange:
    """Design-weighted accuracy of A and B on the same n labelled sentences, B - A, with 95%
    percentile-bootstrap intervals; `flipped` counts sentences whose predicted label differs."""

    n: int
    accuracy_a: Interval
    accuracy_b: Interval
    change: Interval
    a_only_right: int  # A right, B wrong
    b_only_right: int  # B right, A wrong
    flipped: int
    n_boot: int
    level: float = 0.95

    def to_dict(self) -> dict[str, object]:
        return {"n": self.n, "accuracy_a": self.accuracy_a.to_dict(),
                "accuracy_b": self.accuracy_b.to_dict(), "change": self.change.to_dict(),
                "a_only_right": self.a_only_right, "b_only_right": self.b_only_right,
                "flipped": self.flipped, "n_boot": self.n_boot, "level": self.level,
                "covers": "sampling of the labelled sentences (bootstrap within strata, "
                          "design weights); not labelling errors"}


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    return float((values * weights).sum() / total) if total > 0 else float("nan")


def bootstrap_rows(strata: Sequence[object] | None, n: int, n_boot: int,
                   rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) row indices: each resample draws every stratum's own size from it."""
    if strata is None:
        return rng.integers(0, n, size=(n_boot, n))
    labels = np.asarray([str(s) for s in strata])
    parts = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        parts.append(members[rng.integers(0, len(members), size=(n_boot, len(members)))])
    return np.concatenate(parts, axis=1)


def accuracy_change(gold: Sequence[str], predicted_a: Sequence[str],
                    predicted_b: Sequence[str], weights: Sequence[float] | None = None,
                    strata: Sequence[object] | None = None, n_boot: int = 2000,
                    seed: int = 0, level: float = 0.95) -> AccuracyChange:
    """Paired accuracy change B - A over the same sentences (see the module docstring)."""
    gold_arr = np.asarray(gold, dtype=object)
    right_a = (np.asarray(predicted_a, dtype=object) == gold_arr).astype(np.float64)
    right_b = (np.asarray(predicted_b, dtype=object) == gold_arr).astype(np.float64)
    n = len(gold_arr)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if n == 0:
        nan = Interval(float("nan"), float("nan"), float("nan"))
        return AccuracyChange(0, nan, nan, nan, 0, 0, 0, n_boot, level)
    rows = bootstrap_rows(strata, n, n_boot, np.random.default_rng(seed))
    wb = w[rows]
    acc_a = (right_a[rows] * wb).sum(axis=1) / wb.sum(axis=1)
    acc_b = (right_b[rows] * wb).sum(axis=1) / wb.sum(axis=1)
    tail = (1.0 - level) / 2 * 100

    def interval(point: float, draws: np.ndarray) -> Interval:
        low, high = np.percentile(draws, [tail, 100 - tail])
        return Interval(point, float(low), float(high))

    point_a, point_b = _weighted_mean(right_a, w), _weighted_mean(right_b, w)
    flipped = int((np.asarray(predicted_a, dtype=object)
                   != np.asarray(predicted_b, dtype=object)).sum())
    return AccuracyChange(n, interval(point_a, acc_a), interval(point_b, acc_b),
                          interval(point_b - point_a, acc_b - acc_a),
                          int(((right_a == 1) & (right_b == 0)).sum()),
                          int(((right_b == 1) & (right_a == 0)).sum()), flipped, n_boot, level)


def weighted_scores(gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str],
                    weights: Sequence[float] | None = None) -> dict[str, object]:
    """Design-weighted accuracy, macro F1, per-class precision/recall/F1 and the (weighted)
    confusion matrix, rows = gold, columns = predicted, over `classes`."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    labels = list(classes)
    precision, recall, f1, _ = precision_recall_fscore_support(
        list(gold), list(predicted), labels=labels, sample_weight=w, zero_division=0)
    right = (np.asarray(gold, dtype=object) == np.asarray(predicted, dtype=object))
    return {
        "n": len(gold),
        "accuracy": _weighted_mean(right.astype(np.float64), np.ones(len(gold)) if w is None
                                   else w),
        "macro_f1": float(np.mean(f1)) if len(f1) else float("nan"),
        "per_class": {c: {"precision": float(p), "recall": float(r), "f1": float(f),
                          "labels": int(sum(g == c for g in gold))}
                      for c, p, r, f in zip(labels, precision, recall, f1, strict=True)},
        "confusion_matrix": confusion_matrix(list(gold), list(predicted), labels=labels,
                                             sample_weight=w).tolist(),
        "classes": labels,
    }
