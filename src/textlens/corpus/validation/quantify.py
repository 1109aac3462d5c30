"""Quantification with design weights: class shares corrected for a classifier's errors.

QuaPy (Moreo et al.) implements these methods, but estimates the misclassification rates from
unweighted labels; a stratified validation sample needs its design weights there, so the
estimators are written out here and tested against QuaPy's on unweighted samples
(tests/unit/test_corpus_quantify.py: same numbers). Every estimate is clipped to [0, 1] and
L1-normalised (QuaPy's `clip` normalisation).

- CC: classify and count, the share of each predicted class.
- ACC (Forman 2008): q = M p with M[j, i] = P(predicted j | true i); p = M^-1 q.
- PACC (Bella et al. 2010): the same with expected posteriors in q and M.
- EMQ / SLD (Saerens, Latinne and Decaestecker 2002): EM on the posteriors, re-weighting them
  from the labelled sample's class shares to the group's.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-4  # QuaPy's EMQ convergence threshold (mean absolute change of the shares)
MAX_ITER = 1000


def _w(n: int, weights: np.ndarray | None) -> np.ndarray:
    return np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)


def hard_rates(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int,
               weights: np.ndarray | None = None) -> np.ndarray:
    """M[j, i] = weighted share of true class i predicted j (identity column for an absent
    class, as QuaPy)."""
    w = _w(len(y_true), weights)
    counts = np.zeros((n_classes, n_classes))
    np.add.at(counts, (y_pred, y_true), w)
    return _normalise_columns(counts)


def soft_rates(y_true: np.ndarray, posteriors: np.ndarray,
               weights: np.ndarray | None = None) -> np.ndarray:
    """M[j, i] = weighted mean posterior of class j over sentences of true class i."""
    n_classes = posteriors.shape[1]
    w = _w(len(y_true), weights)
    counts = np.zeros((n_classes, n_classes))
    for i in range(n_classes):
        mask = y_true == i
        counts[:, i] = (posteriors[mask] * w[mask, None]).sum(axis=0)
    return _normalise_columns(counts)


def _normalise_columns(counts: np.ndarray) -> np.ndarray:
    totals = counts.sum(axis=0)
    rates = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    for i in np.flatnonzero(totals == 0):
        rates[i, i] = 1.0
    return rates


def clip_simplex(p: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and L1-normalise (uniform when nothing is left)."""
    p = np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)
    total = p.sum()
    return p / total if total > 0 else np.full_like(p, 1.0 / len(p))


def adjust(rates: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Solve observed = rates @ p for p (matrix inversion), then clip to the simplex; NaN when
    the rates matrix is singular."""
    try:
        return clip_simplex(np.linalg.solve(rates, observed))
    except np.linalg.LinAlgError:
        return np.full(len(observed), np.nan)


def condition(rates: np.ndarray) -> float:
    return float(np.linalg.cond(rates))


def emq(train_prevalence: np.ndarray, posteriors: np.ndarray,
        weights: np.ndarray | None = None) -> np.ndarray:
    """SLD's EM (as QuaPy's `EMQ.EM`), each sentence counted `weights` times."""
    w = _w(len(posteriors), weights)
    w = w / w.sum()
    prior = np.array(train_prevalence, dtype=np.float64)
    if np.prod(prior) == 0:
        prior = (prior + EPSILON) / (prior + EPSILON).sum()
    shares, previous = prior.copy(), None
    for step in range(MAX_ITER):
        scaled = posteriors * (shares / prior)
        scaled /= scaled.sum(axis=1, keepdims=True)
        shares = w @ scaled
        if previous is not None and np.abs(shares - previous).mean() < EPSILON and step > 10:
            break
        previous = shares
    return clip_simplex(shares)
