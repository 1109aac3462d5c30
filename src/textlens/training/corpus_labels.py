"""The labelled corpus sentences of a run, read for fine-tuning: the researcher's current labels
as the validation design reads them (classes, post-stratified weights, strata), the sentences'
text, and seeded stratified folds for cross-fitting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textlens.errors import DataError


@dataclass(frozen=True)
class LabelledSentences:
    """One row per labelled sentence (a class, not unsure/skip), as the validation design
    reads them (`corpus.validation.design.load_labelled`), with their text."""

    run: Path
    classes: tuple[str, ...]  # the run's validation classes, in the run's order
    ids: tuple[str, ...]  # validation_id = "doc_id:sentence_id"
    texts: tuple[str, ...]
    labels: tuple[str, ...]  # class names
    weights: tuple[float, ...]  # post-stratified design weights (as `validate measure`)
    strata: tuple[str, ...]  # sampling strata (group x confidence band)
    outside_sample: int  # labels given outside the drawn sample (convenience)
    not_used: int  # sentences whose current decision is unsure or skip

    def __len__(self) -> int:
        return len(self.ids)

    def counts(self) -> dict[str, int]:
        return {c: sum(label == c for label in self.labels) for c in self.classes}


def labelled_sentences(run_dir: str | Path) -> LabelledSentences:
    """RUN's current labels with their text, weight and stratum (none: an empty value)."""
    from textlens.corpus.validation.design import load_labelled
    from textlens.store.corpus_db import connect

    run = Path(run_dir)
    data = load_labelled(run)
    picked = data.corpus.iloc[data.rows][["doc_id", "sentence_id", "validation_id"]]
    with connect(run, read_only=True) as con:
        con.register("wanted_view", picked.reset_index(drop=True).reset_index())
        texts = con.execute("SELECT s.text FROM wanted_view w JOIN sentences s "
                            "USING (doc_id, sentence_id) ORDER BY w.index").fetchall()
        con.unregister("wanted_view")
    return LabelledSentences(
        run, tuple(data.classes), tuple(str(i) for i in picked["validation_id"]),
        tuple(str(t[0]) for t in texts), tuple(data.classes[i] for i in data.y),
        tuple(float(w) for w in data.weights), tuple(str(h) for h in data.strata),
        data.n_convenience, data.n_undecided)


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
