"""The classifier measured on this corpus, from the labelled sample, with the design weights.

Two classifiers are measured:
- `model`: the model's own label per sentence (its argmax, or neutral inside a neutral band).
  Accuracy counts the labelled sentences whose true class the model has (a binary sentiment
  model: the polar ones; a sentence labelled neutral cannot be right). Precision of class c is
  over every labelled sentence the model calls c (a neutral one called positive is an error
  there); recall over those labelled c.
- `recalibrated`: the model's output mapped onto the labelled classes by a weighted logistic
  regression (`design`), scored out of fold: what the corrected shares rest on.

Every figure is a ratio of weighted sums (Horvitz-Thompson totals, so a ratio estimator); its
95% interval is a percentile bootstrap that resamples the labelled sentences within their
strata (predictions held fixed: the recalibration's refitting is left out here; the
corrected shares' bootstrap includes it). The same figures on the model's own validation split
come from its training.json (accuracy and the confusion counts `textlens train` recorded) with
a multinomial bootstrap over that confusion matrix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from textlens.corpus.validation.design import crossfit, load_labelled, stratified_resample

N_BOOT = 1000
MIN_LABELS = 30
MIN_PER_CELL = 5  # a precision / recall on fewer labelled sentences is left out
METRIC_COLUMNS = ["classifier", "metric", "class", "value", "ci_low", "ci_high", "n", "note"]
CONFUSION_COLUMNS = ["true", "predicted", "share", "ci_low", "ci_high", "n"]


@dataclass(frozen=True)
class ClassifierMeasures:
    """`metrics`: classifier, metric (accuracy / precision / recall / f1), class, value, 95%
    interval, n (labelled sentences it rests on). `confusion`: true x predicted (model's
    classes) as estimated shares of the corpus's sentences, with intervals."""

    metrics: pd.DataFrame
    confusion: pd.DataFrame
    classes: tuple[str, ...]
    model_classes: tuple[str, ...]
    n_labels: int
    labels_per_class: dict[str, int]
    n_convenience: int
    weighting: str
    reference: str | None  # what the model's own figures are measured on
    too_few: str | None
    message: str


def _scores(true: np.ndarray, pred: np.ndarray, w: np.ndarray, classes, pred_classes,
            accuracy_on) -> dict[tuple[str, str], tuple[float, float]]:
    """{(metric, class): (value, weighted n)} of one (re)sample; names compared as strings."""
    out = {}
    on = np.isin(true, list(accuracy_on))
    total = w[on].sum()
    out[("accuracy", "")] = ((w[on] * (true[on] == pred[on])).sum() / total if total else np.nan,
                             on.sum())
    for c in pred_classes:
        if c not in classes:
            continue
        called, truly = pred == c, true == c
        hit = (w * (called & truly)).sum()
        p = hit / w[called].sum() if called.any() else np.nan
        r = hit / w[truly].sum() if truly.any() else np.nan
        out[("precision", c)] = (p, called.sum())
        out[("recall", c)] = (r, truly.sum())
        out[("f1", c)] = (2 * p * r / (p + r) if p + r > 0 else np.nan, min(called.sum(),
                                                                           truly.sum()))
    return out


def measure(run_dir: str | Path, n_boot: int = N_BOOT, seed: int = 0,
            use_convenience: bool = True, store: bool = True) -> ClassifierMeasures:
    """Accuracy, per-class precision / recall / F1 and the confusion matrix on the labelled
    sample, for the model and its recalibration, beside the model's own validation figures."""
    data = load_labelled(run_dir, use_convenience)
    reference, ref_rows = reference_figures(data.info.get("model"), n_boot, seed)
    counts = data.counts()
    if len(data.y) < MIN_LABELS:
        too_few = f"only {len(data.y)} usable labels (at least {MIN_LABELS} needed)"
        result = ClassifierMeasures(pd.DataFrame(ref_rows, columns=METRIC_COLUMNS),
                                    pd.DataFrame(columns=CONFUSION_COLUMNS), data.classes,
                                    data.model_classes, len(data.y), counts, data.n_convenience,
                                    data.weighting, reference, too_few, too_few)
        if store:
            _store(run_dir, result)
        return result
    rng = np.random.default_rng(seed)
    true = np.asarray(data.classes)[data.y]
    model = data.corpus["label"].to_numpy()[data.rows]
    oof = crossfit(data.features[data.rows], data.y, data.weights, len(data.classes), rng)
    recal = np.asarray(data.classes)[oof.argmax(axis=1)]
    w = data.weights
    jobs = {"model": (model, data.model_classes, data.model_classes),
            "recalibrated": (recal, data.classes, data.classes)}
    point = {k: _scores(true, p, w, data.classes, pc, acc) for k, (p, pc, acc) in jobs.items()}
    cells = [(t, p) for t in data.classes for p in data.model_classes]
    cell_point = np.array([(w * ((true == t) & (model == p))).sum() for t, p in cells]) / w.sum()
    boots = {k: [] for k in jobs}
    cell_boot = []
    for _ in range(n_boot):
        i = stratified_resample(data.strata, rng)
        for k, (p, pc, acc) in jobs.items():
            boots[k].append(_scores(true[i], p[i], w[i], data.classes, pc, acc))
        cell_boot.append([(w[i] * ((true[i] == t) & (model[i] == p))).sum() for t, p in cells]
                         / w[i].sum())
    rows = []
    for k in jobs:
        for key, (value, n) in point[k].items():
            draws = np.array([b[key][0] for b in boots[k]], dtype=float)
            low, high = np.nanpercentile(draws, [2.5, 97.5]) if np.isfinite(draws).any() \
                else (np.nan, np.nan)
            small = n < MIN_PER_CELL
            rows.append({"classifier": k, "metric": key[0], "class": key[1],
                         "value": np.nan if small else float(value),
                         "ci_low": np.nan if small else float(low),
                         "ci_high": np.nan if small else float(high), "n": int(n),
                         "note": f"fewer than {MIN_PER_CELL} labelled sentences" if small
                         else ""})
    low, high = np.percentile(np.array(cell_boot), [2.5, 97.5], axis=0)
    confusion = pd.DataFrame({"true": [t for t, _ in cells], "predicted": [p for _, p in cells],
                              "share": cell_point, "ci_low": low, "ci_high": high,
                              "n": [int(((true == t) & (model == p)).sum()) for t, p in cells]})
    metrics = pd.DataFrame(rows + ref_rows, columns=METRIC_COLUMNS)
    result = ClassifierMeasures(metrics, confusion, data.classes, data.model_classes,
                                len(data.y), counts, data.n_convenience, data.weighting,
                                reference, None, _message(data, reference, n_boot))
    if store:
        _store(run_dir, result)
    return result


def reference_figures(model: str | None, n_boot: int, seed: int) -> tuple[str | None, list]:
    """The model's figures on its own validation split (training.json), as metric rows."""
    record = Path(model) / "training.json" if model else None
    if record is None or not record.exists():
        return None, []
    info = json.loads(record.read_text(encoding="utf-8"))
    metrics = info.get("metrics") or {}
    matrix = np.asarray(metrics.get("confusion_matrix") or [], dtype=float)
    names = [str(n) for n in metrics.get("labels") or info.get("labels") or []]
    if matrix.size == 0 or len(names) != len(matrix):
        return None, []
    what = (f"{info.get('data')}/{info.get('validation_split')}, {int(matrix.sum())} "
            "examples (the model's own validation split, from its training.json)")
    rng = np.random.default_rng(seed)
    flat = matrix.ravel()
    resampled = rng.multinomial(int(flat.sum()), flat / flat.sum(), size=n_boot).reshape(
        n_boot, *matrix.shape)

    def figures(m: np.ndarray) -> dict[tuple[str, str], tuple[float, float]]:
        out = {("accuracy", ""): (np.trace(m) / m.sum(), m.sum())}
        for k, c in enumerate(names):
            p = m[k, k] / m[:, k].sum() if m[:, k].sum() else np.nan
            r = m[k, k] / m[k].sum() if m[k].sum() else np.nan
            out[("precision", c)] = (p, m[:, k].sum())
            out[("recall", c)] = (r, m[k].sum())
            out[("f1", c)] = (2 * p * r / (p + r) if p + r > 0 else np.nan, m[k].sum())
        return out

    point = figures(matrix)
    draws = [figures(m) for m in resampled]
    rows = []
    for key, (value, n) in point.items():
        values = np.array([d[key][0] for d in draws], dtype=float)
        low, high = np.nanpercentile(values, [2.5, 97.5])
        rows.append({"classifier": "model on its validation split", "metric": key[0],
                     "class": key[1], "value": float(value), "ci_low": float(low),
                     "ci_high": float(high), "n": int(n), "note": ""})
    return what, rows


def _message(data, reference: str | None, n_boot: int) -> str:
    counts = ", ".join(f"{c} {n}" for c, n in data.counts().items())
    text = (f"Measured on {len(data.y)} labels ({counts}); {data.weighting}; 95% intervals: "
            f"{n_boot} bootstrap replicates of the labels within strata.")
    missing = [c for c in data.classes if c not in data.model_classes]
    if missing:
        text += (f" The model has no class {', '.join(missing)}: its accuracy counts only "
                 "sentences labelled with one of its classes; the recalibrated classifier is "
                 "scored on all.")
    if data.non_probability:
        text += (f" {data.n_convenience} labels are outside the drawn sample: these figures "
                 "rest on a non-probability (convenience) sample.")
    text += f" Reference: {reference}." if reference else \
        " No training.json with validation figures was found for the model."
    return text


def _store(run_dir: str | Path, result: ClassifierMeasures) -> None:
    from textlens.store.corpus_db import connect, replace_tables

    with connect(run_dir) as con:
        replace_tables(con, {"validation_metrics": result.metrics,
                             "validation_confusion": result.confusion},
                       {"measures": {"n_labels": result.n_labels,
                                     "labels_per_class": result.labels_per_class,
                                     "n_convenience": result.n_convenience,
                                     "weighting": result.weighting,
                                     "reference": result.reference,
                                     "too_few": result.too_few, "message": result.message}})
        con.execute("CHECKPOINT")
