"""The whole validation loop on the six-country demo, timed step by step; writes
bench/results/corpus_loop.json.

    python bench/corpus_loop.py --run outputs/demo [--n 300] [--folds 5] [--work /tmp/loop]

Steps: copy the demo's run, draw the validation sample (300 sentences, classes negative /
neutral / positive), export the sheet, fill it and import the 300 labels, measure the
classifier and correct the group shares, fine-tune the demo model on the labels with K-fold
cross-fitting (`train classification --init`), rerun the corpus with the fine-tuned model into
a new run (the demo's options), and compare the two runs.

THE LABELS ARE A STAND-IN, NOT HUMAN JUDGEMENTS: no human labels of these sentences exist
here. Each sheet row gets the demo model's own prediction, replaced by `neutral` where its
confidence is below 0.75 (a neutral band), then 15% of the rows (seeded) moved to another
class at random. This times the loop; the accuracies and shares it prints mean nothing about
the model or the speeches.

The machine is shared (2 cores, several engineers): times are upper bounds, recorded with the
load average (bench/common.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record, timed  # noqa: E402

CLASSES = ("negative", "neutral", "positive")
STAND_IN = ("the demo model's own prediction, 'neutral' where its confidence < 0.75, then 15% "
            "of rows (seed 0) moved to another class at random: NOT human labels; the figures "
            "time the loop and say nothing about the model")


def stand_in_labels(sheet: pd.DataFrame, predicted: pd.Series, confidence: pd.Series,
                    seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    labels = np.where(confidence.to_numpy() < 0.75, "neutral", predicted.to_numpy()).astype(object)
    flip = rng.random(len(labels)) < 0.15
    for i in np.flatnonzero(flip):
        labels[i] = rng.choice([c for c in CLASSES if c != labels[i]])
    return pd.Series(labels, index=sheet.index)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", type=Path, default=Path("outputs/demo"))
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=Path("/tmp/textlens-corpus-loop"))
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--folds", type=int, default=5)  # the recorded run: 2 (time)
    parser.add_argument("--epochs", type=float, default=4.0)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()

    from textlens.cli.demo import DEMO_COUNTRIES
    from textlens.config import models_cache_dir
    from textlens.corpus.compare import compare_runs
    from textlens.corpus.options import CorpusOptions
    from textlens.corpus.pipeline import run as corpus_run
    from textlens.corpus.sampling import SamplingOptions
    from textlens.corpus.validation import (
        correct_shares,
        draw_validation_sample,
        export_sheet,
        import_sheet,
        measure,
    )
    from textlens.models import load_model
    from textlens.training.corpus import CorpusFinetune, finetune_on_run

    model = args.model or models_cache_dir() / "sentiment-minilm"
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    run_a, run_b, tuned = args.work / "demo", args.work / "demo-tuned", args.work / "tuned"
    shutil.copytree(args.run, run_a)
    times: dict[str, float] = {}
    partial = {"labels": STAND_IN, "n_sample": args.n, "folds": args.folds,
               "epochs": args.epochs, "seconds": times}

    def step_done() -> None:  # a loop stopped midway still leaves its finished steps' times
        record("corpus_loop", "six_country_demo_partial", partial)

    with timed() as t:
        drawn = draw_validation_sample(run_a, args.n, seed=0, classes=CLASSES)
    times["sample"] = t["seconds"]
    step_done()
    sheet_path = args.work / "labels.csv"
    with timed() as t:
        export_sheet(run_a, sheet_path)
        sheet = pd.read_csv(sheet_path, dtype=str, keep_default_na=False)
        frame = drawn.frame.set_index("validation_id").loc[sheet["validation_id"]]
        sheet["label"] = stand_in_labels(sheet, frame["predicted"], frame["confidence"]).values
        sheet.to_csv(sheet_path, index=False)
        report = import_sheet(run_a, sheet_path)
    times["export_fill_import"] = t["seconds"]
    step_done()
    with timed() as t:
        measured = measure(run_a)
        corrected = correct_shares(run_a)
    times["measure_and_correct"] = t["seconds"]
    step_done()
    with timed() as t:
        trained = finetune_on_run(model, run_a, tuned, CorpusFinetune(
            folds=args.folds, epochs=args.epochs), data_dir=args.data_dir)
    times["finetune_crossfit"] = t["seconds"]
    step_done()
    countries = ", ".join(f"'{c}'" for c in DEMO_COUNTRIES)
    options = CorpusOptions(where=f"country IN ({countries}) AND year BETWEEN 2016 AND 2020",
                            sampling=SamplingOptions(size=4, per_group=True), seed=0,
                            data_dir=str(args.data_dir) if args.data_dir else None)
    with timed() as t:
        rerun = corpus_run(load_model(tuned), "ungdc", run_b, options)
    times["rerun_corpus"] = t["seconds"]
    step_done()
    with timed() as t:
        comparison = compare_runs(run_a, run_b)
    times["compare"] = t["seconds"]
    times["total"] = sum(times.values())
    oof = trained["out_of_fold"]
    result = {
        "labels": STAND_IN, "n_sample": args.n, "imported": report.n_recorded,
        "sentences": rerun.n_sentences, "folds": args.folds, "epochs": args.epochs,
        "finetune_steps_final": trained["steps"], "seconds": {k: round(v, 1)
                                                             for k, v in times.items()},
        "stand_in_figures": {
            "measure_n_labels": measured.n_labels,
            "correction_n_labels": corrected.n_labels, "correction_too_few": corrected.too_few,
            "oof_accuracy": oof["accuracy"],
            "oof_change_from_init": oof["accuracy_change_from_init"]["change"],
            "compare_flipped": comparison.n_flipped,
        },
    }
    path = record("corpus_loop", "six_country_demo", result)
    print(result["seconds"], "->", path)


if __name__ == "__main__":
    main()
