"""Fitting the QA detector's per-kind logistic models on tuning questions (never the benchmark's).

Called by `python bench/label_noise.py --task qa --tuning --fit`. One model per planted kind
(moved -> "wrong span", swapped -> "swapped answer", boundary -> "wrong boundary"), each on the
clean questions plus that kind, over the features its shipped model reads (by name), features
standardised then folded back to raw units; C = 0.1 (held-out tuning articles, first design,
moved / swapped / boundary: 0.877 / 0.737 / 0.432 at C = 0.1, 0.872 / 0.735 / 0.449 at C = 1).
Before printing the weights, leave-one-article-out cross-validation scores the full detector
(noisy-OR with the shipped offsets, other-mention discount) on held-out articles: the numbers
the weights' comments in textlens.latent.issues.qa_weights quote.
"""

from __future__ import annotations

import numpy as np
from label_noise import metrics

from textlens.latent.issues import qa_weights
from textlens.latent.issues.qa_weights import LogisticModel

Table = dict[str, np.ndarray]
SHIPPED = {"wrong span": ("moved", qa_weights.WRONG_SPAN),
           "swapped answer": ("swapped", qa_weights.SWAPPED),
           "wrong boundary": ("boundary", qa_weights.WRONG_BOUNDARY)}
C = 0.1


def rows(table: Table, keep: np.ndarray) -> Table:
    return {name: column[keep] for name, column in table.items()}


def fit_kind(table: Table, y: np.ndarray, shipped: LogisticModel) -> LogisticModel:
    """Logistic regression on standardised features, weights folded back to raw units."""
    from sklearn.linear_model import LogisticRegression

    names = list(shipped.weights)
    x = np.column_stack([table[n] for n in names])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    lr = LogisticRegression(C=C, max_iter=5000).fit((x - mean) / scale, y)
    weights = lr.coef_[0] / scale
    return LogisticModel(dict(zip(names, (float(w) for w in weights), strict=True)),
                         float(lr.intercept_[0] - weights @ mean), shipped.offset)


def detector_scores(table: Table, other_mention: np.ndarray,
                    models: dict[str, LogisticModel]) -> np.ndarray:
    keep = np.ones(len(other_mention))
    for model in models.values():
        keep = keep * (1.0 - 1.0 / (1.0 + np.exp(-model.logit(table))))
    return (1.0 - keep) * (1.0 - other_mention)


def fit_models(tables: list[Table], kinds: list[np.ndarray]) -> dict[str, LogisticModel]:
    table = {n: np.concatenate([t[n] for t in tables]) for n in tables[0]}
    kind = np.concatenate(kinds)
    out = {}
    for name, (planted, shipped) in SHIPPED.items():
        keep = np.isin(kind, ("clean", planted))
        out[name] = fit_kind(rows(table, keep), kind[keep] == planted, shipped)
    return out


def crossvalidate(tables: list[Table], kinds: list[np.ndarray], others: list[np.ndarray],
                  groups: np.ndarray) -> dict:
    """Leave one article out: fit on the others, score the held-out article's questions."""
    scores = [np.zeros(len(k)) for k in kinds]
    for held in sorted(set(groups)):
        train = groups != held
        models = fit_models([rows(t, train) for t in tables], [k[train] for k in kinds])
        for i, t in enumerate(tables):
            scores[i][~train] = detector_scores(rows(t, ~train), others[i][~train], models)
    out = {}
    for planted, _ in SHIPPED.values():
        out[planted] = round(float(np.mean([
            metrics(s, k == planted, exclude=~np.isin(k, ("clean", planted)))["precision_at_k"]
            for s, k in zip(scores, kinds, strict=True)])), 3)
    return out


def fit(tables: list[Table], kinds: list[np.ndarray], others: list[np.ndarray],
        groups: np.ndarray) -> dict:
    """Held-out scores, then the weights fitted on every tuning article (printed by name)."""
    held_out = crossvalidate(tables, kinds, others, groups)
    models = fit_models(tables, kinds)
    print("leave-one-article-out precision@K of the detector:", held_out)
    out = {}
    for name, model in models.items():
        weights = {n: round(w, 4) for n, w in model.weights.items()}
        print(f"{name}: LogisticModel({weights}, intercept={model.intercept:.4f}, "
              f"offset={model.offset})")
        out[name] = {"weights": weights, "intercept": round(model.intercept, 4)}
    return {"held_out_precision_at_k": held_out, "weights": out}
