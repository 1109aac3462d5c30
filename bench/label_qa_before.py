"""The QA label score before issue #13, kept only as the benchmark's "textlens before #13" row
(bench/label_noise_qa.py): confidence x how much more the predicted span's sentence shares the
question's content words than the gold's sentence does; 0 when the prediction overlaps a gold.
The library's detector is textlens.latent.issues.qa."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textlens.latent.issues.text import relatedness, sentence_spans


@dataclass(frozen=True)
class QAIssueScore:
    score: float
    predicted_relatedness: float
    gold_relatedness: float
    reason: str


def sentence_at(context: str, char: int) -> str:
    for a, b in sentence_spans(context):
        if a <= char < b:
            return context[a:b]
    return context


def qa_issue_score(question: str, context: str, golds: Sequence[tuple[int, int]],
                   pred_start: int, pred_end: int, confidence: float) -> QAIssueScore:
    """Score one QA sample; 0 when the span overlaps a gold answer."""
    if any(pred_start < end and start < pred_end for start, end in golds) or not golds:
        return QAIssueScore(0.0, 0.0, 0.0, "")
    pred_rel = relatedness(question, sentence_at(context, pred_start))
    gold_rel = max(relatedness(question, sentence_at(context, s)) for s, _ in golds)
    score = float(confidence) * max(0.0, pred_rel - gold_rel)
    reason = (f"confident (p={confidence:.2f}) in a span whose sentence shares {pred_rel:.0%} "
              f"of the question's content words; the gold answer's sentence shares {gold_rel:.0%}")
    return QAIssueScore(score, pred_rel, gold_rel, reason)
