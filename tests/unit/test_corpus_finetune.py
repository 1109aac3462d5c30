"""`train classification --init MODEL --data RUN`: the head grown for a new class, cross-fitted
out-of-fold predictions, what training.json and RUN record, resume, and bad input refused."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest
import torch

from tests.unit.test_corpus_run import FAST, make_corpus
from textlens.errors import DataError, ModelError, TextlensError
from textlens.training.corpus import CorpusFinetune, finetune_on_run
from textlens.training.corpus_labels import labelled_sentences, stratified_folds
from textlens.training.head import check_classes, grow_head

TONE = {"welcome": "positive", "hope": "positive", "thank": "positive", "war": "negative",
        "terrorism": "negative", "poverty": "negative"}


def tone(text: str) -> str:
    words = text.lower()
    return next((v for k, v in TONE.items() if k in words), "neutral")


@pytest.fixture(scope="module")
def labelled_template(tmp_path_factory):
    """A corpus run of the tiny model whose every sentence is labelled by its words (one CSV
    import), with 'neutral' among the run's classes (the model has negative / positive)."""
    import pandas as pd

    from tests.conftest import _tiny
    from textlens.corpus.pipeline import run
    from textlens.corpus.validation import draw_validation_sample, import_sheet

    tmp = tmp_path_factory.mktemp("finetune")
    root = make_corpus(tmp / "ungdc", countries=("USA", "FRA", "PRK", "GBR"),
                       years=(2016, 2017, 2018))
    run_dir = tmp / "run"
    run(_tiny("classification"), root, run_dir, FAST, progress=False)
    con = duckdb.connect(str(run_dir / "textlens.duckdb"), read_only=True)
    rows = con.execute("SELECT doc_id, sentence_id, text FROM sentences").fetchall()
    con.close()
    draw_validation_sample(run_dir, len(rows), seed=0,
                           classes=("negative", "neutral", "positive"))
    sheet = pd.DataFrame({"validation_id": [f"{d}:{s}" for d, s, _ in rows],
                          "label": [tone(t) for _, _, t in rows]})
    sheet.loc[0, "label"] = "unsure"  # a decision, not a class: not trained on
    sheet.to_csv(tmp / "labels.csv", index=False)
    import_sheet(run_dir, tmp / "labels.csv")
    return run_dir


@pytest.fixture
def labelled_run(labelled_template, tmp_path):
    import shutil

    return shutil.copytree(labelled_template, tmp_path / "run")


@pytest.fixture
def init_dir(tiny_classifier, tmp_path):
    from textlens.models.loading import save_model

    return save_model(tiny_classifier, tmp_path / "init")


def test_grown_head_keeps_old_logits_and_starts_new_class_at_their_mean(make_tiny):
    loaded = make_tiny("classification", seed=3)
    enc = loaded.tokenizer(["a fine day", "war and misery"], return_tensors="pt", padding=True)
    with torch.no_grad():
        before = loaded.model(**enc).logits
    grown = grow_head(loaded, ("negative", "positive", "neutral"))
    with torch.no_grad():
        after = grown.model(**enc).logits
    assert grown.label_names == ("negative", "positive", "neutral")
    assert grown.model.config.id2label[2] == "neutral" and grown.model.config.num_labels == 3
    torch.testing.assert_close(after[:, :2], before)
    torch.testing.assert_close(after[:, 2], before.mean(dim=1))


def test_model_classes_not_in_the_run_are_refused_naming_both_sets():
    assert check_classes(("negative", "positive"), ("negative", "neutral", "positive"), "M",
                         "R") == ("negative", "positive", "neutral")
    with pytest.raises(ModelError) as err:
        check_classes(("joy", "anger"), ("negative", "positive"), "M", "R")
    assert "['joy', 'anger']" in err.value.problem and "['negative', 'positive']" in \
        err.value.problem and err.value.fix


def test_folds_are_seeded_and_stratified():
    labels = ["a"] * 10 + ["b"] * 6 + ["c"] * 4
    fold = stratified_folds(labels, 2, seed=5)
    assert (fold == stratified_folds(labels, 2, seed=5)).all()
    for c in "abc":
        members = fold[np.array(labels) == c]
        assert abs((members == 0).sum() - (members == 1).sum()) <= 1


def test_finetune_on_run_cross_fits_and_records(labelled_run, init_dir, tmp_path):
    out = tmp_path / "tuned"
    options = CorpusFinetune(folds=2, epochs=1, batch_size=16, lr=1e-3, max_length=32,
                             min_labels=10)
    record = finetune_on_run(init_dir, labelled_run, out, options, device="cpu")
    labelled = labelled_sentences(labelled_run)
    saved = json.loads((out / "training.json").read_text())
    assert saved["labels"] == ["negative", "positive", "neutral"]
    assert saved["classes_added"] == ["neutral"] and saved["folds"] == 2
    assert saved["labels_used"] == len(labelled) and saved["labels_unsure_or_skipped"] == 1
    assert sum(saved["fold_sizes"]) == len(labelled)
    con = duckdb.connect(str(labelled_run / "textlens.duckdb"), read_only=True)
    oof = con.execute("SELECT validation_id, label, predicted, fold FROM crossfit_predictions "
                      "ORDER BY validation_id").fetchdf()
    con.close()
    assert list(oof["validation_id"]) == list(labelled.ids)
    w = np.asarray(labelled.weights)  # post-stratified: N_h / labelled in stratum h
    right = ((oof["label"] == oof["predicted"]).to_numpy() * w).sum() / w.sum()
    assert record["out_of_fold"]["accuracy"] == pytest.approx(right)
    assert not (out.with_name("tuned.checkpoint")).exists()

    from textlens.models.loading import load_model

    assert load_model(out).label_names == ("negative", "positive", "neutral")


def test_a_killed_finetune_resumes_without_refitting_finished_folds(labelled_run, init_dir,
                                                                     tmp_path, monkeypatch):
    import textlens.training.corpus as corpus_training

    real = corpus_training.train_loop
    calls: list[str] = []

    def dies_on_final(model, batch_at, config, checkpoint_dir, description="Training"):
        calls.append(checkpoint_dir.name)
        if checkpoint_dir.name == "final":
            raise KeyboardInterrupt
        return real(model, batch_at, config, checkpoint_dir, description)

    options = CorpusFinetune(folds=2, epochs=1, batch_size=16, lr=1e-3, max_length=32,
                             min_labels=10)
    monkeypatch.setattr(corpus_training, "train_loop", dies_on_final)
    with pytest.raises(KeyboardInterrupt):
        finetune_on_run(init_dir, labelled_run, tmp_path / "tuned", options, device="cpu")
    assert calls == ["fold-0", "fold-1", "final"]
    calls.clear()
    monkeypatch.setattr(corpus_training, "train_loop",
                        lambda *a, **k: calls.append(a[3].name) or real(*a, **k))
    finetune_on_run(init_dir, labelled_run, tmp_path / "tuned", options, device="cpu")
    assert calls == ["final"]


def test_too_few_labels_is_a_clear_error(labelled_run, init_dir, tmp_path):
    with pytest.raises(DataError) as err:
        finetune_on_run(init_dir, labelled_run, tmp_path / "tuned",
                        CorpusFinetune(folds=5, min_labels=1000), device="cpu")
    assert "Too few labels" in err.value.problem and "label more" in err.value.fix
    assert not (tmp_path / "tuned").exists()


def test_a_model_with_other_classes_is_refused_before_training(labelled_run, make_tiny,
                                                               tmp_path):
    from textlens.models.loading import save_model

    other = save_model(make_tiny("classification", label_names=("joy", "anger")),
                       tmp_path / "emotions")
    with pytest.raises(ModelError) as err:
        finetune_on_run(other, labelled_run, tmp_path / "tuned", CorpusFinetune(folds=2),
                        device="cpu")
    assert "joy" in err.value.problem and "neutral" in err.value.problem
    assert not (tmp_path / "tuned").exists()


def test_mixed_with_the_original_training_data(labelled_run, init_dir, tmp_path, data_dir):
    out = tmp_path / "tuned"
    options = CorpusFinetune(folds=2, epochs=1, batch_size=16, lr=1e-3, max_length=32,
                             min_labels=10, mix="sst2", mix_ratio=0.5)
    record = finetune_on_run(init_dir, labelled_run, out, options, device="cpu",
                             data_dir=data_dir)
    n = record["labels_used"]
    assert record["mix"] == {"data": "sst2", "ratio": 0.5, "examples": round(0.5 * n)}
    assert record["train_examples"] == n  # the corpus labels; the mix is counted apart
    # The SST-2 validation split scored by the 3-class model, its labels renumbered by name.
    assert record["metrics"]["n"] == 872 and record["metrics"]["labels"] == [
        "negative", "positive", "neutral"]
    assert record["steps"] == -(-(n + round(0.5 * n)) // 16)  # one epoch over labels + mix


def test_cli_finetunes_and_refuses_bad_input(labelled_run, init_dir, tmp_path):
    from typer.testing import CliRunner

    from textlens.cli.main import app

    runner = CliRunner()
    base = ["train", "classification", "--init", str(init_dir), "--out", str(tmp_path / "m")]
    not_a_run = runner.invoke(app, [*base, "--data", "sst2"])
    assert isinstance(not_a_run.exception, TextlensError)
    assert "not a corpus run folder" in str(not_a_run.exception)
    steps = runner.invoke(app, [*base, "--data", str(labelled_run), "--max-steps", "5"])
    assert isinstance(steps.exception, TextlensError) and "--epochs" in steps.exception.fix
    ok = runner.invoke(app, [*base, "--data", str(labelled_run), "--folds", "2", "--epochs",
                             "1", "--max-length", "32", "--device", "cpu"])
    assert ok.exit_code == 0, ok.output
    assert "out-of-fold" in ok.output and "added ['neutral']" in ok.output
    assert "textlens validate compare" in ok.output
