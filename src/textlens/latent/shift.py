"""Train/validation shift: how separable two groups of samples are in latent space.

Two measures, overall and per group value (e.g. per SQuAD title):
- k-NN mixing: the share of each sample's k nearest neighbours from its own split, rescaled so
  0 = as mixed as random assignment (the share equals the split's proportion) and 1 = every
  neighbour from the same split. Cheap, and local.
- Two-sample classifier: the cross-validated balanced accuracy of a logistic regression that
  predicts the split from the embedding; 0.5 = indistinguishable.
Per-title *purity* (share of neighbours with the same title) says whether a split separation is
explained by topic: SQuAD is split by title, so high title purity implies split separation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Shift:
    mixing: float  # 0 = mixed, 1 = separated
    classifier_balanced_accuracy: float | None
    n: int


def knn_same_share(neighbours: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """(n,) share of each sample's neighbours that carry its own group value."""
    g = np.asarray(groups)
    return (g[neighbours] == g[:, None]).mean(axis=1)


def mixing_score(neighbours: np.ndarray, groups: Sequence[str]) -> float:
    """Observed same-group neighbour share rescaled against its expectation under random mixing."""
    g = np.asarray(groups)
    values, counts = np.unique(g, return_counts=True)
    if len(values) < 2:
        return float("nan")
    proportion = dict(zip(values, counts / len(g), strict=True))
    expected = np.array([proportion[v] for v in g])
    observed = knn_same_share(neighbours, g)
    return float(((observed - expected) / np.maximum(1 - expected, 1e-9)).mean())


def classifier_accuracy(embeddings: np.ndarray, groups: Sequence[str], folds: int = 5,
                        seed: int = 0, max_samples: int = 20_000) -> float | None:
    """Cross-validated balanced accuracy of predicting the group from the embedding."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from textlens.latent.projection import normalise

    g = np.asarray(groups)
    _, counts = np.unique(g, return_counts=True)
    if len(counts) < 2 or counts.min() < folds:
        return None
    rows = np.arange(len(g))
    if len(rows) > max_samples:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_samples, replace=False))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    model = LogisticRegression(max_iter=1000, class_weight="balanced")
    scores = cross_val_score(model, normalise(embeddings[rows]), g[rows], cv=cv,
                             scoring="balanced_accuracy")
    return float(scores.mean())


def split_shift(embeddings: np.ndarray, neighbours: np.ndarray, splits: Sequence[str],
                seed: int = 0) -> Shift:
    return Shift(mixing_score(neighbours, splits), classifier_accuracy(embeddings, splits,
                                                                       seed=seed), len(splits))


def purity_by_group(neighbours: np.ndarray, groups: Sequence[str],
                    splits: Sequence[str] | None = None) -> list[dict]:
    """Per group value: size, split, mean share of neighbours in the same group (purity)."""
    g = np.asarray(groups)
    share = knn_same_share(neighbours, g)
    out = []
    for value in np.unique(g):
        rows = g == value
        row = {"group": str(value), "size": int(rows.sum()), "purity": float(share[rows].mean()),
               "expected": float(rows.mean())}
        if splits is not None:
            s = np.asarray(splits)[rows]
            vals, counts = np.unique(s, return_counts=True)
            row["split"] = str(vals[counts.argmax()])
        out.append(row)
    return sorted(out, key=lambda r: -r["purity"])


def mixing_across_groups(neighbours: np.ndarray, splits: Sequence[str],
                         groups: Sequence[str]) -> float:
    """The mixing score counting only neighbours from *other* groups (e.g. other titles).

    When splits are made by group (SQuAD: by title), a high overall mixing score with a score
    near 0 here means the separation is explained by topic: beyond its own title, a sample's
    neighbours are as likely to be in either split.
    """
    s, g = np.asarray(splits), np.asarray(groups)
    values, counts = np.unique(s, return_counts=True)
    if len(values) < 2:
        return float("nan")
    proportion = dict(zip(values, counts / len(s), strict=True))
    other = g[neighbours] != g[:, None]
    same = (s[neighbours] == s[:, None]) & other
    keep = other.sum(axis=1) > 0
    observed = same[keep].sum(axis=1) / other[keep].sum(axis=1)
    expected = np.array([proportion[v] for v in s[keep]])
    return float(((observed - expected) / np.maximum(1 - expected, 1e-9)).mean())


def mean_purity(neighbours: np.ndarray, groups: Sequence[str]) -> dict[str, float]:
    """Mean share of neighbours in the sample's own group, and that share under random mixing."""
    g = np.asarray(groups)
    _, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    return {"observed": float(knn_same_share(neighbours, g).mean()),
            "expected": float((counts[inverse] / len(g)).mean())}
