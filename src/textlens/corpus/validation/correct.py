"""Corrected group shares: per group, the naive classify-and-count share of each class beside
ACC, PACC and EMQ estimates that correct it for the classifier's errors measured on the
labelled sample (methods in `quantify`, classifier = the recalibration in `design`).

The 95% interval is a percentile bootstrap in which every replicate (1) resamples the labelled
sentences within their strata and refits the recalibration and the misclassification rates,
and (2) resamples the group's documents (its sentences when it has one document), then
re-estimates: it covers the sampling of sentences / documents in the group and the uncertainty
of the correction, not errors in the labels themselves. Estimates are clipped to the simplex.
Too few labels (fewer than MIN_LABELS usable, a class with fewer than MIN_PER_CLASS, or a
misclassification matrix too ill-conditioned to invert) give a `too_few` reason, not a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from textlens.corpus.validation.design import (
    LabelledData,
    crossfit,
    fit_calibrator,
    load_labelled,
    stratified_resample,
)
from textlens.corpus.validation.quantify import adjust, condition, emq, hard_rates, soft_rates
from textlens.errors import InputError

METHODS = ("acc", "pacc", "emq")
MIN_LABELS = 30
MIN_PER_CLASS = 5
# ACC divides by the classifier's discrimination: for two classes cond(M) ~ 1 / (tpr - fpr)
# (up to a constant); 20 means tpr - fpr below ~0.1, where one label more or less moves the
# estimate by several points.
MAX_CONDITION = 20.0


@dataclass(frozen=True)
class CorrectedShares:
    """`table`: one row per group, class and method (naive, acc, pacc, emq): share, 95%
    interval, the group's sentences and documents, and `too_few` (a reason instead of a
    number). `too_few` at the top level: why no correction at all was possible."""

    table: pd.DataFrame
    by: tuple[str, ...]
    classes: tuple[str, ...]
    methods: tuple[str, ...]
    n_labels: int
    labels_per_class: dict[str, int]
    n_convenience: int
    weighting: str
    n_boot: int
    too_few: str | None
    message: str

    @property
    def non_probability(self) -> bool:
        return self.n_convenience > 0


@dataclass(frozen=True)
class Problem:
    """What the arrays-level estimator needs (also what the benchmark builds directly)."""

    features: np.ndarray  # (N, F) model output
    model_label: np.ndarray  # (N,) index into the model's classes (naive counts)
    n_model_classes: int
    group: np.ndarray  # (N,) group index
    unit: np.ndarray  # (N,) document index (resampling unit)
    rows: np.ndarray  # labelled sentences (index into N)
    y: np.ndarray  # their class index
    weights: np.ndarray
    strata: np.ndarray
    n_classes: int


def estimate(problem: Problem, methods: Sequence[str] = METHODS, n_boot: int = 200,
             seed: int = 0) -> dict[str, np.ndarray]:
    """{method: (1 + n_boot, G, C)}: the point estimate first, then the replicates; `naive`
    has the model's classes."""
    rng = np.random.default_rng(seed)
    n_groups = int(problem.group.max()) + 1
    members = [np.flatnonzero(problem.group == g) for g in range(n_groups)]
    units = []
    for idx in members:
        _, unit = np.unique(problem.unit[idx], return_inverse=True)
        units.append(unit if unit.max() > 0 else np.arange(len(idx)))
    out = {m: np.full((n_boot + 1, n_groups, problem.n_classes), np.nan) for m in methods}
    out["naive"] = np.zeros((n_boot + 1, n_groups, problem.n_model_classes))
    for b in range(n_boot + 1):
        if b == 0:
            pick = np.arange(len(problem.rows))
            mult = [np.ones(len(idx)) for idx in members]
        else:
            pick = stratified_resample(problem.strata, rng)
            mult = [np.bincount(rng.integers(0, u.max() + 1, u.max() + 1),
                                minlength=u.max() + 1)[u].astype(float) for u in units]
        for g, idx in enumerate(members):
            out["naive"][b, g] = np.bincount(problem.model_label[idx], weights=mult[g],
                                             minlength=problem.n_model_classes) / mult[g].sum()
        if not methods:
            continue
        _replicate(problem, pick, members, mult, methods, out, b, rng)
    return out


def _replicate(problem: Problem, pick: np.ndarray, members, mult, methods, out, b: int,
               rng: np.random.Generator) -> None:
    x = problem.features[problem.rows[pick]]
    y, w = problem.y[pick], problem.weights[pick]
    k = problem.n_classes
    if len(np.unique(y)) < 2:
        return
    oof = crossfit(x, y, w, k, rng)
    rates_hard = hard_rates(y, oof.argmax(axis=1), k, w)
    rates_soft = soft_rates(y, oof, w)
    prior = np.bincount(y, weights=w, minlength=k) / w.sum()
    posteriors = fit_calibrator(x, y, w, k).predict_proba(problem.features)
    hard = posteriors.argmax(axis=1)
    for g, idx in enumerate(members):
        c = mult[g]
        if "acc" in methods:
            q = np.bincount(hard[idx], weights=c, minlength=k) / c.sum()
            out["acc"][b, g] = adjust(rates_hard, q)
        if "pacc" in methods:
            out["pacc"][b, g] = adjust(rates_soft, c @ posteriors[idx] / c.sum())
        if "emq" in methods:
            out["emq"][b, g] = emq(prior, posteriors[idx], c)


def too_few_reasons(problem: Problem, classes: Sequence[str]) -> dict[str, str | None]:
    """Why each method cannot be trusted on these labels (None: it can)."""
    counts = np.bincount(problem.y, minlength=problem.n_classes)
    if len(problem.y) < MIN_LABELS:
        reason = f"only {len(problem.y)} usable labels (at least {MIN_LABELS} needed)"
        return dict.fromkeys(METHODS, reason)
    short = [f"{c} ({n})" for c, n in zip(classes, counts, strict=True) if n < MIN_PER_CLASS]
    if short:
        reason = (f"fewer than {MIN_PER_CLASS} labels for {', '.join(short)}; label more "
                  "sentences (or drop the class)")
        return dict.fromkeys(METHODS, reason)
    oof = crossfit(problem.features[problem.rows], problem.y, problem.weights,
                   problem.n_classes, np.random.default_rng(0))
    reasons: dict[str, str | None] = dict.fromkeys(METHODS)
    for method, rates in (("acc", hard_rates(problem.y, oof.argmax(axis=1), problem.n_classes,
                                            problem.weights)),
                          ("pacc", soft_rates(problem.y, oof, problem.weights))):
        cond = condition(rates)
        if not np.isfinite(cond) or cond > MAX_CONDITION:
            reasons[method] = (f"the misclassification matrix is ill-conditioned (condition "
                               f"number {cond:.3g} > {MAX_CONDITION:g}): the classifier barely "
                               "separates the classes")
    return reasons


def problem_of(data: LabelledData) -> Problem:
    corpus = data.corpus
    keys = corpus[list(data.by)].astype(str).agg("\x1f".join, axis=1) if data.by else \
        pd.Series("all", index=corpus.index)
    _, group = np.unique(keys, return_inverse=True)
    _, unit = np.unique(corpus["doc_id"], return_inverse=True)
    model_index = {c: i for i, c in enumerate(data.model_classes)}
    return Problem(data.features, corpus["label"].map(model_index).to_numpy().astype(int),
                   len(data.model_classes), group, unit, data.rows, data.y, data.weights,
                   data.strata, len(data.classes))


def correct_shares(run_dir: str | Path, methods: Sequence[str] = METHODS, n_boot: int = 200,
                   seed: int = 0, use_convenience: bool = True,
                   store: bool = True) -> CorrectedShares:
    """Naive and corrected shares of every class per group, with 95% bootstrap intervals;
    stored as the `corrected_groups` table of RUN."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"Unknown correction method(s) {unknown}.",
                         f"use some of {', '.join(METHODS)}.")
    if n_boot < 1:
        raise InputError(f"--bootstrap {n_boot} gives no interval.", "pass e.g. 200.")
    data = load_labelled(run_dir, use_convenience)
    problem = problem_of(data)
    reasons = too_few_reasons(problem, data.classes) if len(data.y) else \
        dict.fromkeys(METHODS, "no labels yet")
    usable = [m for m in methods if reasons[m] is None]
    draws = estimate(problem, usable, n_boot, seed)
    table = _table(data, problem, draws, methods, reasons)
    overall = None if usable else reasons[methods[0]] if methods else "no method asked for"
    result = CorrectedShares(table, data.by, data.classes, tuple(methods), len(data.y),
                             data.counts(), data.n_convenience, data.weighting, n_boot, overall,
                             _message(data, usable, reasons, n_boot))
    if store:
        _store(run_dir, result)
    return result


def _table(data: LabelledData, problem: Problem, draws, methods, reasons) -> pd.DataFrame:
    corpus = data.corpus
    keys = corpus.groupby(problem.group)
    rows = []
    for g, members in keys:
        head = {c: members[c].iloc[0] for c in data.by}
        size = {"n_sentences": len(members), "n_documents": members["doc_id"].nunique()}
        for method in ("naive", *methods):
            names = data.model_classes if method == "naive" else data.classes
            for k, name in enumerate(names):
                reason = None if method == "naive" else reasons[method]
                if method == "naive" or reason is None:
                    point = draws[method][0, g, k]
                    low, high = np.nanpercentile(draws[method][1:, g, k], [2.5, 97.5])
                else:
                    point = low = high = float("nan")
                rows.append({**head, "class": name, "method": method, "share": float(point),
                             "ci_low": float(low), "ci_high": float(high), **size,
                             "too_few": reason})
    return pd.DataFrame(rows)


def _message(data: LabelledData, usable, reasons, n_boot: int) -> str:
    counts = ", ".join(f"{c} {n}" for c, n in data.counts().items())
    text = (f"Corrected on {len(data.y)} labels ({counts}); {data.weighting}. 95% intervals: "
            f"{n_boot} bootstrap replicates resampling the labels within strata (refitting the "
            "correction) and the group's documents; estimates clipped to [0, 1] and "
            "renormalised. The naive interval covers the documents' sampling only, not the "
            "classifier's errors.")
    if data.non_probability:
        text += (f" {data.n_convenience} labels are outside the drawn sample: the estimates "
                 "rest on a non-probability (convenience) sample.")
    skipped = {m: r for m, r in reasons.items() if r is not None}
    if skipped:
        text += " Not estimated: " + "; ".join(f"{m.upper()}: {r}" for m, r in skipped.items())
    return text


def _store(run_dir: str | Path, result: CorrectedShares) -> None:
    from textlens.store.corpus_db import connect, replace_tables

    with connect(run_dir) as con:
        replace_tables(con, {"corrected_groups": result.table},
                       {"correction": {"methods": list(result.methods),
                                       "n_labels": result.n_labels,
                                       "labels_per_class": result.labels_per_class,
                                       "n_convenience": result.n_convenience,
                                       "weighting": result.weighting, "n_boot": result.n_boot,
                                       "too_few": result.too_few,
                                       "message": result.message}})
        con.execute("CHECKPOINT")
