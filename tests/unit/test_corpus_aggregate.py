"""Aggregates against hand-computed values; the bootstrap is seeded and resamples the right unit."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from textlens.corpus.aggregate import aggregate_groups, bootstrap_net_per_100, group_seed


def frames():
    documents = pd.DataFrame({"doc_id": ["u16", "u17", "f16a", "f16b"],
                              "country": ["USA", "USA", "FRA", "FRA"],
                              "year": [2016, 2017, 2016, 2016]})
    signs = {"u16": [1, 1, -1, 0], "u17": [-1, -1, -1], "f16a": [1] * 10, "f16b": [-1] * 10}
    rows = [(d, i, s, 0.5 + 0.1 * i % 0.5) for d, ss in signs.items() for i, s in enumerate(ss)]
    sentences = pd.DataFrame(rows, columns=["doc_id", "sentence_id", "sign", "confidence"])
    return documents, sentences


def test_counts_and_scales_match_hand_computation():
    documents, sentences = frames()
    groups = aggregate_groups(documents, sentences, ["country", "year"], n_boot=200, seed=1)
    usa16 = groups[(groups.country == "USA") & (groups.year == 2016)].iloc[0]
    # u16: +1 +1 -1 0 -> 2 positive, 1 negative, 1 neutral
    assert (usa16.n_documents, usa16.n_sentences, usa16.n_positive, usa16.n_negative,
            usa16.n_neutral, usa16.net_sentiment) == (1, 4, 2, 1, 1, 1)
    assert usa16.net_per_100 == pytest.approx(25.0)
    assert usa16.share_positive == pytest.approx(0.5)
    assert usa16.log_ratio == pytest.approx(math.log(2.5 / 1.5))
    conf = sentences[sentences.doc_id == "u16"].confidence.mean()
    assert usa16.mean_confidence == pytest.approx(conf)
    usa17 = groups[(groups.country == "USA") & (groups.year == 2017)].iloc[0]
    assert (usa17.net_sentiment, usa17.net_per_100) == (-3, pytest.approx(-100.0))
    assert usa17.log_ratio == pytest.approx(math.log(0.5 / 3.5))
    assert (usa17.ci_low, usa17.ci_high) == (-100.0, -100.0)  # every resample is all negative
    fra = groups[groups.country == "FRA"].iloc[0]
    assert (fra.n_documents, fra.n_sentences, fra.net_sentiment) == (2, 20, 0)


def test_several_documents_resample_documents_not_sentences():
    # Two speeches, one all positive and one all negative: resampling speeches gives resamples
    # of +100 (both A), 0, -100 (both B); resampling the 20 sentences would stay near 0.
    documents, sentences = frames()
    groups = aggregate_groups(documents, sentences, ["country"], n_boot=2000, seed=0)
    fra = groups[groups.country == "FRA"].iloc[0]
    assert (fra.ci_low, fra.ci_high) == (-100.0, 100.0)
    pooled = np.array([1] * 10 + [-1] * 10)
    low, high = bootstrap_net_per_100([pooled], 2000, np.random.default_rng(0))
    assert -60 < low < -20 and 20 < high < 60  # sentence resampling: much narrower


def test_bootstrap_is_seeded_and_independent_of_other_groups():
    documents, sentences = frames()
    a = aggregate_groups(documents, sentences, ["country", "year"], n_boot=300, seed=7)
    b = aggregate_groups(documents, sentences, ["country", "year"], n_boot=300, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = aggregate_groups(documents, sentences, ["country", "year"], n_boot=300, seed=8)
    usa16 = (a.country == "USA") & (a.year == 2016)
    assert not np.allclose(a.loc[usa16, ["ci_low", "ci_high"]], c.loc[usa16, ["ci_low", "ci_high"]])
    only_usa = documents[documents.country == "USA"]
    d = aggregate_groups(only_usa, sentences, ["country", "year"], n_boot=300, seed=7)
    assert d.loc[d.year == 2016, "ci_low"].item() == a.loc[usa16, "ci_low"].item()
    # the same draws as a hand-written sentence bootstrap with the group's generator
    rng = group_seed(7, (("USA", 2016)))
    signs = np.array([1, 1, -1, 0], dtype=float)
    stats = 100 * signs[rng.integers(0, 4, size=(300, 4))].mean(axis=1)
    assert a.loc[usa16, "ci_low"].item() == pytest.approx(np.percentile(stats, 2.5))
