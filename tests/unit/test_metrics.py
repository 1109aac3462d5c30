"""The official SQuAD v1.1 metric against hand-computed cases, and the quote-stripping fix."""

from __future__ import annotations

import pytest

from textlens.metrics import classification_scores, normalize_answer, squad_scores, strip_quotes


def test_normalisation_drops_case_punctuation_articles_and_spaces():
    assert normalize_answer("  The  Denver\tBroncos!! ") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("theatre") == "theatre"  # 'the' only as a word


def test_exact_match_and_f1_by_hand():
    # 'Denver Broncos' vs gold 'the Denver Broncos': EM 1 after normalisation.
    # 'Broncos of Denver' vs 'Denver Broncos': precision 2/3, recall 1 -> F1 0.8.
    predictions = {"q1": "Denver Broncos", "q2": "Broncos of Denver"}
    references = {"q1": ["the Denver Broncos"], "q2": ["Denver Broncos"]}
    scores = squad_scores(predictions, references)
    assert scores["n"] == 2
    assert scores["exact_match"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx((100.0 + 80.0) / 2)


def test_max_over_several_references_and_missing_prediction_counts_zero():
    references = {"a": ["1990", "in 1990", "the year 1990"], "b": ["Paris"]}
    scores = squad_scores({"a": "year 1990"}, references)
    # 'a' matches the third reference exactly after dropping 'the'; 'b' is missing -> 0.
    assert scores["exact_match"] == pytest.approx(50.0)
    assert scores["f1"] == pytest.approx(50.0)


def test_punctuation_only_difference_is_exact_match():
    assert squad_scores({"a": '"Hey Jude."'}, {"a": ["Hey Jude"]})["exact_match"] == 100.0


def test_no_overlap_scores_zero():
    scores = squad_scores({"a": "London"}, {"a": ["Paris"]})
    assert scores == {"exact_match": 0.0, "f1": 0.0, "n": 1}


def test_strip_quotes_keeps_inner_punctuation():
    assert strip_quotes('"Hey Jude".') == "Hey Jude"
    assert strip_quotes("“The Raven,”") == "The Raven"
    assert strip_quotes("U.S.") == "U.S."
    assert strip_quotes("O'Neill") == "O'Neill"
    assert strip_quotes('"') == '"'  # nothing left: keep the original


def test_classification_scores_by_hand():
    scores = classification_scores([0, 0, 1, 1], [0, 1, 1, 1], ["neg", "pos"])
    assert scores["accuracy"] == 0.75
    # neg: P=1, R=.5, F1=2/3; pos: P=2/3, R=1, F1=.8 -> macro 0.7333
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert scores["confusion_matrix"] == [[1, 1], [0, 2]]
