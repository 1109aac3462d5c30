"""The explanation sampler: strata by confidence, seeded draws, shares, per-group top words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from textlens.corpus.sampling import SamplingOptions, draw_sample, strata, top_words
from textlens.errors import InputError


def sentences(n=200, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, n)
    return pd.DataFrame({"doc_id": [f"d{i % 7}" for i in range(n)], "sentence_id": range(n),
                         "text": [f"s{i}" for i in range(n)], "p_negative": 1 - p,
                         "p_positive": p, "country": ["A" if i % 2 else "B" for i in range(n)]})


def test_strata_follow_the_confidence_cut_offs():
    frame = pd.DataFrame({"p_negative": [0.05, 0.95, 0.45, 0.2, 0.59, 0.6],
                          "p_positive": [0.95, 0.05, 0.55, 0.8, 0.41, 0.4]})
    got = strata(frame, ("negative", "positive"), (-1, 1), SamplingOptions(clear=0.9, near=0.6))
    assert [x if isinstance(x, str) else None for x in got] == [
        "clear_positive", "clear_negative", "near_threshold", None,
        "near_threshold", None]


def test_counts_follow_the_shares_and_sum_to_the_size():
    assert SamplingOptions(size=60).counts() == {"clear_positive": 15, "clear_negative": 15,
                                                 "near_threshold": 30}
    assert sum(SamplingOptions(size=7, shares=(0.3, 0.3, 0.4)).counts().values()) == 7
    with pytest.raises(InputError, match="summing to 1"):
        SamplingOptions(shares=(0.5, 0.5, 0.5)).check()


def test_draws_are_seeded_stratified_and_within_the_stratum():
    frame = sentences()
    options = SamplingOptions(size=20)
    stratum = strata(frame, ("negative", "positive"), (-1, 1), options)
    a = draw_sample(frame, stratum, options, seed=3)
    b = draw_sample(frame, stratum, options, seed=3)
    c = draw_sample(frame, stratum, options, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.sentence_id) != list(c.sentence_id)
    assert a.stratum.value_counts().to_dict() == {"near_threshold": 10, "clear_positive": 5,
                                                  "clear_negative": 5}
    assert (a.loc[a.stratum == "clear_positive", "p_positive"] >= 0.9).all()
    assert (a[["p_negative", "p_positive"]].max(axis=1)[a.stratum == "near_threshold"] < 0.6).all()
    assert not a.duplicated(["doc_id", "sentence_id"]).any()


def test_short_strata_give_all_they_have_and_per_group_samples_each_group():
    frame = sentences(40)
    options = SamplingOptions(size=30, per_group=True)
    stratum = strata(frame, ("negative", "positive"), (-1, 1), options)
    sample = draw_sample(frame, stratum, options, seed=0, group_by=["country"])
    for country, members in sample.groupby("country"):
        available = stratum[frame.country == country].value_counts().to_dict()
        assert members.stratum.value_counts().to_dict() == {
            k: min(v, options.counts()[k]) for k, v in available.items()}


def test_top_words_flip_negative_targets_and_sum_per_group():
    explanations = pd.DataFrame({
        "doc_id": ["a", "a", "b"], "words": [["Peace", "war"], ["war", "hope!"], ["war"]],
        "word_scores": [[0.5, -0.25], [0.75, -0.5], [0.3]], "toward_positive": [1, -1, 0]})
    documents = pd.DataFrame({"doc_id": ["a", "b"], "country": ["USA", "FRA"]})
    words = top_words(explanations, documents, ["country"], k=5)
    usa = words[words.country == "USA"]
    # peace: +0.5; war: -0.25 (positive target) + -0.75 (flipped) = -1.0; hope: +0.5 (flipped)
    negative = usa[usa.direction == "negative"]
    assert list(negative.word) == ["war"] and negative.attribution.item() == pytest.approx(-1.0)
    assert negative["count"].item() == 2
    positive = usa[usa.direction == "positive"].set_index("word")
    assert positive.attribution.to_dict() == pytest.approx({"peace": 0.5, "hope": 0.5})
    assert set(words.country) == {"USA", "*"}  # the neutral-target explanation is left out
