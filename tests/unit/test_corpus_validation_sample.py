"""The validation sample and its labels: a seeded stratified draw with design weights, context
from the stored sentences, the CSV sheet round trip and every kind of bad input refused or
listed with nothing lost."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from textlens.corpus.validation import (
    current_labels,
    draw_validation_sample,
    export_sheet,
    import_sheet,
    record_label,
)
from textlens.errors import DataError, InputError

from .corpus_store import binary_store


@pytest.fixture
def run(tmp_path):
    return binary_store(tmp_path / "run")


def test_draw_is_seeded_stratified_and_weighted(run):
    run_dir, truth = run
    a = draw_validation_sample(run_dir, 60, seed=3)
    b = draw_validation_sample(run_dir, 60, seed=3)
    assert a.frame["validation_id"].tolist() == b.frame["validation_id"].tolist()
    assert len(a.frame) == 60 and a.frame["validation_id"].is_unique
    assert sorted(a.frame["draw"]) == list(range(1, 61))
    # every group is in the sample, and the weights add up to the corpus size per stratum
    assert set(a.frame["country"]) == {"G0", "G1", "G2", "G3"}
    con = duckdb.connect(str(run_dir / "textlens.duckdb"), read_only=True)
    n_total = con.execute("SELECT count(*) FROM sentences").fetchone()[0]
    assert a.frame["weight"].sum() == pytest.approx(n_total)
    assert np.allclose(a.frame["weight"], 1 / a.frame["inclusion_probability"])
    for stratum, members in a.frame.groupby("stratum"):
        row = a.strata.set_index("stratum").loc[stratum]
        assert len(members) == row["n"]
        assert members["weight"].iloc[0] == pytest.approx(row["N"] / row["n"])
    # context: the neighbouring sentences of the same document
    first = a.frame.iloc[0]
    doc, sid = first["validation_id"].rsplit(":", 1)
    texts = dict(con.execute("SELECT sentence_id, text FROM sentences WHERE doc_id = ?",
                             [doc]).fetchall())
    assert first["context_before"] == texts.get(int(sid) - 1, "")
    assert first["context_after"] == texts.get(int(sid) + 1, "")
    assert first["text"] == texts[int(sid)]
    con.close()
    assert draw_validation_sample(run_dir, 60, seed=4).frame["validation_id"].tolist() != \
        a.frame["validation_id"].tolist()


def test_sample_larger_than_corpus_is_refused(run):
    run_dir, truth = run
    with pytest.raises(InputError, match="larger than the corpus"):
        draw_validation_sample(run_dir, len(truth) + 1)
    with pytest.raises(InputError, match="reserved"):
        draw_validation_sample(run_dir, 10, classes=["negative", "unsure"])
    with pytest.raises(InputError, match="not two or more distinct"):
        draw_validation_sample(run_dir, 10, classes=["positive", "positive"])
    with pytest.raises(InputError, match="is empty"):
        draw_validation_sample(run_dir, 0)
    with pytest.raises(DataError, match="No corpus run"):
        draw_validation_sample(run_dir.parent / "nowhere", 10)


def test_labels_are_an_append_only_log(run):
    run_dir, _ = run
    sample = draw_validation_sample(run_dir, 20, classes=["negative", "neutral", "positive"])
    vid = sample.frame["validation_id"].iloc[0]
    record_label(run_dir, vid, "neutral")
    record_label(run_dir, vid, "Positive")  # case-insensitive, stored canonical
    now = current_labels(run_dir)
    assert now.set_index("validation_id").loc[vid, "label"] == "positive"
    record_label(run_dir, vid, None)  # undo clears
    assert vid not in set(current_labels(run_dir)["validation_id"])
    with pytest.raises(InputError, match="not a validation class"):
        record_label(run_dir, vid, "happy")
    with pytest.raises(InputError, match="No sentence"):
        record_label(run_dir, "nope:1", "positive")
    con = duckdb.connect(str(run_dir / "textlens.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM validation_labels").fetchone()[0] == 3
    con.close()
    with pytest.raises(InputError, match="already has a labelled"):
        draw_validation_sample(run_dir, 20)


def test_sheet_round_trip_and_bad_rows(run, tmp_path):
    run_dir, truth = run
    sample = draw_validation_sample(run_dir, 30, seed=1)
    sheet_path = export_sheet(run_dir, tmp_path / "sheet.csv")
    sheet = pd.read_csv(sheet_path, dtype=str, keep_default_na=False)
    assert "predicted" not in sheet.columns and (sheet["label"] == "").all()
    assert sheet["validation_id"].tolist() == sample.frame["validation_id"].tolist()
    assert "<b>of</b>" in sheet["text"].iloc[0]
    assert "predicted" in pd.read_csv(export_sheet(run_dir, tmp_path / "p.csv",
                                                   show_predictions=True)).columns
    true = truth.set_index("validation_id")["truth"]
    sheet["label"] = [true[v] for v in sheet["validation_id"]]
    sheet.loc[0, "label"] = "skip"
    sheet.loc[1, "label"] = ""
    outside = truth.loc[~truth["validation_id"].isin(sheet["validation_id"]), "validation_id"]
    extra = pd.DataFrame({"validation_id": [outside.iloc[0], "ghost:3", outside.iloc[1],
                                            sheet["validation_id"].iloc[5],
                                            sheet["validation_id"].iloc[6]],
                          "label": ["positive", "positive", "angry",
                                    "negative" if sheet["label"].iloc[5] == "positive"
                                    else "positive", sheet["label"].iloc[6]]})
    pd.concat([sheet, extra], ignore_index=True).to_csv(tmp_path / "filled.csv", index=False)
    report = import_sheet(run_dir, tmp_path / "filled.csv")
    problems = report.problems.set_index("row")["problem"]
    assert len(report.problems) == 4  # ghost id, unknown class, and both rows of the clash
    assert "unknown validation_id" in problems[2 + 31]
    assert "unknown class" in problems[2 + 32]
    assert "conflicting" in problems[2 + 5] and "conflicting" in problems[2 + 33]
    assert report.n_blank == 1
    assert report.n_recorded == 30 - 1 - 1 + 1  # 30 rows, 1 blank, 1 clash; 1 outside
    assert report.n_convenience == 1
    rejected = pd.read_csv(report.rejected_path)
    assert len(rejected) == 4 and "problem" in rejected.columns
    labels = current_labels(run_dir).set_index("validation_id")
    assert labels.loc[outside.iloc[0], "in_sample"] == False  # noqa: E712
    assert labels.loc[sheet["validation_id"].iloc[0], "label"] == "skip"
    again = import_sheet(run_dir, tmp_path / "filled.csv")  # idempotent
    assert again.n_recorded == 0 and again.n_unchanged == report.n_recorded


@pytest.mark.parametrize("content, match", [
    ("", "is empty"), ("validation_id,label\n", "no rows"), ("id,lab\nx,y\n", "lacks")])
def test_bad_files_are_refused(run, tmp_path, content, match):
    run_dir, _ = run
    draw_validation_sample(run_dir, 10)
    path = tmp_path / "labels.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        import_sheet(run_dir, path)
    assert current_labels(run_dir).empty
