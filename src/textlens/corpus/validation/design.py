"""The labelled sample as an estimation design: which sentences carry a usable label, their
weights, and the recalibrated classifier every measure and correction shares.

Weights are post-stratified: a labelled sentence of stratum h (the sample's strata: group x
confidence band) weighs N_h / m_h, N_h the stratum's sentences in the run and m_h its labelled
ones. For a sample labelled in full this is the design weight 1 / inclusion probability
(Horvitz-Thompson); for a sample labelled in part it assumes the unlabelled ones are missing at
random within their stratum; a stratum left without labels is folded into its confidence band
(its sentences spread over the band's labelled ones), then into the whole corpus. Labels
given outside the drawn sample (a convenience sample) get the same post-stratified weights:
the estimates then rest on a non-probability sample, and every result says so.

Recalibration: the labels may use classes the model lacks (neutral for a binary sentiment
model). A multinomial logistic regression on the model's log-probabilities (for two classes,
its logit), fitted with the weights on the labelled sentences, maps the model's output onto the
labelled classes; its figures on the labelled sample are out-of-fold (5-fold cross-fitting),
so no sentence is scored by a fit that saw its label.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from textlens.errors import DataError, InputError

FOLDS = 5


@dataclass(frozen=True)
class LabelledData:
    """A run's sentences (`corpus`: doc_id, sentence_id, validation_id, label, group columns,
    stratum) with their model features, and the labelled ones (`rows` into corpus, class index
    `y` into `classes`, post-stratified `weights`, `strata`)."""

    run_dir: Path
    classes: tuple[str, ...]
    model_classes: tuple[str, ...]
    by: tuple[str, ...]  # the run's group-by columns
    corpus: pd.DataFrame
    features: np.ndarray
    rows: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    strata: np.ndarray
    n_in_sample: int
    n_convenience: int
    n_undecided: int  # unsure / skip
    weighting: str
    info: dict

    @property
    def non_probability(self) -> bool:
        return self.n_convenience > 0

    def counts(self) -> dict[str, int]:
        return {c: int((self.y == i).sum()) for i, c in enumerate(self.classes)}


def load_labelled(run_dir: str | Path, use_convenience: bool = True) -> LabelledData:
    """Everything measure() and correct_shares() need, read once from RUN."""
    from textlens.corpus.validation.labels import RESERVED_LABELS, current_labels, label_set
    from textlens.corpus.validation.sample import assign_strata, model_class_names
    from textlens.store.corpus_db import connect, read_table, run_info_values

    with connect(run_dir, read_only=True) as con:
        info = run_info_values(con)
        if info.get("head") == "multi_label":
            raise InputError("Validation of a multi-label run is not supported: a sentence "
                             "there has one yes/no per label, not one class.",
                             "validate a single-label classifier's run.")
        classes = label_set(con)
        model_classes = model_class_names(info)
        by = tuple(info.get("group_by") or [])
        design_by = tuple((info.get("validation_design") or {}).get("by") or ())
        probs = [c for c in con.execute("DESCRIBE sentences").fetchdf()["column_name"]
                 if c.startswith("p_")]
        corpus = read_table(con, "SELECT s.doc_id, s.sentence_id, s.label, s.confidence, "
                                 + ", ".join(f's."{c}"' for c in probs)
                                 + (", " + ", ".join(f'd."{c}"' for c in by) if by else "")
                                 + " FROM sentences s JOIN documents d USING (doc_id) "
                                 "ORDER BY s.doc_id, s.sentence_id")
        labels = current_labels(con)
    corpus["validation_id"] = corpus["doc_id"] + ":" + corpus["sentence_id"].astype(str)
    corpus["stratum"] = assign_strata(corpus, [c for c in design_by if c in corpus.columns])
    corpus["band"] = assign_strata(corpus, [])
    if not use_convenience:
        labels = labels[labels["in_sample"].astype(bool)]
    reserved = labels["label"].str.lower().isin(RESERVED_LABELS)
    decided = labels[~reserved]
    position = pd.Series(np.arange(len(corpus)), index=corpus["validation_id"])
    decided = decided[decided["validation_id"].isin(position.index)]
    rows = position.loc[decided["validation_id"]].to_numpy()
    index = {c: i for i, c in enumerate(classes)}
    y = decided["label"].map(index).to_numpy()
    if np.isnan(y.astype(float)).any():
        raise DataError("Some labels are not among the run's validation classes.",
                        "relabel them; the classes are set when the sample is drawn.")
    weights, weighting = post_stratify(corpus, rows)
    return LabelledData(Path(run_dir), tuple(classes), tuple(model_classes), by, corpus,
                        features(corpus[probs].to_numpy()), rows, y.astype(int), weights,
                        corpus["stratum"].to_numpy()[rows],
                        int(decided["in_sample"].astype(bool).sum()),
                        int((~decided["in_sample"].astype(bool)).sum()),
                        int(reserved.sum()), weighting, info)


def features(probs: np.ndarray) -> np.ndarray:
    """The model's output as regression features: its logit for two classes, else the
    log-probabilities (clipped at 1e-6: a probability of exactly 0 has no log)."""
    logp = np.log(np.clip(probs, 1e-6, 1.0))
    return (logp[:, 1:] - logp[:, :1]) if probs.shape[1] == 2 else logp


def post_stratify(corpus: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, str]:
    """Weights N_h / m_h of the labelled rows; strata without labels folded into their band,
    a band without labels into the whole corpus (see the module docstring)."""
    if len(rows) == 0:
        return np.zeros(0), "no labels"
    strata = corpus["stratum"].to_numpy()
    sizes = corpus["stratum"].value_counts()
    labelled = pd.Series(strata[rows]).value_counts()
    weights = sizes.loc[strata[rows]].to_numpy() / labelled.loc[strata[rows]].to_numpy()
    empty = sizes.index.difference(labelled.index)
    if not len(empty):
        return weights, f"post-stratified over {len(sizes)} strata (group x confidence band)"
    bands = corpus["band"].to_numpy()
    missing = corpus.loc[corpus["stratum"].isin(empty), "band"].value_counts()
    band_of_rows = bands[rows]
    covered = pd.Series(weights).groupby(band_of_rows).sum()
    for band, count in missing.items():
        if band in covered.index:
            mask = band_of_rows == band
            weights[mask] *= (covered[band] + count) / covered[band]
    total = len(corpus)
    if weights.sum() < total - 1e-6:  # whole bands without labels: spread over all
        weights *= total / weights.sum()
    return weights, (f"post-stratified over {len(sizes)} strata; {len(empty)} strata "
                     f"({int(missing.sum())} sentences) without labels folded into their "
                     "confidence band")


def fit_calibrator(x: np.ndarray, y: np.ndarray, w: np.ndarray, n_classes: int):
    """The recalibration: a weighted multinomial logistic regression (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    # newton-cg: ~7x faster than lbfgs on these few features (8.5 vs 58 ms a fit, measured
    # on 150 labels under load 13), which the bootstrap repeats 6 times a replicate.
    model = LogisticRegression(C=1.0, max_iter=500, solver="newton-cg")
    model.fit(x, y, sample_weight=w / w.mean())
    return _Calibrated(model, n_classes)


@dataclass(frozen=True)
class _Calibrated:
    model: object
    n_classes: int

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities over all classes (0 for a class the fit never saw)."""
        out = np.zeros((len(x), self.n_classes))
        out[:, self.model.classes_] = self.model.predict_proba(x)  # type: ignore[attr-defined]
        return out


def crossfit(x: np.ndarray, y: np.ndarray, w: np.ndarray, n_classes: int,
             rng: np.random.Generator) -> np.ndarray:
    """Out-of-fold posteriors of the recalibration: each labelled sentence scored by a fit on
    the other folds (folds balanced by class)."""
    folds = np.empty(len(y), dtype=int)
    for c in range(n_classes):
        members = np.flatnonzero(y == c)
        folds[members] = rng.permutation(np.arange(len(members)) % FOLDS)
    out = np.zeros((len(y), n_classes))
    for k in range(FOLDS):
        test = folds == k
        if not test.any():
            continue
        train = ~test
        if len(np.unique(y[train])) < 2:
            out[test] = np.bincount(y[train], weights=w[train], minlength=n_classes) / w[
                train].sum()
            continue
        out[test] = fit_calibrator(x[train], y[train], w[train], n_classes).predict_proba(
            x[test])
    return out


def stratified_resample(strata: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of a bootstrap replicate: each stratum's labelled rows resampled with
    replacement, as many as it has."""
    out = []
    for name in np.unique(strata):
        members = np.flatnonzero(strata == name)
        out.append(members[rng.integers(0, len(members), len(members))])
    return np.concatenate(out) if out else np.zeros(0, dtype=int)
