"""QA label issues: is each gold span what its question asks for?

Issue types, each scoring every question from its signals (`qa_signals`), computed from the
model's n best spans and the loss at the gold, so the detector adds no model pass:

- `wrong span` (a gold in the wrong place), `swapped answer` (a gold exchanged with another
  question's), `wrong boundary`: one logistic model each, fitted once on planted noise against
  clean questions (tuning seeds, other articles than the benchmark's) and stored by feature
  name (`qa_weights`);
- `ambiguous`: several spans look plausible (a rival span and the gold both hold >= 20% of the
  n best, or both the gold's and the predicted sentence share >= 50% of the question's content
  words and the model is unsure, p < 0.7: the Zond 5 case). A rule, not a model.

`qa_label_issues` ranks by the noisy-OR of the three models times 1 - the n-best mass on the
gold's text at other mentions (the same answer, elsewhere, is not an error), and names a kind:
`none` when the n best put >= 50% on the gold text; `wrong boundary` when the boundary mass is
>= 0.4 or the boundary model has the highest log-odds and >= 10% of the n best overlap the gold;
`ambiguous` when that type flags it; `wrong span` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from textlens.latent.issues import qa_weights
from textlens.latent.issues.base import Findings, LabelIssue, register
from textlens.latent.issues.qa_signals import (
    QASample,
    QASignals,
    all_signals,
    feature_table,
    other_mention_mass,
)
from textlens.latent.issues.reasons import qa_reason

SCORED = ("wrong span", "swapped answer", "wrong boundary")  # the noisy-OR's issue types


@dataclass(frozen=True)
class QAEvidence:
    """Every question's signals and their named feature table."""

    signals: tuple[QASignals, ...]
    features: Mapping[str, np.ndarray]

    @classmethod
    def of(cls, signals: Sequence[QASignals]) -> QAEvidence:
        return cls(tuple(signals), feature_table(signals))


@dataclass(frozen=True)
class LogisticFindings(Findings):
    logit: np.ndarray  # offset applied


class _LogisticIssue:
    """A fitted logistic model's P(this kind of error) per question; flagged at >= 0.5."""

    model: ClassVar[qa_weights.LogisticModel]
    issue_name: ClassVar[str]
    task: ClassVar[str] = "qa"

    def find(self, evidence: QAEvidence) -> LogisticFindings:
        z = self.model.logit(evidence.features)
        p = 1.0 / (1.0 + np.exp(-z))
        return LogisticFindings(self.issue_name, p, p >= 0.5, z)


@register
@dataclass(frozen=True)
class WrongSpan(_LogisticIssue):
    issue_name: ClassVar[str] = "wrong span"
    description: ClassVar[str] = "the gold sits in the wrong place (logistic model on 7 signals)"
    model: ClassVar[qa_weights.LogisticModel] = qa_weights.WRONG_SPAN


@register
@dataclass(frozen=True)
class SwappedAnswer(_LogisticIssue):
    issue_name: ClassVar[str] = "swapped answer"
    description: ClassVar[str] = ("the gold is another question's answer on the same context "
                                  "(logistic model on the 20 n-best and text signals)")
    model: ClassVar[qa_weights.LogisticModel] = qa_weights.SWAPPED


@register
@dataclass(frozen=True)
class WrongBoundary(_LogisticIssue):
    issue_name: ClassVar[str] = "wrong boundary"
    description: ClassVar[str] = ("the gold starts or ends a few words off (logistic model on "
                                  "all 25 signals)")
    model: ClassVar[qa_weights.LogisticModel] = qa_weights.WRONG_BOUNDARY


@register
@dataclass(frozen=True)
class Ambiguous:
    issue_name: ClassVar[str] = "ambiguous"
    task: ClassVar[str] = "qa"
    description: ClassVar[str] = ("several answers look plausible: review rather than fix "
                                  "(a rule on the n best and relatedness)")

    def find(self, evidence: QAEvidence) -> Findings:
        flagged = np.array([
            (s.rival_mass >= 0.2 and s.mass_overlap >= 0.2)
            or (s.gold_relatedness >= 0.5 and s.top_relatedness >= 0.5 and s.p_top < 0.7
                and not s.top_in_gold_sentence)
            for s in evidence.signals], dtype=bool)
        return Findings(self.issue_name, flagged.astype(np.float64), flagged)


def noisy_or(evidence: QAEvidence) -> tuple[np.ndarray, list[LogisticFindings]]:
    """P(some kind of error) = 1 - prod(1 - p_kind) over the SCORED types, and their findings."""
    scored = [WrongSpan().find(evidence), SwappedAnswer().find(evidence),
              WrongBoundary().find(evidence)]
    keep = np.ones(len(scored[0].score))
    for found in scored:
        keep = keep * (1.0 - found.score)
    return 1.0 - keep, scored


def assess(signals: Sequence[QASignals]) -> tuple[np.ndarray, list[str]]:
    """P(gold wrong) of each question and the kind it would be given (before the 0.5 cut)."""
    evidence = QAEvidence.of(signals)
    p_wrong, scored = noisy_or(evidence)
    score = p_wrong * np.array([1.0 - other_mention_mass(s) for s in evidence.signals])
    ambiguous = Ambiguous().find(evidence).flagged
    # ties go to the first of SCORED, as the noisy-OR's order
    fired = np.stack([f.logit for f in scored], axis=1).argmax(axis=1)
    kinds = []
    for i, s in enumerate(evidence.signals):
        boundary_fired = SCORED[fired[i]] == "wrong boundary"
        kinds.append("none" if s.mass_text >= 0.5
                     else "wrong boundary" if s.mass_overlap - s.mass_exact >= 0.4
                     or (boundary_fired and s.mass_overlap >= 0.1)
                     else "ambiguous" if ambiguous[i] else "wrong span")
    return score, kinds


def qa_label_issues(samples: Sequence[QASample]) -> list[LabelIssue]:
    """Every question ranked by P(gold span is wrong) (`assess`). `flagged` (and a kind other
    than `none`) when that probability is at least 0.5 and the n best do not put half their
    mass on the gold's text."""
    sig = all_signals(samples)
    if not sig:
        return []
    score, kinds = assess(sig)
    issues = []
    for rank, i in enumerate(np.argsort(-score, kind="stable"), start=1):
        # below 0.5 a kind would over-read a weak suspicion (SQuAD, step-150 model: half the
        # clean questions have an n-best that disagrees with the gold's boundaries)
        kind = kinds[i] if score[i] >= 0.5 else "none"
        issues.append(LabelIssue(samples[i].id, float(score[i]), rank, qa_reason(sig[i], kind),
                                 kind != "none", kind))
    return issues
