"""Token -> word -> character aggregation on text that tokenisers mangle."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.attribution.aggregate import char_scores, l2_normalise, word_scores
from textlens.attribution.encoding import encode
from textlens.errors import InputError


@pytest.mark.parametrize("text, words", [
    ("Don't!", ["Don", "'", "t", "!"]),
    ("naïve café", ["naïve", "café"]),
    ("COVID-19", ["COVID", "-", "19"]),
    ("unbelievably good", ["unbelievably", "good"]),
])
def test_words_are_spelled_as_typed(tiny_classifier, text: str, words: list[str]) -> None:
    enc = encode(tiny_classifier, text)
    scores = np.arange(len(enc)) + 1.0
    got, spans, _ = word_scores(enc, scores)
    assert list(got) == words
    assert all(text[a:b] == w for (_, a, b), w in zip(spans, got, strict=True))


def test_subwords_sum_mean_and_max_abs(tiny_classifier) -> None:
    enc = encode(tiny_classifier, "unbelievably")
    pieces = [t for t, s in zip(enc.tokens, enc.special, strict=True) if not s]
    assert len(pieces) > 1  # really split into subwords
    scores = np.zeros(len(enc))
    scores[1:-1] = np.linspace(-2.0, 1.0, len(pieces))
    assert word_scores(enc, scores, "sum")[2][0] == pytest.approx(scores.sum())
    assert word_scores(enc, scores, "mean")[2][0] == pytest.approx(scores[1:-1].mean())
    assert word_scores(enc, scores, "max-abs")[2][0] == pytest.approx(-2.0)
    with pytest.raises(InputError, match="sum, mean, max-abs"):
        word_scores(enc, scores, "median")  # type: ignore[arg-type]


def test_char_scores_cover_every_character_of_its_token(tiny_classifier) -> None:
    text = "naïve café, Don't!"
    enc = encode(tiny_classifier, text)
    scores = np.arange(len(enc)) + 1.0
    chars = char_scores(enc, scores, 0)
    assert len(chars) == len(text)
    for t, (a, b) in enumerate(enc.offsets):
        if not enc.special[t]:
            assert all(c == scores[t] for c in chars[a:b])
    assert chars[text.index(" ")] == 0.0  # whitespace belongs to no token
    assert chars[text.index("ï")] == chars[0]  # the accent maps to its word's token


def test_l2_normalise_keeps_direction() -> None:
    out = l2_normalise([3.0, -4.0])
    assert out == pytest.approx((0.6, -0.8))
    assert l2_normalise([0.0, 0.0]) == (0.0, 0.0)
