"""Fitting the QA detector's per-kind logistic models on tuning questions (never the benchmark's).

Called by `python bench/label_noise.py --task qa --tuning --fit`. One model per planted kind
(moved -> "wrong span", swapped, boundary -> "wrong boundary"), each on the clean questions plus
that kind, features standardised then folded back to raw units; C = 0.1 (held-out tuning
articles, first design, moved / swapped / boundary: 0.877 / 0.737 / 0.432 at C = 0.1,
0.872 / 0.735 / 0.449 at C = 1). Before printing the weights, leave-one-article-out
cross-validation scores the full detector (noisy-OR with the offsets of label_qa,
other-mention discount) against loss and margin on held-out articles: the numbers the
weights' comments quote.
"""

from __future__ import annotations

import numpy as np
from label_noise import metrics

MODEL_KINDS = {"wrong span": "moved", "swapped": "swapped", "wrong boundary": "boundary"}
C = 0.1


def fit_kind(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression on standardised features, weights folded back to raw units."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    lr = LogisticRegression(C=C, max_iter=5000).fit((x - mean) / scale, y)
    weights = lr.coef_[0] / scale
    return weights, float(lr.intercept_[0] - weights @ mean)


def detector_scores(x: np.ndarray, other_mention: np.ndarray,
                    models: dict[str, tuple[np.ndarray, float]]) -> np.ndarray:
    from textlens.latent import label_qa

    keep = np.ones(len(x))
    for kind, (weights, intercept) in models.items():
        columns = [label_qa.FEATURES.index(n) for n in label_qa.MODELS[kind][0]]
        z = x[:, columns] @ weights + intercept - label_qa.OFFSETS[kind]
        keep = keep * (1.0 - 1.0 / (1.0 + np.exp(-z)))
    return (1.0 - keep) * (1.0 - other_mention)


def fit_models(xs: list[np.ndarray], kinds: list[np.ndarray], others: list[np.ndarray],
               groups: np.ndarray) -> dict[str, tuple[np.ndarray, float]]:
    from textlens.latent import label_qa

    x, kind = np.concatenate(xs), np.concatenate(kinds)
    out = {}
    for name, planted in MODEL_KINDS.items():
        columns = [label_qa.FEATURES.index(n) for n in label_qa.MODELS[name][0]]
        keep = np.isin(kind, ("clean", planted))
        out[name] = fit_kind(x[keep][:, columns], kind[keep] == planted)
    return out


def crossvalidate(xs: list[np.ndarray], kinds: list[np.ndarray], others: list[np.ndarray],
                  groups: np.ndarray) -> dict:
    """Leave one article out: fit on the others, score the held-out article's questions."""
    scores = [np.zeros(len(k)) for k in kinds]
    for held in sorted(set(groups)):
        train = groups != held
        models = fit_models([x[train] for x in xs], [k[train] for k in kinds],
                            [o[train] for o in others], groups[train])
        for i, x in enumerate(xs):
            scores[i][~train] = detector_scores(x[~train], others[i][~train], models)
    out = {}
    for planted in MODEL_KINDS.values():
        out[planted] = round(float(np.mean([
            metrics(s, k == planted, exclude=~np.isin(k, ("clean", planted)))["precision_at_k"]
            for s, k in zip(scores, kinds, strict=True)])), 3)
    return out


def fit(xs: list[np.ndarray], kinds: list[np.ndarray], others: list[np.ndarray],
        groups: np.ndarray) -> dict:
    """Held-out scores, then the weights fitted on every tuning article (printed as Python)."""
    held_out = crossvalidate(xs, kinds, others, groups)
    models = fit_models(xs, kinds, others, groups)
    print("leave-one-article-out precision@K of the detector:", held_out)
    print("MODELS weights:")
    for name, (w, b) in models.items():
        print(f"    {name!r}: np.array([{', '.join(f'{v:.4f}' for v in w)}]), {b:.4f}")
    return {"held_out_precision_at_k": held_out,
            "weights": {k: [[round(float(v), 4) for v in w], round(b, 4)]
                        for k, (w, b) in models.items()}}
