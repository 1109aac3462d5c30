"""The validation loop on two real UNGDC speeches with the real MiniLM (the fine-tuned demo
model when cached): sample with a neutral class, label through the CSV sheet (a keyword rule
stands in for the person), measure and correct; every figure carries an interval or a reason."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from textlens.corpus.pipeline import CorpusOptions, run
from textlens.corpus.sampling import SamplingOptions
from textlens.corpus.validation import (
    correct_shares,
    draw_validation_sample,
    export_sheet,
    import_sheet,
    measure,
)

from .test_corpus_real import sentiment_dir  # noqa: F401 - the shared model fixture

pytestmark = pytest.mark.integration
NEGATIVE = re.compile(r"\b(war|threat|terror\w*|conflict|crisis|violence|poverty)\b", re.I)
POSITIVE = re.compile(r"\b(welcome|thank\w*|hope|peace|progress|success\w*|congratulat\w*)\b",
                      re.I)


def test_validation_loop_on_real_speeches(sentiment_dir, data_dir, tmp_path):  # noqa: F811
    options = CorpusOptions(where="country IN ('FRA', 'PRK') AND year = 2019",
                            sampling=SamplingOptions(size=0), n_boot=100, domain_check=False,
                            report=False, data_dir=str(data_dir))
    result = run(sentiment_dir, "ungdc", tmp_path / "run", options, progress=False)
    drawn = draw_validation_sample(tmp_path / "run", 80, seed=0,
                                   classes=["negative", "neutral", "positive"])
    assert set(drawn.frame["country"]) == {"FRA", "PRK"}
    sheet = pd.read_csv(export_sheet(tmp_path / "run", tmp_path / "sheet.csv"), dtype=str,
                        keep_default_na=False)
    sheet["label"] = ["negative" if NEGATIVE.search(t) else "positive" if POSITIVE.search(t)
                      else "neutral" for t in sheet["text"]]
    sheet.to_csv(tmp_path / "sheet.csv", index=False)
    report = import_sheet(tmp_path / "run", tmp_path / "sheet.csv")
    assert report.n_recorded == 80 and report.problems.empty
    measured = measure(tmp_path / "run", n_boot=100)
    assert "no class neutral" in measured.message
    shares = correct_shares(tmp_path / "run", n_boot=30)
    table = shares.table
    assert set(table["country"]) == {"FRA", "PRK"} and result.n_sentences > 100
    estimated = table[table["too_few"].isna()]
    assert np.isfinite(estimated[["share", "ci_low", "ci_high"]].to_numpy()).all()
    assert (table.loc[table["too_few"].notna(), "share"].isna()).all()
