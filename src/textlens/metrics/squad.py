"""The official SQuAD v1.1 scores, as a pure function, plus the opt-in span clean-up.

Normalisation follows the official evaluation script: lower-case, strip punctuation, drop the
articles a/an/the, collapse whitespace. Each prediction scores the max over its reference
answers; an id missing from the predictions scores 0.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, references: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised reference."""
    norm = normalize_answer(prediction)
    return float(any(norm == normalize_answer(ref) for ref in references))


def f1(prediction: str, references: Sequence[str]) -> float:
    """Token-overlap F1, the max over references."""
    return max((_f1_one(prediction, ref) for ref in references), default=0.0)


def _f1_one(prediction: str, reference: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    ref_tokens = normalize_answer(reference).split()
    common = Counter(pred_tokens) & Counter(ref_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_scores(predictions: Mapping[str, str],
                 references: Mapping[str, Sequence[str]]) -> dict[str, float | int]:
    """`{"exact_match", "f1"}` in percent over all reference ids, and `n`, their count."""
    n = len(references)
    if n == 0:
        return {"exact_match": 0.0, "f1": 0.0, "n": 0}
    em_total = f1_total = 0.0
    for qid, golds in references.items():
        if qid not in predictions:
            continue
        em_total += exact_match(predictions[qid], golds)
        f1_total += f1(predictions[qid], golds)
    return {"exact_match": 100.0 * em_total / n, "f1": 100.0 * f1_total / n, "n": n}


_QUOTES = "\"'“”‘’«»„‚`´"
_EDGE = _QUOTES + ".,;:!?()[]{} \t\n"


def strip_quotes(span: str) -> str:
    """The seed's decoding fix: drop quotation marks and punctuation around a predicted span.

    Annotators rarely include the quotes around a title or the full stop after a name, while
    models often do; EM then fails on punctuation alone. Inner punctuation is kept
    ("U.S." stays; only a trailing full stop after a word of more than one letter goes).
    """
    cleaned = span.strip()
    while cleaned and cleaned[0] in _EDGE:
        cleaned = cleaned[1:]
    while cleaned and cleaned[-1] in _EDGE:
        if cleaned[-1] == "." and _ends_with_abbreviation(cleaned):
            break
        cleaned = cleaned[:-1]
    return cleaned.strip() if cleaned.strip() else span.strip()


def _ends_with_abbreviation(text: str) -> bool:
    """True for 'U.S.' or 'Jr.'-like endings whose final dot belongs to the token."""
    last = text.split()[-1] if text.split() else ""
    return bool(re.fullmatch(r"(?:[A-Za-z]\.){2,}", last))
