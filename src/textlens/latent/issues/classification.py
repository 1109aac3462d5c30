"""Classification label issues: two issue types and the detector that composes them.

- `wrong class` (`WrongClass`): P(label wrong), the noise posterior (`signals`) of the class
  probabilities q = p^0.1 h^0.9: p the model's (out-of-sample: the model must not have trained
  on the row), h a 10-fold logistic head on the embeddings (when given), which reads the data
  set's own labels, so it corrects the model where the data differ from its training set; with
  texts, q is further blended (weight 0.2) with a cross-fitted bag-of-words head on them, a
  lexical view whose errors differ from both (`class_evidence`). The noise transition comes
  from the model and is made one-directional when the model contradicts one class's labels
  significantly more often than the other's (`signals.directional_noise_transition`). Flagged
  as in confident learning: another class j reaches its threshold t_j, the mean q[j] over
  samples labelled j.
- `near-duplicate conflict` (`NearDuplicateConflict`): a near-identical text carries another
  label (1, else 0); flagged when it does.

`classification_issues` ranks every row by 0.5 x wrong class + 0.5 x conflict, with a kind
(`wrong class`, `ambiguous`: a conflicting near-duplicate the model cannot settle, or |margin|
<= 0.2; `none`) and a reason (`reasons`). When cleanlab is installed its `find_label_issues`
runs on the same probabilities and its ranking is kept beside ours (`cleanlab_ranking`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from textlens.latent.issues import signals
from textlens.latent.issues.base import Findings, LabelIssue, register
from textlens.latent.issues.reasons import classification_reason

# The head carries most of the weight: on SST-2 validation (tuning seeds 100-109, 8% flips) it
# alone ranks above the model alone (precision@K 0.593 vs 0.559 uniform; within the negative
# labels under positive->negative flips 0.686 vs 0.671); the model's 0.1 share is a hedge for
# small data sets: a head fitted on few rows is flat, and then the model's p^0.1 sets the
# order. Geometric weight 0.5 (before #13): 0.581 / 0.657.
MODEL_WEIGHT = 0.1
HEAD_FOLDS = 10  # 5 folds: 0.588 vs 0.593 on uniform flips (more rows to fit each fold on)
# One fold split alone moves precision@K by up to 0.016 (uniform flips, split seed 0 vs 1:
# 0.583 vs 0.594); averaging three splits steadies it. At LARGE rows the 30 fits take 3.1 s
# and the text head 1.5 s (the near-duplicate search 22 s); above it each fold already fits on
# many rows: 5 folds, one split, so the heads grow linearly.
HEAD_REPEATS = 3
LARGE = 20_000
TEXT_WEIGHT = 0.2  # the bag-of-words head's share (0.3: +0.013 / +0.010 vs 0.2's +0.019 / +0.007)
SCORE_WEIGHTS: Mapping[str, float] = {"wrong class": 0.5, "near-duplicate conflict": 0.5}


def crossval_probabilities(embeddings: np.ndarray, labels: Sequence[int], folds: int = 5,
                           seed: int = 0, repeats: int = 1) -> np.ndarray:
    """Out-of-sample class probabilities from a k-fold logistic head on the embeddings; with
    `repeats` > 1, the normalised geometric mean over that many different fold splits."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from textlens.latent.projection import normalise

    y = np.asarray(labels)
    smallest = int(np.bincount(y).min()) if len(y) else 0
    folds = max(2, min(folds, smallest))
    x = normalise(embeddings)
    logs = []
    for r in range(max(1, repeats)):
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + 1000 * r)
        head = LogisticRegression(max_iter=1000, C=1.0)
        logs.append(np.log(np.clip(cross_val_predict(head, x, y, cv=cv, method="predict_proba"),
                                   1e-12, 1.0)))
    mean = np.mean(logs, axis=0)
    out = np.exp(mean - mean.max(axis=1, keepdims=True))
    return out / out.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ClassEvidence:
    """What the classification issue types read: labels, the model's out-of-sample p, the heads
    (None when not computed), their blend q, and the texts (None: no near-duplicate search)."""

    labels: np.ndarray
    model: np.ndarray
    q: np.ndarray
    head: np.ndarray | None = None
    words: np.ndarray | None = None
    texts: tuple[str, ...] | None = None


def class_evidence(labels: Sequence[int], probabilities: np.ndarray, *,
                   embeddings: np.ndarray | None = None, texts: Sequence[str] | None = None,
                   seed: int = 0) -> ClassEvidence:
    """The tuned views: the embedding head (HEAD_FOLDS folds x HEAD_REPEATS splits; above
    LARGE rows 5 folds, one split) blended at MODEL_WEIGHT, the bag-of-words head at
    TEXT_WEIGHT."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    large = len(y) > LARGE
    head = (crossval_probabilities(embeddings, y, folds=5 if large else HEAD_FOLDS, seed=seed,
                                   repeats=1 if large else HEAD_REPEATS)
            if embeddings is not None else None)
    q = signals.blend(p, head, MODEL_WEIGHT) if head is not None else p
    words = (signals.text_head_probabilities(texts, y, folds=5 if large else HEAD_FOLDS, seed=seed)
             if texts is not None else None)
    if words is not None:
        q = signals.blend(q, words, 1.0 - TEXT_WEIGHT)
    return ClassEvidence(y, p, q, head, words, tuple(texts) if texts is not None else None)


@dataclass(frozen=True)
class WrongClassFindings(Findings):
    transition: np.ndarray  # N[given, true]
    directions: tuple[signals.NoiseDirection, ...]  # one-way noise found
    rival: np.ndarray  # the likeliest other class
    margin: np.ndarray  # q[given] - q[rival]


@register
@dataclass(frozen=True)
class WrongClass:
    issue_name: ClassVar[str] = "wrong class"
    task: ClassVar[str] = "classification"
    description: ClassVar[str] = ("P(label wrong): the noise posterior of the blended class "
                                  "probabilities under the directional noise transition")

    def transition(self, labels: np.ndarray, model: np.ndarray
                   ) -> tuple[np.ndarray, list[signals.NoiseDirection]]:
        """From the model alone: the heads are fitted to the given labels and so underestimate
        how often they are wrong (tuning seeds 100-104, one-directional flips: precision@K 0.667
        vs 0.664)."""
        return signals.directional_noise_transition(labels, model)

    def find(self, evidence: ClassEvidence) -> WrongClassFindings:
        y, q = evidence.labels, evidence.q
        rows = np.arange(len(y))
        transition, directions = self.transition(y, evidence.model)
        wrong = signals.wrong_label_posterior(y, q, transition)
        others = q.copy()
        others[rows, y] = -np.inf
        rival = others.argmax(axis=1)
        thresholds = np.array([q[y == j, j].mean() if (y == j).any() else 1.0
                               for j in range(q.shape[1])])
        flagged = (others >= thresholds[None, :]).any(axis=1)
        return WrongClassFindings(self.issue_name, wrong, flagged, transition, tuple(directions),
                                  rival, q[rows, y] - q[rows, rival])


@dataclass(frozen=True)
class ConflictFindings(Findings):
    twins: Mapping[int, tuple[int, float]] = field(default_factory=dict)  # row -> (twin, cosine)


@register
@dataclass(frozen=True)
class NearDuplicateConflict:
    issue_name: ClassVar[str] = "near-duplicate conflict"
    task: ClassVar[str] = "classification"
    description: ClassVar[str] = ("a near-identical text (character 3-5-gram TF-IDF cosine >= "
                                  "0.8) carries another label")

    def find(self, evidence: ClassEvidence) -> ConflictFindings:
        y = evidence.labels
        twins: dict[int, tuple[int, float]] = {}
        pairs = signals.near_duplicate_pairs(evidence.texts) if evidence.texts is not None else []
        for i, j, sim in pairs:
            if y[i] != y[j]:
                for a, b in ((i, j), (j, i)):
                    if a not in twins or sim > twins[a][1]:
                        twins[a] = (b, sim)
        conflict = np.zeros(len(y))
        conflict[list(twins)] = 1.0
        return ConflictFindings(self.issue_name, conflict, conflict > 0, twins)


def combined_score(found: Sequence[Findings]) -> np.ndarray:
    """The ranking score: each issue type's score at its SCORE_WEIGHTS share."""
    total = np.zeros(len(found[0].score))
    for f in found:
        total = total + SCORE_WEIGHTS[f.issue_name] * f.score
    return total


def classification_issues(ids: Sequence[str], labels: Sequence[int], probabilities: np.ndarray,
                          label_names: Sequence[str], *, embeddings: np.ndarray | None = None,
                          texts: Sequence[str] | None = None,
                          neighbours: np.ndarray | None = None, seed: int = 0
                          ) -> list[LabelIssue]:
    """Every sample, ranked by the estimated chance that its label is wrong (1 = most suspect).

    `probabilities` must be out-of-sample. `embeddings` and `texts` add their heads (and texts
    the near-duplicate search); `neighbours` (k-NN indices) only add their label agreement to
    the reason.
    """
    evidence = class_evidence(labels, probabilities, embeddings=embeddings, texts=texts,
                              seed=seed)
    wrong, conflict = WrongClass().find(evidence), NearDuplicateConflict().find(evidence)
    score = combined_score((wrong, conflict))
    y = evidence.labels
    agree = (signals.neighbour_label_agreement(neighbours, y) if neighbours is not None
             else None)
    issues = []
    for rank, i in enumerate(np.argsort(-score, kind="stable"), start=1):
        twin = i in conflict.twins
        margin = wrong.margin[i]
        kind = ("wrong class" if margin < -0.2 or (margin < 0 and not twin)
                else "ambiguous" if twin or abs(margin) <= 0.2 else "none")
        reason = classification_reason(int(i), ids, label_names, evidence, wrong, conflict.twins,
                                       None if agree is None else float(agree[i]))
        issues.append(LabelIssue(str(ids[i]), float(score[i]), rank, reason,
                                 bool(wrong.flagged[i] or twin), kind))
    return issues


def cleanlab_ranking(labels: Sequence[int], probabilities: np.ndarray) -> np.ndarray | None:
    """Positions cleanlab flags, most suspicious first; None when cleanlab is not installed."""
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return None
    return np.asarray(find_label_issues(np.asarray(labels), np.asarray(probabilities),
                                        return_indices_ranked_by="self_confidence"))


def agreement(ours: Sequence[LabelIssue], cleanlab_positions: np.ndarray, ids: Sequence[str],
              top: int = 20) -> dict[str, float]:
    """Overlap of the two methods: Jaccard of flagged sets; share of our top `top` that cleanlab
    flags too."""
    theirs = {str(ids[i]) for i in cleanlab_positions}
    flagged = {issue.id for issue in ours if issue.flagged}
    top_ids = [issue.id for issue in sorted(ours, key=lambda x: x.rank)[:top]]
    union = flagged | theirs
    return {"ours_flagged": len(flagged), "cleanlab_flagged": len(theirs),
            "jaccard": len(flagged & theirs) / len(union) if union else 1.0,
            f"top{top}_in_cleanlab": sum(i in theirs for i in top_ids) / max(1, len(top_ids))}
