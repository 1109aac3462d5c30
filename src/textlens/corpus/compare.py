"""Two runs of the same corpus by two models (typically the original and one fine-tuned on the
first run's labels): per group the naive and corrected shares of both, the sentences whose label
flipped, and the accuracy change on the same labelled sentences, with intervals.

Which predictions are scored: a model fine-tuned with `train classification --init M --data
RUN_A` saw RUN_A's labels, so its own run's predictions on them are in-sample (optimistic).
Its out-of-fold predictions (RUN_A's `crossfit_predictions`, found by the model fingerprint
RUN_B records) are used instead, for the accuracy and for the correction's fit on the labelled
sentences; without them the comparison says the figures may be in-sample.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from textlens.errors import DataError
from textlens.metrics.paired import AccuracyChange, accuracy_change

KEYS = ["doc_id", "sentence_id"]


@dataclass(frozen=True)
class RunComparison:
    run_a: Path
    run_b: Path
    by: tuple[str, ...]
    shares: pd.DataFrame  # *by, class, method, share/ci of a and b (suffixes _a, _b), too_few
    shares_message_a: str
    shares_message_b: str
    n_sentences: int
    n_flipped: int
    flips: pd.DataFrame  # label_a, label_b, n (only pairs that differ)
    examples: pd.DataFrame  # per flip: doc_id, sentence_id, *by, text, label/confidence a and b
    accuracy: AccuracyChange | None
    accuracy_source: str
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return json.loads(frame.to_json(orient="records", force_ascii=False))

        return {"run_a": str(self.run_a), "run_b": str(self.run_b), "by": list(self.by),
                "n_sentences": self.n_sentences, "n_flipped": self.n_flipped,
                "flips": records(self.flips), "examples": records(self.examples),
                "accuracy": self.accuracy.to_dict() if self.accuracy else None,
                "accuracy_source": self.accuracy_source, "shares": records(self.shares),
                "shares_message_a": self.shares_message_a,
                "shares_message_b": self.shares_message_b, "notes": list(self.notes)}


def _info(run: Path) -> dict[str, Any]:
    from textlens.store.corpus_db import connect, run_info_values

    with connect(run, read_only=True) as con:
        info = run_info_values(con)
    info["fingerprint"] = json.loads(info.get("fingerprint") or "{}")
    return info


def check_same_corpus(run_a: Path, run_b: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both runs' run_info; refuse runs over different documents or selections."""
    a, b = _info(run_a), _info(run_b)
    fa, fb = a["fingerprint"], b["fingerprint"]
    for key, what in (("corpus", "documents"), ("where", "--where selection")):
        if fa.get(key) != fb.get(key):
            raise DataError(
                f"{run_a} and {run_b} are not runs over the same corpus: their {what} differ "
                f"({fa.get(key)!r} vs {fb.get(key)!r}).",
                "rerun `textlens corpus` with the new --model on the same --data and --where "
                "as the first run, into a new --out, and compare those two.")
    if list(a.get("group_by") or []) != list(b.get("group_by") or []):
        raise DataError(f"{run_a} groups by {a.get('group_by')}, {run_b} by {b.get('group_by')}.",
                        "rerun the second with the same --group-by.")
    return a, b


def compare_runs(run_a: str | Path, run_b: str | Path, n_examples: int = 5, n_boot: int = 200,
                 seed: int = 0, methods: tuple[str, ...] = ("acc", "pacc", "emq"),
                 carry_labels: bool = True) -> RunComparison:
    """Compare RUN_B with RUN_A (see the module docstring). `carry_labels`: when RUN_B has no
    validation sample, RUN_A's (sample, labels, classes) is copied into it first, so RUN_B's
    corrected shares, and its dashboard, rest on the same labels."""
    run_a, run_b = Path(run_a), Path(run_b)
    info_a, info_b = check_same_corpus(run_a, run_b)
    by = tuple(info_a.get("group_by") or ())
    notes: list[str] = []
    if carry_labels and copy_validation(run_a, run_b):
        notes.append(f"{run_b.name} had no validation sample: {run_a.name}'s sample and labels "
                     "were copied into it (same corpus, same design weights).")
    crossfit = _crossfit(run_a)
    oof_b = _oof_for(crossfit, info_b["fingerprint"].get("model"))
    oof_a = _oof_for(crossfit, info_a["fingerprint"].get("model"))
    joined, flips, examples = _flips(run_a, run_b, by, n_examples, seed)
    accuracy, source = _accuracy(run_a, joined, oof_a, oof_b, n_boot, seed, notes)
    shares_a, message_a = _shares(run_a, oof_a, methods, n_boot, seed)
    shares_b, message_b = _shares(run_b, oof_b, methods, n_boot, seed)
    on = [*by, "class", "method"]
    keep = ["share", "ci_low", "ci_high", "too_few"]
    shares = shares_a[[*on, *keep]].merge(shares_b[[*on, *keep]], on=on, how="outer",
                                          suffixes=("_a", "_b"))
    return RunComparison(run_a, run_b, by, shares, message_a, message_b, len(joined),
                         int((joined["label_a"] != joined["label_b"]).sum()), flips, examples,
                         accuracy, source, tuple(notes))


def copy_validation(run_a: Path, run_b: Path) -> bool:
    """RUN_A's validation sample and label log into RUN_B (its `predicted` and `confidence`
    columns from RUN_B's sentences); nothing when RUN_B has a sample of its own."""
    from textlens.store.corpus_db import connect, read_table, replace_tables, run_info_values

    with connect(run_b, read_only=True) as con:
        if "validation" in {r[0] for r in con.execute("SHOW TABLES").fetchall()}:
            return False
    with connect(run_a, read_only=True) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "validation" not in tables:
            return False
        sample = read_table(con, "SELECT * FROM validation")
        labels = read_table(con, "SELECT * FROM validation_labels") \
            if "validation_labels" in tables else None
        info = run_info_values(con)
    with connect(run_b) as con:
        con.register("sample_view", sample[KEYS])
        ours = read_table(con, "SELECT s.doc_id, s.sentence_id, s.label AS predicted, "
                               "s.confidence FROM sample_view JOIN sentences s USING "
                               "(doc_id, sentence_id)")
        con.unregister("sample_view")
        sample = sample.drop(columns=["predicted", "confidence"]).merge(ours, on=KEYS,
                                                                        how="left")
        tables_b = {"validation": sample, **({"validation_labels": labels}
                                             if labels is not None else {})}
        replace_tables(con, tables_b, {k: info[k] for k in ("validation_classes",
                                                            "validation_design") if k in info})
        con.execute("CHECKPOINT")
    return True


def _crossfit(run: Path) -> pd.DataFrame:
    from textlens.store.corpus_db import CROSSFIT_TABLE, connect, read_table

    with connect(run, read_only=True) as con:
        if CROSSFIT_TABLE not in {r[0] for r in con.execute("SHOW TABLES").fetchall()}:
            return pd.DataFrame(columns=["model", "validation_id", "predicted", "probabilities",
                                         "classes", "model_dir"])
        return read_table(con, f"SELECT * FROM {CROSSFIT_TABLE}")


def _oof_for(crossfit: pd.DataFrame, model: str | None) -> pd.DataFrame | None:
    rows = crossfit[crossfit["model"] == model]
    return rows.set_index("validation_id") if len(rows) else None


def _flips(run_a: Path, run_b: Path, by: tuple[str, ...], n_examples: int,
           seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    from textlens.store.corpus_db import connect, read_table

    frames = []
    for run in (run_a, run_b):
        with connect(run, read_only=True) as con:
            frames.append(read_table(con, "SELECT doc_id, sentence_id, label, confidence "
                                          "FROM sentences"))
    joined = frames[0].merge(frames[1], on=KEYS, how="inner", suffixes=("_a", "_b"))
    if len(joined) != len(frames[0]) or len(joined) != len(frames[1]):
        raise DataError(f"{run_a} and {run_b} hold different sentences ({len(frames[0])} vs "
                        f"{len(frames[1])}, {len(joined)} shared).",
                        "finish both runs (rerun `textlens corpus` on each --out) with the "
                        "same segmenter.")
    changed = joined[joined["label_a"] != joined["label_b"]]
    flips = (changed.groupby(["label_a", "label_b"]).size().rename("n").reset_index()
             .sort_values("n", ascending=False, kind="stable").reset_index(drop=True))
    rng = np.random.default_rng(seed)
    picked = [rows.iloc[np.sort(rng.choice(len(rows), min(n_examples, len(rows)),
                                           replace=False))]
              for _, rows in changed.groupby(["label_a", "label_b"])] if n_examples else []
    examples = pd.concat(picked) if picked else changed.head(0)
    with connect(run_a, read_only=True) as con:
        con.register("wanted_view", examples[KEYS])
        cols = ", ".join(f'd."{c}"' for c in by)
        texts = read_table(con, f"SELECT s.doc_id, s.sentence_id, s.text{', ' + cols if by else ''}"
                                " FROM wanted_view w JOIN sentences s USING (doc_id, sentence_id)"
                                " JOIN documents d USING (doc_id)")
        con.unregister("wanted_view")
    examples = examples.merge(texts, on=KEYS, how="left")
    return joined, flips, examples[[*KEYS, *by, "text", "label_a", "label_b", "confidence_a",
                                    "confidence_b"]]


def _accuracy(run_a: Path, joined: pd.DataFrame, oof_a, oof_b, n_boot: int, seed: int,
              notes: list[str]) -> tuple[AccuracyChange | None, str]:
    """Accuracy of both on RUN_A's labelled in-sample sentences, design-weighted, paired."""
    from textlens.corpus.validation.design import load_labelled

    try:
        data = load_labelled(run_a, use_convenience=False)
    except DataError as exc:
        return None, f"no accuracy: {exc.problem}"
    from textlens.corpus.validation.correct import MIN_LABELS

    if not len(data.y):
        return None, f"no accuracy: {run_a.name} has no labels in its validation sample yet."
    if len(data.y) < MIN_LABELS:
        return None, (f"no accuracy: only {len(data.y)} labelled sentences in {run_a.name}'s "
                      f"sample (at least {MIN_LABELS} needed for an interval worth reading).")
    ids = data.corpus["validation_id"].to_numpy()[data.rows]
    gold = [data.classes[i] for i in data.y]
    by_id = joined.assign(validation_id=joined["doc_id"] + ":" + joined["sentence_id"]
                          .astype(str)).set_index("validation_id")
    sources = []
    predicted = []
    for name, oof, column in (("A", oof_a, "label_a"), ("B", oof_b, "label_b")):
        if oof is not None and set(ids) <= set(oof.index):
            predicted.append(oof.loc[ids, "predicted"].tolist())
            sources.append(f"{name}: out-of-fold predictions (cross-fitted, "
                           f"{oof['fold'].nunique() if 'fold' in oof else '?'} folds)")
        else:
            predicted.append(by_id.loc[ids, column].tolist())
            sources.append(f"{name}: its run's predictions")
    if oof_b is None:
        notes.append("No out-of-fold predictions of B's model on these labels were found in "
                     f"{run_a.name}: if B's model was trained on them, its accuracy here is "
                     "in-sample (optimistic).")
    change = accuracy_change(gold, predicted[0], predicted[1], data.weights, data.strata,
                             n_boot=max(n_boot, 1000), seed=seed)
    lacking = [c for c in data.classes if c not in set(predicted[0]) | set(predicted[1])]
    return change, ("; ".join(sources) + f"; {data.weighting}; every labelled sentence counts, "
                    "so one labelled with a class a model lacks is wrong for it (`validate "
                    "measure` counts only the model's own classes)"
                    + (f"; no model predicted {lacking}" if lacking else ""))


def _naive(run: Path) -> pd.DataFrame:
    """Each group's classify-and-count share of every class (no correction, no interval)."""
    from textlens.store.corpus_db import connect, read_table, run_info_values

    with connect(run, read_only=True) as con:
        by = list(run_info_values(con).get("group_by") or [])
        cols = ", ".join(f'd."{c}"' for c in by)
        counts = read_table(con, f"SELECT {cols + ', ' if by else ''}s.label AS class, "
                                 "count(*) AS n FROM sentences s JOIN documents d "
                                 f"USING (doc_id) GROUP BY ALL")
    totals = counts.groupby(by)["n"].transform("sum") if by else counts["n"].sum()
    return counts.assign(method="naive", share=counts["n"] / totals, ci_low=float("nan"),
                         ci_high=float("nan"), too_few=None).drop(columns="n")


def _shares(run: Path, oof: pd.DataFrame | None, methods: tuple[str, ...], n_boot: int,
            seed: int) -> tuple[pd.DataFrame, str]:
    """correct_shares of RUN (not stored); with out-of-fold predictions, the labelled
    sentences' model outputs are replaced by them before the correction is fitted."""
    from textlens.corpus.validation import correct
    from textlens.corpus.validation.design import features, load_labelled

    try:
        if oof is None:
            result = correct.correct_shares(run, methods, n_boot, seed, store=False)
            return result.table, result.message
        data = load_labelled(run)
    except DataError as exc:  # e.g. no validation sample: naive shares only, said so
        return _naive(run), f"No corrected shares: {exc.problem} {exc.fix}"
    ids = data.corpus["validation_id"].to_numpy()[data.rows]
    found = np.array([i in oof.index for i in ids])
    probs = np.array([json.loads(p) for p in oof.loc[ids[found], "probabilities"]])
    patched = data.features.copy()
    patched[data.rows[found]] = features(probs)
    data = replace(data, features=patched)
    problem = correct.problem_of(data)
    reasons = correct.too_few_reasons(problem, data.classes) if len(data.y) else \
        dict.fromkeys(correct.METHODS, "no labels yet")
    usable = [m for m in methods if reasons[m] is None]
    draws = correct.estimate(problem, usable, n_boot, seed)
    message = correct._message(data, usable, reasons, n_boot)
    return (correct._table(data, problem, draws, methods, reasons),
            message + f" The model's outputs on the {int(found.sum())} labelled sentences are "
                      "its out-of-fold (cross-fitted) predictions.")
