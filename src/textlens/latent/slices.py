"""Where the model fails: slices (clusters, metadata values) ranked by mean loss, and near misses.

A slice's significance is a Welch t-test of its losses against the rest of the population, with
a Bonferroni correction for the number of slices tested (per-sample losses are skewed, but
slice means of a few dozen samples are close to normal; the correction keeps the many small
slices from producing false alarms). Slices smaller than `min_size` are not ranked.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from textlens.metrics.squad import normalize_answer, strip_quotes


@dataclass(frozen=True)
class Slice:
    feature: str  # the column sliced on (not "column": a reserved word in SQL)
    value: str
    size: int
    mean_loss: float
    loss_ratio: float  # slice mean loss / population mean loss
    accuracy: float | None
    p_value: float  # Bonferroni-corrected Welch t-test, slice vs rest


def high_loss_slices(frame: pd.DataFrame, columns: Sequence[str], min_size: int = 10,
                     loss: str = "loss", correct: str | None = "correct") -> list[Slice]:
    """Every (column, value) slice of at least `min_size` rows, highest mean loss first."""
    from scipy.stats import ttest_ind

    losses = frame[loss].to_numpy(dtype=np.float64)
    finite = np.isfinite(losses)
    overall = float(losses[finite].mean()) if finite.any() else float("nan")
    candidates = []
    for column in columns:
        if column not in frame:
            continue
        for value, rows in frame.groupby(column, dropna=True).indices.items():
            inside = np.zeros(len(frame), dtype=bool)
            inside[rows] = True
            a, b = losses[inside & finite], losses[~inside & finite]
            if len(a) < min_size or len(b) < 2:
                continue
            p = float(ttest_ind(a, b, equal_var=False).pvalue)
            acc = float(frame[correct].to_numpy()[rows].mean()) if correct in frame else None
            candidates.append((column, str(value), len(a), float(a.mean()), acc,
                               p if np.isfinite(p) else 1.0))
    tests = max(1, len(candidates))
    slices = [Slice(c, v, n, m, m / overall if overall else float("nan"), acc, min(1.0, p * tests))
              for c, v, n, m, acc, p in candidates]
    return sorted(slices, key=lambda s: -s.mean_loss)


_PUNCT = set(string.punctuation) | set("“”‘’«»„‚´")


def _no_punct(text: str) -> str:
    return " ".join("".join(ch for ch in text.lower() if ch not in _PUNCT).split())


def is_near_miss(prediction: str, golds: Sequence[str]) -> bool:
    """The seed's near miss: the prediction equals a gold answer except for quotes/punctuation.

    Such predictions score EM under SQuAD's normalisation, yet differ from every gold string as
    written; they show decoding habits (keeping quotes around titles, a trailing full stop).
    """
    raw = prediction.strip()
    if not raw or raw in {g.strip() for g in golds}:
        return False
    cleaned = strip_quotes(raw)
    return any(cleaned == g.strip() or (_no_punct(raw) == _no_punct(g) and _no_punct(g))
               for g in golds)


def near_misses(ids: Sequence[str], predictions: Sequence[str],
                golds: Sequence[Sequence[str]]) -> list[str]:
    """Ids whose prediction is a near miss (see `is_near_miss`)."""
    return [i for i, p, g in zip(ids, predictions, golds, strict=True) if is_near_miss(p, g)]


def em_after_normalisation(prediction: str, golds: Sequence[str]) -> bool:
    return any(normalize_answer(prediction) == normalize_answer(g) for g in golds)
