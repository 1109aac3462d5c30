"""Fine-tune an existing classifier on a corpus run's validation labels, with cross-fitting.

`textlens train classification --init MODEL --data RUN`: the labelled sentences of RUN
(`corpus_labels`), optionally mixed with the model's original training data, teach MODEL the
corpus; the classes are the run's (a class the model lacks grows its head: `head`).

Cross-fitting (full K-fold): the labels are split into K seeded, stratified folds; K models are
each trained on K-1 folds and predict the fold they never saw, so every labelled sentence gets
an out-of-fold prediction, and the figures of the new model (accuracy, per-class P/R/F1, its
change from MODEL, corrected shares) rest on those only; then the final model is trained on all
labels. Why not a cheaper scheme (one held-out split): with ~300 labels a 20% hold-out measures
accuracy on 60 sentences (interval +-12 points) and the final model would lose those labels; K
extra fits cost K x the training (the labels are few, so each fit is short: measured in
bench/corpus_loop.py). The out-of-fold predictions are written to RUN's `crossfit_predictions`
table under the final model's fingerprint, so `textlens validate compare RUN RUN_NEW` scores the
new model out of fold without being told which model made RUN_NEW.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from textlens.errors import DataError, InputError, ModelError
from textlens.store.corpus_db import CROSSFIT_TABLE
from textlens.training.classification import _checkpoint_dir, classification_batches
from textlens.training.corpus_labels import (
    LabelledSentences,
    check_enough,
    labelled_sentences,
    stratified_folds,
)
from textlens.training.head import check_classes, grow_head
from textlens.training.loop import Precision, TrainConfig, train_loop


@dataclass(frozen=True)
class CorpusFinetune:
    """The recipe. Defaults: a few epochs at a low learning rate, since the model already knows
    the task and only its corpus errors are to be corrected with a few hundred labels."""

    folds: int = 5
    epochs: float = 4.0
    batch_size: int = 16
    lr: float = 3e-5
    max_length: int = 128
    seed: int = 0
    mix: str | None = None  # a dataset name or table with the model's original training data
    mix_ratio: float = 1.0  # examples of `mix` per labelled corpus sentence
    min_labels: int = 20
    checkpoint_every: int = 50
    precision: Precision = "fp32"

    def check(self) -> None:
        if not 2 <= self.folds <= 10:
            raise InputError(f"--folds {self.folds} is out of range.", "use 2 to 10 (5: default).")
        if self.epochs <= 0 or self.batch_size < 1 or self.lr <= 0:
            raise InputError("--epochs, --batch-size and --lr must be positive.",
                             "e.g. --epochs 4 --batch-size 16 --lr 3e-5.")
        if self.mix_ratio < 0:
            raise InputError(f"--mix-ratio {self.mix_ratio} is negative.",
                             "use 0 (no mix) or more (e.g. 1: as many as the labels).")

    def config(self, n_train: int) -> TrainConfig:
        steps = max(1, math.ceil(self.epochs * n_train / self.batch_size))
        return TrainConfig(steps, self.batch_size, self.lr, self.max_length, self.seed,
                           checkpoint_every=self.checkpoint_every, precision=self.precision)


def finetune_on_run(init: str | Path, run_dir: str | Path, out: str | Path,
                    options: CorpusFinetune | None = None, device: str = "auto",
                    data_dir: str | Path | None = None) -> dict[str, Any]:
    """Cross-fit, train the final model, write it (and training.json) to `out` and the
    out-of-fold predictions to RUN; returns the training record. Every check runs before the
    first step: the classes, the label counts, the mix data."""
    from textlens.config import seed_everything
    from textlens.models.heads import head_kind
    from textlens.models.loading import load_model
    from textlens.models.predict import predict_classification

    options = options or CorpusFinetune()
    options.check()
    out, run = Path(out), Path(run_dir)
    labelled = labelled_sentences(run)
    base = load_model(init, task="classification", device=device)
    if head_kind(base.model.config) != "softmax":
        raise ModelError(f"{init} has a {head_kind(base.model.config)} head; fine-tuning on "
                         "corpus labels needs a single-label softmax classifier.",
                         "pass a model trained with `textlens train classification`.")
    classes = check_classes(base.label_names, labelled.classes, str(init), str(run))
    check_enough(labelled, options.folds, options.min_labels)
    mix_texts, mix_labels, mix_validation = _mix(options, classes, len(labelled), data_dir)

    seed_everything(options.seed)
    before = predict_classification(base, list(labelled.texts), progress=False,
                                    warn_truncated=False)
    init_predicted = [before.label_names[i] for i in before.probabilities.argmax(axis=1)]
    added = [c for c in classes if c not in base.label_names]
    base = grow_head(base, classes)
    gold = [classes.index(label) for label in labelled.labels]
    fold = stratified_folds(labelled.labels, options.folds, options.seed)
    checkpoints = _checkpoint_dir(out)
    oof = np.zeros((len(labelled), len(classes)), dtype=np.float64)
    for k in range(options.folds):
        held = np.flatnonzero(fold == k)
        oof[held] = _fold(base, labelled, gold, held, fold, k, mix_texts, mix_labels, options,
                          checkpoints)

    texts = [*labelled.texts, *mix_texts]
    config = options.config(len(texts))
    final = replace(base, model=copy.deepcopy(base.model))
    seed_everything(options.seed)
    stats = train_loop(final.model, classification_batches(final, texts, [*gold, *mix_labels],
                                                           config),
                       config, checkpoints / "final", "Fine-tuning (all labels)")
    predicted = [classes[i] for i in oof.argmax(axis=1)]
    record = _record(init, run, labelled, classes, added, fold, predicted, init_predicted,
                     options, len(mix_texts))
    from textlens.training.output import finish_training

    written = finish_training(final, out, _as_dataset(labelled, classes, run), mix_validation,
                              config, stats, str(init), extra=record)
    write_crossfit(run, out, labelled, fold, classes, oof)
    return written


def _fold(base, labelled: LabelledSentences, gold: list[int], held: np.ndarray,
          fold: np.ndarray, k: int, mix_texts: list[str], mix_labels: list[int],
          options: CorpusFinetune, checkpoints: Path) -> np.ndarray:
    """Train on every fold but k, predict fold k; a finished fold is kept next to the
    checkpoints (keyed by its inputs) so a resumed run skips it."""
    from textlens.config import seed_everything
    from textlens.models.predict import predict_classification
    from textlens.store.run_db import digest

    train = np.flatnonzero(fold != k)
    texts = [labelled.texts[i] for i in train] + mix_texts
    labels = [gold[i] for i in train] + mix_labels
    config = options.config(len(texts))
    key = digest(labelled.ids, labelled.labels, fold.tolist(), k, asdict(config), len(mix_texts),
                 base.label_names, str(base.source))
    done = checkpoints / f"fold-{k}.json"
    if done.is_file():
        saved = json.loads(done.read_text())
        if saved.get("key") == key:
            return np.asarray(saved["probabilities"], dtype=np.float64)
    model = replace(base, model=copy.deepcopy(base.model))
    seed_everything(options.seed + 1 + k)
    train_loop(model.model, classification_batches(model, texts, labels, config), config,
               checkpoints / f"fold-{k}", f"Cross-fitting fold {k + 1}/{options.folds}")
    preds = predict_classification(model, [labelled.texts[i] for i in held], progress=False,
                                   warn_truncated=False)
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps({"key": key, "probabilities": preds.probabilities.tolist()}))
    return preds.probabilities.astype(np.float64)


def _mix(options: CorpusFinetune, classes: tuple[str, ...], n_labels: int,
         data_dir: str | Path | None) -> tuple[list[str], list[int], Any]:
    """`mix_ratio x n_labels` seeded examples of the original data, labels mapped to `classes`
    by name, and its validation split (mapped alike) for training.json's metrics."""
    if options.mix is None or options.mix_ratio == 0:
        return [], [], None
    from textlens.data import load_dataset

    train = load_dataset(options.mix, "train", data_dir=data_dir)
    names = list(train.label_names or ())
    unknown = [n for n in names if n not in classes]
    if unknown:
        raise DataError(f"--mix {options.mix} has classes {names}; {unknown} are not among the "
                        f"fine-tuned model's {list(classes)}.",
                        "mix data labelled with the model's classes (e.g. sst2 for a sentiment "
                        "model), or leave out --mix.")
    picked = train.sample(min(len(train), round(options.mix_ratio * n_labels)), options.seed)
    texts = [e.text for e in picked]
    labels = [classes.index(names[int(e.label)]) for e in picked]  # type: ignore[arg-type]
    try:
        validation = load_dataset(options.mix, "validation", data_dir=data_dir)
    except DataError:
        return texts, labels, None
    return texts, labels, _remap(validation, classes)


def _remap(data, classes: tuple[str, ...]):
    """`data` with its integer labels re-numbered into `classes` (by class name)."""
    from textlens.data.types import Dataset

    names = list(data.label_names or ())
    examples = tuple(replace(e, label=classes.index(names[int(e.label)])) for e in data
                     if e.label is not None)
    return Dataset(data.name, data.split, examples, data.source, classes, data.bad_rows)


def _as_dataset(labelled: LabelledSentences, classes: tuple[str, ...], run: Path):
    from textlens.data.types import Dataset, TextExample

    examples = tuple(TextExample(i, t, classes.index(label)) for i, t, label in
                     zip(labelled.ids, labelled.texts, labelled.labels, strict=True))
    return Dataset(f"corpus run {run.name}", "validation labels", examples, run, classes)


def _record(init, run: Path, labelled: LabelledSentences, classes: tuple[str, ...],
            added: list[str], fold: np.ndarray, predicted: list[str], init_predicted: list[str],
            options: CorpusFinetune, n_mix: int) -> dict[str, Any]:
    """What training.json says the model was trained on and how it measured out of fold."""
    from textlens.metrics.paired import accuracy_change, weighted_scores

    change = accuracy_change(labelled.labels, init_predicted, predicted, labelled.weights,
                             labelled.strata, seed=options.seed)
    return {
        "init": str(init), "corpus_run": str(run.resolve()), "labels_used": len(labelled),
        "label_counts": labelled.counts(), "labels_unsure_or_skipped": labelled.not_used,
        "labels_outside_sample": labelled.outside_sample,
        "classes": list(classes), "classes_added": added,
        "new_class_init": "mean of the existing head rows (weights and bias)",
        "folds": options.folds, "fold_sizes": np.bincount(fold).tolist(),
        "cross_fitting": f"{options.folds} models on {options.folds - 1} folds each predict "
                         "the fold they never saw; the final model trained on all labels",
        "epochs": options.epochs,
        "mix": {"data": options.mix, "ratio": options.mix_ratio, "examples": n_mix}
        if options.mix else None,
        "out_of_fold": {
            "design_weighted": True,
            **weighted_scores(labelled.labels, predicted, classes, labelled.weights),
            "accuracy_change_from_init": change.to_dict(),
        },
    }


def write_crossfit(run: Path, model_dir: Path, labelled: LabelledSentences, fold: np.ndarray,
                   classes: tuple[str, ...], probabilities: np.ndarray) -> None:
    """RUN's `crossfit_predictions`: the out-of-fold label and probabilities (JSON, in the
    model's class order) of each labelled sentence, keyed by the fingerprint of the model
    directory (what `corpus` records of the model it ran)."""
    from datetime import UTC, datetime

    import duckdb
    import pandas as pd

    from textlens.store.corpus_db import db_path
    from textlens.store.run_db import fingerprint_model

    model = fingerprint_model(str(model_dir))
    frame = pd.DataFrame({
        "model": model, "model_dir": str(model_dir.resolve()), "validation_id": list(labelled.ids),
        "label": list(labelled.labels), "fold": fold.astype(np.int32),
        "predicted": [classes[i] for i in probabilities.argmax(axis=1)],
        "confidence": probabilities.max(axis=1).astype(np.float64),
        "classes": json.dumps(list(classes)),
        "probabilities": [json.dumps([round(float(p), 7) for p in row]) for row in probabilities],
        "created_at": datetime.now(UTC).replace(tzinfo=None)})
    con = duckdb.connect(str(db_path(run)))
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {CROSSFIT_TABLE} (model VARCHAR, "
                    "model_dir VARCHAR, validation_id VARCHAR, label VARCHAR, fold INTEGER, "
                    "predicted VARCHAR, confidence DOUBLE, classes VARCHAR, "
                    "probabilities VARCHAR, created_at TIMESTAMP)")
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {CROSSFIT_TABLE} WHERE model = ?", [model])
        con.register("crossfit_view", frame)
        con.execute(f"INSERT INTO {CROSSFIT_TABLE} BY NAME SELECT * FROM crossfit_view")
        con.execute("COMMIT")
    finally:
        con.close()
