"""Validation metrics for the terminal: one row per metric, each rate with its 95% interval and
what it covers (a raw dict, `{'exact_match': 0.41, ...}`, said neither)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Table

# metric key -> (name shown, a share of examples: gets a Wilson interval; else a mean)
SHOWN = {"accuracy": ("accuracy", True), "macro_f1": ("macro F1", False),
         "exact_match": ("exact match (EM)", True), "f1": ("token F1 (mean)", False)}
PERCENT = {"exact_match", "f1"}  # SQuAD's official script reports these as percents


def wilson(share: float, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a share of `n` examples (scipy's binomtest)."""
    from scipy.stats import binomtest

    interval = binomtest(round(share * n), n).proportion_ci(0.95, method="wilson")
    return float(interval.low), float(interval.high)


def macro_f1_interval(confusion: Any, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of macro F1, resampling the examples (a multinomial over the
    confusion matrix's cells, seeded): macro F1 is no share of examples, so no Wilson interval."""
    import numpy as np

    matrix = np.asarray(confusion, dtype=float)
    flat = matrix.ravel()
    draws = np.random.default_rng(seed).multinomial(int(flat.sum()), flat / flat.sum(), n_boot)
    values = []
    for m in draws.reshape(n_boot, *matrix.shape):
        m = m.astype(float)
        tp, predicted, gold = np.diag(m), m.sum(axis=0), m.sum(axis=1)
        denominator = predicted + gold
        f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
        values.append(f1.mean())
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def metrics_table(metrics: Mapping[str, Any], n: int, covers: str) -> Table | None:
    """The metrics `SHOWN` that `metrics` holds, as fractions, titled with what they cover;
    None when there are none."""
    from rich.table import Table

    rows = []
    for key, (name, is_share) in SHOWN.items():
        value = metrics.get(key)
        if not isinstance(value, int | float):
            continue
        share = value / 100 if key in PERCENT else float(value)
        interval = "n/a (a mean of per-example scores; not resampled here)"
        if is_share and n > 0:
            low, high = wilson(share, n)
            interval = f"{low:.3f} to {high:.3f}"
        elif key == "macro_f1" and metrics.get("confusion_matrix"):
            low, high = macro_f1_interval(metrics["confusion_matrix"])
            interval = f"{low:.3f} to {high:.3f}"
        rows.append((name, f"{share:.3f}", interval))
    if not rows:
        return None
    table = Table("metric", "value", "95% interval", title=f"{covers} ({n:,} examples)")
    for row in rows:
        table.add_row(*row)
    return table
