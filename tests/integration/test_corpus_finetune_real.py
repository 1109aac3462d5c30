"""The fit-to-the-corpus loop on two real UNGDC speeches and the real MiniLM: sample, import
labels, fine-tune with cross-fitting (neutral added to the head), rerun, compare.

The labels are a stand-in (the model's own prediction, neutral where it is unsure): the test
checks the mechanics on real text and a real encoder, not the model's quality."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.integration.test_corpus_real import sentiment_dir  # noqa: F401 (fixture)
from textlens.corpus.pipeline import CorpusOptions, run
from textlens.corpus.sampling import SamplingOptions

pytestmark = pytest.mark.integration


def test_finetune_rerun_and_compare_on_real_speeches(sentiment_dir, data_dir, tmp_path):  # noqa: F811
    from textlens.corpus.compare import compare_runs
    from textlens.corpus.validation import draw_validation_sample, export_sheet, import_sheet
    from textlens.models.loading import load_model
    from textlens.training.corpus import CorpusFinetune, finetune_on_run

    options = CorpusOptions(where="country IN ('FRA', 'PRK') AND year = 2019",
                            sampling=SamplingOptions(size=2), n_boot=50, domain_check=False,
                            report=False, data_dir=str(data_dir))
    run(sentiment_dir, "ungdc", tmp_path / "a", options, progress=False)
    drawn = draw_validation_sample(tmp_path / "a", 48, seed=0,
                                   classes=("negative", "neutral", "positive"))
    export_sheet(tmp_path / "a", tmp_path / "labels.csv")
    sheet = pd.read_csv(tmp_path / "labels.csv", dtype=str, keep_default_na=False)
    by_id = drawn.frame.set_index("validation_id")
    conf = by_id.loc[sheet["validation_id"], "confidence"].to_numpy()
    pred = by_id.loc[sheet["validation_id"], "predicted"].to_numpy()
    order = conf.argsort()  # the least confident third neutral: every class has labels
    labels = pred.astype(object)
    labels[order[: len(order) // 3]] = "neutral"
    for cls in ("negative", "positive"):  # both polar classes present whatever the model says
        if (labels == cls).sum() < 4:
            labels[order[-4:] if cls == "positive" else order[len(order) // 3:][:4]] = cls
    sheet["label"] = labels
    sheet.to_csv(tmp_path / "labels.csv", index=False)
    assert import_sheet(tmp_path / "a", tmp_path / "labels.csv").n_recorded == 48

    record = finetune_on_run(sentiment_dir, tmp_path / "a", tmp_path / "tuned", CorpusFinetune(
        folds=2, epochs=1, batch_size=16, max_length=64, min_labels=20), device="cpu")
    saved = json.loads((tmp_path / "tuned" / "training.json").read_text())
    assert saved["classes_added"] == ["neutral"] and saved["labels_used"] == 48
    assert 0 <= record["out_of_fold"]["accuracy"] <= 1
    tuned = load_model(tmp_path / "tuned", device="cpu")
    assert tuned.label_names == ("negative", "positive", "neutral")

    run(tuned, "ungdc", tmp_path / "b", options, progress=False)
    result = compare_runs(tmp_path / "a", tmp_path / "b", n_boot=20)
    assert result.accuracy is not None and result.accuracy.n == 48
    assert "B: out-of-fold" in result.accuracy_source
    assert result.n_sentences > 100 and 0 <= result.n_flipped <= result.n_sentences
