"""Map token scores back onto the original text: tokens -> words (via the tokenizer's word ids)
-> characters (via offsets), so punctuation, accents and subwords land where they were typed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from textlens.attribution.encoding import Encoded
from textlens.choices import check_choice

Aggregation = Literal["sum", "mean", "max-abs"]
AGGREGATIONS: tuple[Aggregation, ...] = ("sum", "mean", "max-abs")


def word_scores(encoded: Encoded, scores: Sequence[float], how: Aggregation = "sum",
                ) -> tuple[tuple[str, ...], tuple[tuple[int, int, int], ...], tuple[float, ...]]:
    """Words (as typed), their (segment, start, end) character spans, and aggregated scores.

    A word is what the tokenizer's pre-tokenizer made one word (so "Don't!" is Don ' t !);
    special tokens belong to no word and are left out."""
    check_choice("aggregation", how, AGGREGATIONS)
    groups: dict[tuple[int, int], list[int]] = {}
    for t, (seg, word) in enumerate(zip(encoded.segments, encoded.word_ids, strict=True)):
        if seg is not None and word is not None:
            groups.setdefault((seg, word), []).append(t)
    words, spans, values = [], [], []
    for (seg, _), toks in groups.items():
        start = min(encoded.offsets[t][0] for t in toks)
        end = max(encoded.offsets[t][1] for t in toks)
        part = np.asarray([scores[t] for t in toks], dtype=float)
        if how == "sum":
            value = part.sum()
        elif how == "mean":
            value = part.mean()
        else:
            value = part[np.argmax(np.abs(part))]
        words.append(encoded.texts[seg][start:end])
        spans.append((seg, start, end))
        values.append(float(value))
    return tuple(words), tuple(spans), tuple(values)


def char_scores(encoded: Encoded, scores: Sequence[float], segment: int) -> tuple[float, ...]:
    """One score per character of text `segment`: the score of the token covering it (0 for
    whitespace and for text cut off by truncation)."""
    out = np.zeros(len(encoded.texts[segment]))
    for t, seg in enumerate(encoded.segments):
        if seg == segment:
            a, b = encoded.offsets[t]
            out[a:b] = scores[t]
    return tuple(float(v) for v in out)


def l2_normalise(scores: Sequence[float]) -> tuple[float, ...]:
    """Scores divided by their L2 norm (as transformers-interpret shows them); zeros stay zero."""
    arr = np.asarray(scores, dtype=float)
    norm = float(np.linalg.norm(arr))
    return tuple(float(v) for v in (arr / norm if norm > 0 else arr))
