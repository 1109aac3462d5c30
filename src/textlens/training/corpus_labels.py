"""The labelled corpus sentences of a run, read for fine-tuning: the researcher's current labels
(`textlens.corpus.validation.current_labels`), the sentences' text, their sampling weights, the
classes labelled with, and seeded stratified folds for cross-fitting."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textlens.errors import DataError

NOT_A_CLASS = ("unsure", "skip")  # reserved label values: a decision, not a class


@dataclass(frozen=True)
class LabelledSentences:
    """One row per labelled sentence (a class, not unsure/skip), in validation-id order."""

    run: Path
    classes: tuple[str, ...]  # the run's validation classes, in the run's order
    ids: tuple[str, ...]  # validation_id = "doc_id:sentence_id"
    texts: tuple[str, ...]
    labels: tuple[str, ...]  # class names
    weights: tuple[float, ...]  # design weight 1/inclusion probability (1.0 outside the sample)
    in_sample: tuple[bool, ...]
    not_used: int  # sentences whose current decision is unsure or skip

    def __len__(self) -> int:
        return len(self.ids)

    def counts(self) -> dict[str, int]:
        return {c: sum(label == c for label in self.labels) for c in self.classes}


def run_classes(con) -> tuple[str, ...]:
    """The classes the run is labelled with: run_info 'validation_classes' (the contract), else
    the labels the corpus run wrote ('labels')."""
    rows = dict(con.execute("SELECT key, value FROM run_info WHERE key IN "
                            "('validation_classes', 'labels')").fetchall())
    raw = rows.get("validation_classes") or rows.get("labels")
    return tuple(str(c) for c in json.loads(raw)) if raw else ()


def labelled_sentences(run_dir: str | Path) -> LabelledSentences:
    """Read RUN's current labels with their text and weight; a run without any is an error."""
    import duckdb

    from textlens.corpus.validation import current_labels
    from textlens.store.corpus_db import db_path

    run = Path(run_dir)
    if not db_path(run).is_file():
        raise DataError(f"No corpus run at '{run}' ({db_path(run).name} is missing).",
                        "pass the --out folder of `textlens corpus` as --data.")
    con = duckdb.connect(str(db_path(run)), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "sentences" not in tables:
            raise DataError(f"'{run}' is not a corpus run (it has no sentences table).",
                            "pass the --out folder of `textlens corpus` as --data.")
        classes = run_classes(con)
        labels = current_labels(con)
        labels = labels[labels["label"].notna()]
        decided = labels[~labels["label"].isin(NOT_A_CLASS)].sort_values("validation_id")
        if decided.empty:
            return LabelledSentences(run, classes, (), (), (), (), (), len(labels))
        keys = decided["validation_id"].str.rsplit(":", n=1, expand=True)
        frame = decided.assign(doc_id=keys[0], sentence_id=keys[1].astype(int))
        con.register("wanted_view", frame[["validation_id", "doc_id", "sentence_id"]])
        weights = ("LEFT JOIN validation v USING (validation_id)" if "validation" in tables
                   else "")
        found = con.execute(
            "SELECT w.validation_id, s.text, "
            f"{'coalesce(v.weight, 1.0)' if weights else '1.0'} AS weight "
            f"FROM wanted_view w JOIN sentences s USING (doc_id, sentence_id) {weights}"
        ).fetchdf().set_index("validation_id")
        con.unregister("wanted_view")
    finally:
        con.close()
    unknown = sorted(set(decided["validation_id"]) - set(found.index))
    if unknown:
        raise DataError(f"{len(unknown)} labelled sentence(s) are not in the run's sentences "
                        f"(e.g. '{unknown[0]}').", "label sentences of this run only.")
    decided = decided.set_index("validation_id")
    ids = tuple(str(i) for i in decided.index)
    return LabelledSentences(
        run, classes, ids, tuple(str(found.at[i, "text"]) for i in ids),
        tuple(str(x) for x in decided["label"]),
        tuple(float(found.at[i, "weight"]) for i in ids),
        tuple(bool(x) for x in decided.get("in_sample", [True] * len(ids))),
        int(len(labels) - len(decided)))


def check_enough(labelled: LabelledSentences, folds: int, minimum: int = 20) -> None:
    """Cross-fitting needs every class in every fold: refuse a sample too small for it."""
    counts = labelled.counts()
    short = {c: n for c, n in counts.items() if n < folds}
    unknown = sorted(set(labelled.labels) - set(labelled.classes))
    if unknown:
        raise DataError(f"Labels {unknown} are not among the run's classes "
                        f"{list(labelled.classes)}.", "fix the labels, or add the class to the "
                        "run's validation classes (`--classes`) before labelling.")
    if len(labelled) < minimum or short:
        detail = ", ".join(f"{c}: {n}" for c, n in counts.items())
        raise DataError(
            f"Too few labels to fine-tune with {folds}-fold cross-fitting: {len(labelled)} "
            f"labelled sentences in {labelled.run} ({detail}; {labelled.not_used} unsure or "
            f"skipped); at least {minimum} in all and {folds} of every class are needed.",
            "label more sentences (`textlens serve RUN`, Validate view, or a labels CSV), "
            "or use --folds 2.")


def stratified_folds(labels: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Fold index (0..k-1) of each label: seeded, every class spread over the folds."""
    from sklearn.model_selection import StratifiedKFold

    fold = np.zeros(len(labels), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for i, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), list(labels))):
        fold[test] = i
    return fold
