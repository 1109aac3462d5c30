"""Any classification head in a corpus run: a 3-class and a multi-label model get a count and
share per class and group (checked against SQL on the stored sentences), no net sentiment
unless the classes carry a polarity; a one-logit head counts its two classes; regression is
refused."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from textlens.corpus.aggregate import class_shares
from textlens.corpus.engine import polarity
from textlens.corpus.pipeline import run
from textlens.errors import InputError

from .test_corpus_run import FAST, make_corpus


def _store(path):
    return duckdb.connect(str(path / "textlens.duckdb"), read_only=True)


def test_three_class_model_counts_every_class(make_tiny, tmp_path):
    model = make_tiny("classification", ("economy", "security", "climate"), seed=2)
    root = make_corpus(tmp_path / "ungdc")
    result = run(model, root, tmp_path / "run", FAST, progress=False)
    con = _store(tmp_path / "run")
    shares = con.execute("SELECT * FROM group_classes ORDER BY country, year, class").fetchdf()
    check = con.execute("""SELECT d.country, d.year, c.class, count(s.label) AS n
                           FROM documents d CROSS JOIN (SELECT unnest(['climate', 'economy',
                                'security']) AS class) c
                           LEFT JOIN sentences s ON s.doc_id = d.doc_id AND s.label = c.class
                           GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""").fetchdf()
    assert list(shares["count"]) == list(check["n"])
    per_group = shares.groupby(["country", "year"])["share"].sum()
    assert np.allclose(per_group, 1.0)
    assert (shares["ci_low"] <= shares["share"] + 1e-12).all()
    assert (shares["share"] <= shares["ci_high"] + 1e-12).all()
    assert "net_per_100" not in result.groups.columns
    assert {"share_economy", "ci_low_climate"} <= set(result.groups.columns)
    info = dict(con.execute("SELECT key, value FROM run_info").fetchall())
    assert info["sentiment"] == "false" and info["head"] == '"softmax"'
    assert "Share of each class per group" in (tmp_path / "run" / "report.html").read_text()
    assert (tmp_path / "run" / "class_shares.png").stat().st_size > 1000


def test_multi_label_model_gives_one_share_per_label(make_tiny, tmp_path):
    model = make_tiny("classification", ("joy", "anger", "fear"), seed=3)
    model.model.config.problem_type = "multi_label_classification"
    root = make_corpus(tmp_path / "ungdc")
    run(model, root, tmp_path / "run", FAST, progress=False)
    con = _store(tmp_path / "run")
    shares = con.execute("SELECT * FROM group_classes").fetchdf()
    check = con.execute("""SELECT d.country, d.year, avg((p_joy >= 0.5)::INT) AS joy,
                                  avg((p_fear >= 0.5)::INT) AS fear
                           FROM sentences s JOIN documents d USING (doc_id) GROUP BY 1, 2
                           """).fetchdf().set_index(["country", "year"])
    for _, row in shares[shares["class"].isin(["joy", "fear"])].iterrows():
        assert row["share"] == pytest.approx(check.loc[(row["country"], row["year"]),
                                                       row["class"]])


def test_one_logit_head_counts_two_classes(make_tiny, tmp_path):
    model = make_tiny("classification", ("positive",), seed=4)
    root = make_corpus(tmp_path / "ungdc", countries=("USA",), years=(2016,))
    result = run(model, root, tmp_path / "run", FAST, progress=False)
    con = _store(tmp_path / "run")
    columns = set(con.execute("DESCRIBE sentences").fetchdf()["column_name"])
    assert {"p_not positive", "p_positive"} <= columns
    labels = set(con.execute("SELECT DISTINCT label FROM sentences").fetchdf()["label"])
    assert labels <= {"not positive", "positive"}
    assert result.groups["n_sentences"].sum() == result.n_sentences


def test_regression_is_refused_and_polarity_reads_names(make_tiny, tmp_path):
    model = make_tiny("classification", ("score",), seed=5)
    model.model.config.problem_type = "regression"
    with pytest.raises(InputError, match="regression"):
        run(model, make_corpus(tmp_path / "ungdc"), tmp_path / "run", FAST, progress=False)
    assert not (tmp_path / "run" / "textlens.duckdb").exists()
    assert polarity(["economy", "security"]) is None
    assert polarity(["negative", "neutral", "positive"]) == [-1, 0, 1]
    assert polarity(["positive", "neutral"]) is None


def test_one_document_groups_use_wilson_and_several_bootstrap():
    import pandas as pd

    documents = pd.DataFrame({"doc_id": ["a", "b", "c"], "g": ["one", "two", "two"]})
    sentences = pd.DataFrame({"doc_id": ["a"] * 10 + ["b"] * 4 + ["c"] * 4,
                              "label": ["x"] * 10 + ["x"] * 4 + ["y"] * 4})
    out = class_shares(documents, sentences, ["g"], ["x", "y"], n_boot=500, seed=0)
    one = out[(out.g == "one") & (out["class"] == "y")].iloc[0]
    assert one["share"] == 0 and one["ci_low"] == 0
    assert one["ci_high"] == pytest.approx(1.96 ** 2 / (10 + 1.96 ** 2), abs=1e-3)  # Wilson
    two = out[(out.g == "two") & (out["class"] == "x")].iloc[0]
    assert two["share"] == 0.5 and (two["ci_low"], two["ci_high"]) == (0.0, 1.0)
