"""The classifier measured on the labelled sample and the corrected shares, on a run with known
truth: weighted figures against an independent computation, corrections closer to the truth
than naive counting, too few labels said instead of a number, the CLI end to end."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.corpus.validation import correct_shares, draw_validation_sample, measure
from textlens.store.corpus_db import append_labels, connect

from .corpus_store import binary_store


def _label(run_dir, truth: pd.DataFrame, ids, in_sample=True):
    t = truth.set_index("validation_id")["truth"]
    with connect(run_dir) as con:
        append_labels(con, pd.DataFrame({"validation_id": list(ids),
                                         "label": [t[v] for v in ids], "source": "csv",
                                         "in_sample": in_sample}))


@pytest.fixture
def labelled(tmp_path):
    run_dir, truth = binary_store(tmp_path / "run", n_groups=4, n_docs=5, per_doc=30)
    sample = draw_validation_sample(run_dir, 150, seed=1)
    _label(run_dir, truth, sample.frame["validation_id"])
    return run_dir, truth, sample


def test_measures_are_design_weighted(labelled):
    run_dir, truth, sample = labelled
    result = measure(run_dir, n_boot=200)
    frame = sample.frame.merge(truth, on="validation_id")
    w = frame["weight"].to_numpy()
    right = (frame["predicted"] == frame["truth"]).to_numpy()
    metrics = result.metrics.set_index(["classifier", "metric", "class"])
    accuracy = metrics.loc[("model", "accuracy", "")]
    assert accuracy["value"] == pytest.approx((w * right).sum() / w.sum())
    assert accuracy["value"] != pytest.approx(right.mean(), abs=1e-4)  # weights matter here
    assert accuracy["ci_low"] < accuracy["value"] < accuracy["ci_high"]
    pos = frame["predicted"] == "positive"
    precision = (w * (pos & (frame["truth"] == "positive"))).sum() / w[pos].sum()
    assert metrics.loc[("model", "precision", "positive"), "value"] == pytest.approx(precision)
    assert result.confusion["share"].sum() == pytest.approx(1.0)
    assert "recalibrated" in set(result.metrics["classifier"])
    con = duckdb.connect(str(run_dir / "textlens.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM validation_metrics").fetchone()[0] == len(
        result.metrics)
    con.close()


def test_corrections_beat_naive_and_cover(labelled):
    run_dir, truth, _ = labelled
    result = correct_shares(run_dir, n_boot=60)
    assert result.too_few is None and result.n_labels == 150
    true_share = truth.assign(p=truth["truth"] == "positive").groupby("country")["p"].mean()
    pos = result.table[result.table["class"] == "positive"].set_index(["country", "method"])
    naive = np.mean([abs(pos.loc[(g, "naive"), "share"] - s) for g, s in true_share.items()])
    for method in ("acc", "pacc", "emq"):
        err = np.mean([abs(pos.loc[(g, method), "share"] - s) for g, s in true_share.items()])
        assert err < naive / 2, (method, err, naive)
        covered = [pos.loc[(g, method), "ci_low"] <= s <= pos.loc[(g, method), "ci_high"]
                   for g, s in true_share.items()]
        assert sum(covered) >= 3
    shares = result.table[result.table["method"] == "emq"].groupby("country")["share"].sum()
    assert np.allclose(shares, 1.0)  # on the simplex
    con = duckdb.connect(str(run_dir / "textlens.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM corrected_groups").fetchone()[0] == len(
        result.table)
    con.close()


def test_too_few_labels_say_so(tmp_path):
    run_dir, truth = binary_store(tmp_path / "run")
    sample = draw_validation_sample(run_dir, 40, seed=0)
    _label(run_dir, truth, sample.frame["validation_id"][:20])
    result = correct_shares(run_dir, n_boot=5)
    assert result.too_few and "20 usable labels" in result.too_few
    corrected = result.table[result.table["method"] != "naive"]
    assert corrected["share"].isna().all() and corrected["too_few"].notna().all()
    assert result.table.loc[result.table["method"] == "naive", "share"].notna().all()
    assert measure(run_dir, n_boot=5).too_few


def test_neutral_labels_for_a_binary_model_are_recalibrated(tmp_path):
    run_dir, truth = binary_store(tmp_path / "run", n_groups=3, n_docs=4, per_doc=30)
    rng = np.random.default_rng(0)
    truth["truth"] = np.where(rng.random(len(truth)) < 0.3, "neutral", truth["truth"])
    sample = draw_validation_sample(run_dir, 120, classes=["negative", "neutral", "positive"])
    _label(run_dir, truth, sample.frame["validation_id"])
    outside = truth.loc[~truth["validation_id"].isin(sample.frame["validation_id"]),
                        "validation_id"][:10]
    _label(run_dir, truth, outside, in_sample=False)
    result = measure(run_dir, n_boot=50)
    assert "no class neutral" in result.message and "convenience" in result.message
    recal = result.metrics[result.metrics["classifier"] == "recalibrated"]
    assert "neutral" in set(recal["class"])
    model = result.metrics[result.metrics["classifier"] == "model"]
    assert "neutral" not in set(model["class"])
    assert set(result.confusion["true"]) == {"negative", "neutral", "positive"}
    shares = correct_shares(run_dir, n_boot=20)
    assert shares.non_probability and "non-probability" in shares.message
    assert set(shares.table.loc[shares.table["method"] == "pacc", "class"]) == {
        "negative", "neutral", "positive"}


def test_cli_loop(tmp_path):
    run_dir, truth = binary_store(tmp_path / "run", n_groups=3, n_docs=4, per_doc=20)
    runner = CliRunner()
    sheet = tmp_path / "sheet.csv"
    out = runner.invoke(app, ["validate", "sample", str(run_dir), "--n", "60", "--sheet",
                              str(sheet)])
    assert out.exit_code == 0, out.output
    filled = pd.read_csv(sheet, dtype=str, keep_default_na=False)
    t = truth.set_index("validation_id")["truth"]
    filled["label"] = [t[v] for v in filled["validation_id"]]
    filled.to_csv(sheet, index=False)
    out = runner.invoke(app, ["validate", "correct", str(run_dir), "--import", str(sheet),
                              "--bootstrap", "20"])
    assert out.exit_code == 0, out.output
    assert "60 labels recorded" in out.output and "pacc" in out.output
    page = (run_dir / "validation.html").read_text()
    assert "data:image/png;base64" in page and "naive and corrected shares per group" in page
    out = runner.invoke(app, ["validate", "sample", str(run_dir), "--n", "100000"])
    assert out.exit_code != 0


def test_labels_survive_a_rerun_and_reach_the_report(tiny_classifier, tmp_path):
    from dataclasses import replace

    from textlens.corpus.pipeline import run
    from textlens.corpus.validation import current_labels, record_label

    from .test_corpus_run import FAST, make_corpus

    root = make_corpus(tmp_path / "ungdc")
    run(tiny_classifier, root, tmp_path / "run", FAST, progress=False)
    sample = draw_validation_sample(tmp_path / "run", 12, classes=["negative", "neutral",
                                                                   "positive"])
    for i, vid in enumerate(sample.frame["validation_id"]):
        record_label(tmp_path / "run", vid, ["negative", "neutral", "positive"][i % 3])
    measure(tmp_path / "run", n_boot=10)  # too few: says so
    correct_shares(tmp_path / "run", n_boot=5)
    run(tiny_classifier, root, tmp_path / "run", FAST, progress=False)  # a rerun
    page = (tmp_path / "run" / "report.html").read_text()
    assert "Validation: the classifier on this corpus" in page
    assert "Too few labels to measure" in page and "No correction" in page
    # --overwrite recomputes every figure (the model may differ) but keeps sample and labels
    run(tiny_classifier, root, tmp_path / "run", replace(FAST, overwrite=True), progress=False)
    assert len(current_labels(tmp_path / "run")) == 12
    assert "Validation:" not in (
        tmp_path / "run" / "report.html").read_text()


def test_reference_figures_come_from_training_json(tmp_path):
    import json

    from textlens.corpus.validation.measures import reference_figures

    (tmp_path / "training.json").write_text(json.dumps({
        "data": "sst2", "validation_split": "validation", "labels": ["negative", "positive"],
        "metrics": {"accuracy": 0.85, "labels": ["negative", "positive"],
                    "confusion_matrix": [[40, 10], [5, 45]]}}))
    what, rows = reference_figures(str(tmp_path), 300, 0)
    assert "sst2/validation, 100 examples" in what
    got = {(r["metric"], r["class"]): r for r in rows}
    assert got[("accuracy", "")]["value"] == pytest.approx(0.85)
    assert got[("precision", "positive")]["value"] == pytest.approx(45 / 55)
    assert got[("recall", "positive")]["value"] == pytest.approx(45 / 50)
    assert got[("accuracy", "")]["ci_low"] < 0.85 < got[("accuracy", "")]["ci_high"]
    assert reference_figures(str(tmp_path / "none"), 10, 0) == (None, [])


def test_partly_labelled_sample_keeps_the_corpus_total(tmp_path):
    from textlens.corpus.validation.design import load_labelled

    run_dir, truth = binary_store(tmp_path / "run", n_groups=4, n_docs=5, per_doc=30)
    sample = draw_validation_sample(run_dir, 150, seed=2)
    _label(run_dir, truth, sample.frame["validation_id"][:8])  # the first 8 in draw order
    data = load_labelled(run_dir)
    assert len(data.y) == 8
    assert data.weights.sum() == pytest.approx(len(truth))
    assert "folded into their confidence band" in data.weighting
