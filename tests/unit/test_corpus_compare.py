"""`textlens validate compare RUN_A RUN_B`: flips, the paired accuracy change scored out of fold, the
shares of both runs, labels carried into B, and runs over different corpora refused."""

from __future__ import annotations

import json
import shutil

import duckdb
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.unit.test_corpus_finetune import labelled_template  # noqa: F401 (fixture)
from tests.unit.test_corpus_run import FAST
from textlens.errors import DataError


@pytest.fixture(scope="module")
def two_runs(labelled_template, tmp_path_factory):  # noqa: F811
    """A (the tiny model, labelled) and B (the model fine-tuned on A's labels)."""
    from tests.conftest import _tiny
    from textlens.corpus.pipeline import run
    from textlens.models.loading import load_model, save_model
    from textlens.training.corpus import CorpusFinetune, finetune_on_run

    tmp = tmp_path_factory.mktemp("compare")
    run_a = shutil.copytree(labelled_template, tmp / "run_a")
    init = save_model(_tiny("classification"), tmp / "init")
    finetune_on_run(init, run_a, tmp / "tuned", CorpusFinetune(
        folds=2, epochs=1, batch_size=16, lr=1e-3, max_length=32, min_labels=10), device="cpu")
    run(load_model(tmp / "tuned", device="cpu"), labelled_template.parent / "ungdc",
        tmp / "run_b", FAST, progress=False)
    return run_a, tmp / "run_b", labelled_template.parent / "ungdc"


def _labels(run, table="sentences", column="label"):
    con = duckdb.connect(str(run / "textlens.duckdb"), read_only=True)
    frame = con.execute(f"SELECT doc_id || ':' || sentence_id AS id, {column} AS label "
                        f"FROM {table}").fetchdf().set_index("id")["label"]
    con.close()
    return frame


def test_compare_counts_flips_and_scores_b_out_of_fold(two_runs):
    from textlens.corpus.compare import compare_runs
    from textlens.corpus.validation.design import load_labelled

    run_a, run_b, _ = two_runs
    result = compare_runs(run_a, run_b, n_examples=2, n_boot=20)
    a, b = _labels(run_a), _labels(run_b)
    assert result.n_sentences == len(a)
    assert result.n_flipped == int((a != b.loc[a.index]).sum()) == int(result.flips["n"].sum())
    assert (result.examples["label_a"] != result.examples["label_b"]).all()
    data = load_labelled(run_a, use_convenience=False)
    ids = data.corpus["validation_id"].to_numpy()[data.rows]
    gold = np.array([data.classes[i] for i in data.y], dtype=object)
    con = duckdb.connect(str(run_a / "textlens.duckdb"), read_only=True)
    oof = con.execute("SELECT validation_id, predicted FROM crossfit_predictions").fetchdf()
    con.close()
    oof = oof.set_index("validation_id")["predicted"]
    w = data.weights
    assert result.accuracy.n == len(ids)
    assert result.accuracy.accuracy_a.value == pytest.approx(
        (w * (a.loc[ids].to_numpy() == gold)).sum() / w.sum())
    assert result.accuracy.accuracy_b.value == pytest.approx(
        (w * (oof.loc[ids].to_numpy() == gold)).sum() / w.sum())
    assert "B: out-of-fold" in result.accuracy_source
    lo, hi = result.accuracy.change.low, result.accuracy.change.high
    assert lo <= result.accuracy.change.value <= hi
    assert {"naive"} <= set(result.shares["method"])
    assert any("copied" in n for n in result.notes)
    # B now holds A's sample and labels (same ids), its own predictions in `validation`.
    sample_b = _labels(run_b, "validation", "predicted")
    assert set(sample_b.index) == set(_labels(run_a, "validation", "predicted").index)
    assert (sample_b == b.loc[sample_b.index]).all()


def test_cli_writes_json_and_escaped_html(two_runs, tmp_path):
    from textlens.cli.main import app

    run_a, run_b, _ = two_runs
    res = CliRunner().invoke(app, ["validate", "compare", str(run_a), str(run_b), "--json",
                                   str(tmp_path / "c.json"), "--html", str(tmp_path / "c.html"),
                                   "--bootstrap", "10"])
    assert res.exit_code == 0, res.output
    assert "changed label" in res.output and "Accuracy on the same" in res.output
    saved = json.loads((tmp_path / "c.json").read_text())
    assert saved["n_sentences"] > 0 and saved["accuracy"]["n"] > 0
    page = (tmp_path / "c.html").read_text()
    assert "<script>alert(1)</script>" not in page  # corpus text escaped


def test_runs_over_different_corpora_are_refused(two_runs, tmp_path):
    from dataclasses import replace

    from tests.conftest import _tiny
    from textlens.corpus.compare import compare_runs
    from textlens.corpus.pipeline import run

    run_a, _, root = two_runs
    other = tmp_path / "usa_only"
    run(_tiny("classification"), root, other, replace(FAST, where="country = 'USA'"),
        progress=False)
    with pytest.raises(DataError) as err:
        compare_runs(run_a, other)
    assert "not runs over the same corpus" in err.value.problem and "--where" in err.value.fix

