"""QA label-error signals: is this gold span what the question asks for?

Inputs are what prediction already gives (`QAPrediction.nbest` and the loss at the gold span),
so the detector costs no extra model pass. Signals, per question:

- `loss`: start + end cross-entropy at the gold span (the baseline).
- n-best agreement (softmax over the n best span scores): `mass_exact` on the gold span itself,
  `mass_text` on spans with the gold's normalised text anywhere in the context (a different
  mention of the same answer is not an error), `mass_overlap` on spans overlapping the gold
  (the model agrees on *where*, maybe not on the boundaries), `p_top` of the best span,
  `gold_sentence_mass` on spans in the gold's sentence.
- `relatedness_gap`: share of the question's content words in the most related sentence minus
  in the gold's sentence (best over the gold text's mentions); `gold_rank` / `idf_gap`: the
  same with IDF weights, as a rank among the context's sentences (issues.text).
- `one_end_mass`: n-best mass on spans that share exactly one end with the gold (a boundary
  moved at the other end).
- `start_loss` / `end_loss`: the loss split into its two ends (a wrong boundary makes one end
  costly, a wrong place both); `size_gap`: how many words the gold is longer or shorter than
  the model's most likely span overlapping it; `local_loss`: the loss at the gold's ends
  against the context tokens within 5 of each (`predict.local_cross_entropy`): a boundary a
  few words off is costly there, a right gold the model answers elsewhere is not.
- `claimed`: the gold overlaps (token F1) the confident prediction for *another* question on the
  same context while this question's own n-best ignores it; `mutual_claim`: both questions'
  n-bests prefer the other's gold (the answers were swapped).
- text only (issues.text): the gold starts/ends on a function word; the question asks
  for a number, date or name and the gold has none (`type_mismatch`); the gold's length in
  words (a long gold has a high loss even when right).

`QASignals.features()` names every model input: the issue types of `qa` weigh them by name
(`qa_weights`), never by position.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from textlens.latent.issues import text as lex
from textlens.metrics.squad import normalize_answer

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class QASample:
    """One question as the detector sees it: the gold span under audit and the model's n best."""

    id: str
    question: str
    context: str
    gold_start: int
    gold_end: int
    nbest: tuple[tuple[int, int, float], ...]  # (start_char, end_char, score), best first
    loss: float | None = None
    start_loss: float | None = None  # the start CE alone; None: split `loss` evenly
    local_loss: float | None = None  # start + end CE near the gold's ends (predict_qa); None: 0


@dataclass(frozen=True)
class QASignals:
    loss: float
    mass_exact: float
    mass_text: float
    mass_overlap: float
    p_top: float
    relatedness_gap: float
    gold_relatedness: float
    top_relatedness: float
    claimed: float
    claimed_by: str
    rival_mass: float  # mass of the best n-best span that neither matches nor overlaps the gold
    one_end_mass: float = 0.0  # mass of spans sharing exactly one end with the gold
    top_in_gold_sentence: bool = False  # the best span lies in (one of) the gold's sentence(s)
    gold_rank: float = 0.0  # IDF relatedness rank of the gold's sentence, 0 = most related
    idf_gap: float = 0.0  # IDF relatedness: most related sentence minus the gold's
    idf_gold: float = 0.0  # IDF relatedness of the gold's sentence
    gold_sentence_mass: float = 0.0  # n-best mass on spans in the gold's sentence(s)
    expected_type: str = ""  # number / date / name, from the question
    type_mismatch: bool = False  # the question expects a type the gold lacks
    top_has_type: bool = False  # ... and the model's best span has it
    mutual_claim: float = 0.0  # both n-bests prefer the other question's gold
    mutual_with: str = ""  # ... that other question's id
    starts_function: bool = False  # the gold starts on a non-article function word
    ends_function: bool = False  # the gold ends on a function word
    gold_text: str = ""
    gold_words: int = 1  # long golds have a high loss even when right
    start_loss: float = 0.0  # CE of the gold's start token; end_loss = loss - start_loss
    end_loss: float = 0.0
    size_gap: int = 0  # gold words minus those of the model's likeliest overlapping span
    local_loss: float = 0.0  # start + end CE among the 5 context tokens either side of each end

    def features(self) -> dict[str, float]:
        """The logistic models' inputs, by name (FEATURE_NAMES)."""
        eps = 1e-4
        return {
            "loss": self.loss,
            "log_mass_text": math.log(self.mass_text + eps),
            "log_mass_overlap": math.log(self.mass_overlap + eps),
            "boundary_mass": self.mass_overlap - self.mass_exact,
            "p_top": self.p_top,
            "relatedness_gap": self.relatedness_gap,
            "claimed": self.claimed,
            "gap_unsupported": self.relatedness_gap * (1.0 - self.mass_overlap),
            "rival_mass": self.rival_mass,
            "one_end_mass": self.one_end_mass,
            "idf_gap": self.idf_gap,
            "gold_rank": self.gold_rank,
            "idf_gold": self.idf_gold,
            "log_gold_sentence_mass": math.log(self.gold_sentence_mass + eps),
            "type_mismatch": float(self.type_mismatch),
            "type_mismatch_top_ok": float(self.type_mismatch and self.top_has_type),
            "mutual_claim": self.mutual_claim,
            "starts_function": float(self.starts_function),
            "ends_function": float(self.ends_function),
            "log_gold_words": math.log(max(1, self.gold_words)),
            "end_loss_gap": abs(self.start_loss - self.end_loss),
            "max_end_loss": max(self.start_loss, self.end_loss),
            "min_end_loss": min(self.start_loss, self.end_loss),
            "abs_size_gap": float(abs(self.size_gap)),
            "local_loss": self.local_loss,
        }


FEATURE_NAMES = ("loss", "log_mass_text", "log_mass_overlap", "boundary_mass", "p_top",
                 "relatedness_gap", "claimed", "gap_unsupported", "rival_mass", "one_end_mass",
                 "idf_gap", "gold_rank", "idf_gold", "log_gold_sentence_mass", "type_mismatch",
                 "type_mismatch_top_ok", "mutual_claim", "starts_function", "ends_function",
                 "log_gold_words", "end_loss_gap", "max_end_loss", "min_end_loss", "abs_size_gap",
                 "local_loss")


def feature_table(signals: Sequence[QASignals]) -> dict[str, np.ndarray]:
    """Every question's features as named columns (float64)."""
    rows = [s.features() for s in signals]
    return {name: np.array([r[name] for r in rows], dtype=np.float64) for name in FEATURE_NAMES}


def nbest_probabilities(nbest: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """Softmax of the n best span scores (start + end logits)."""
    if not nbest:
        return np.zeros(0)
    s = np.array([score for _, _, score in nbest], dtype=np.float64)
    s = np.exp(s - s.max())
    return s / s.sum()


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def token_f1(a: str, b: str) -> float:
    from collections import Counter

    x, y = normalize_answer(a).split(), normalize_answer(b).split()
    common = sum((Counter(x) & Counter(y)).values())
    if not x or not y or not common:
        return 0.0
    return 2 * common / (len(x) + len(y))


def mentions(context: str, text: str) -> list[int]:
    """Start offsets of every occurrence of `text` in the context."""
    out, at = [], context.find(text) if text else -1
    while at >= 0:
        out.append(at)
        at = context.find(text, at + 1)
    return out


def signals(sample: QASample, claimed: float = 0.0, claimed_by: str = "",
            mutual_claim: float = 0.0, mutual_with: str = "") -> QASignals:
    """Every per-question signal (see the module docstring); `claimed` and `mutual_claim` come
    from the other questions on the context (`claimed_scores`, `mutual_claims`)."""
    gold = (sample.gold_start, sample.gold_end)
    raw = sample.context[gold[0]:gold[1]]
    gold_text = normalize_answer(raw)
    probs = nbest_probabilities(sample.nbest)
    spans, idf = lex.idf_relatedness(sample.question, sample.context)
    gold_sentences = {lex.sentence_index(spans, m)
                      for m in mentions(sample.context, raw) or [gold[0]]}
    exact = text = overlap = one_end = in_sentence = rival = best_overlap = 0.0
    size_gap = 0
    for (start, end, _), p in zip(sample.nbest, probs, strict=True):
        same_text = normalize_answer(sample.context[start:end]) == gold_text
        exact += p if (start, end) == gold else 0.0
        one_end += p if (start == gold[0]) != (end == gold[1]) else 0.0
        text += p if same_text else 0.0
        touches = overlaps((start, end), gold)
        overlap += p if touches else 0.0
        if touches and p > best_overlap:
            best_overlap = float(p)
            size_gap = len(raw.split()) - len(sample.context[start:end].split())
        in_sentence += p if lex.sentence_index(spans, start) in gold_sentences else 0.0
        if not touches and not same_text:
            rival = max(rival, float(p))
    q, context = sample.question, sample.context
    plain = [lex.relatedness(q, context[a:b]) for a, b in spans]
    gold_rel = max((plain[k] for k in gold_sentences), default=0.0)
    top = lex.sentence_index(spans, sample.nbest[0][0]) if sample.nbest else -1
    top_rel = plain[top] if sample.nbest else 0.0
    loss = sample.loss if sample.loss is not None and math.isfinite(sample.loss) else 0.0
    start_loss = (sample.start_loss if sample.start_loss is not None
                  and math.isfinite(sample.start_loss) else loss / 2)
    wanted = lex.expected_answer_type(q)
    top_text = context[sample.nbest[0][0]:sample.nbest[0][1]] if sample.nbest else ""
    starts, ends = lex.function_word_ends(raw)
    idf_gold = max((idf[k] for k in gold_sentences), default=0.0)
    return QASignals(float(loss), exact, text, overlap, float(probs[0]) if len(probs) else 0.0,
                     max(plain, default=0.0) - gold_rel, gold_rel, top_rel, claimed, claimed_by,
                     rival, one_end, top in gold_sentences,
                     gold_rank=lex.sentence_rank(idf, gold_sentences),
                     idf_gap=max(idf, default=0.0) - idf_gold, idf_gold=idf_gold,
                     gold_sentence_mass=in_sentence, expected_type=wanted,
                     type_mismatch=bool(wanted) and not lex.has_answer_type(wanted, raw),
                     top_has_type=bool(wanted) and lex.has_answer_type(wanted, top_text),
                     mutual_claim=mutual_claim, mutual_with=mutual_with,
                     starts_function=starts, ends_function=ends,
                     gold_text=raw, gold_words=len(raw.split()), start_loss=float(start_loss),
                     end_loss=float(loss - start_loss), size_gap=size_gap,
                     local_loss=float(sample.local_loss or 0.0))


def mutual_claims(samples: Sequence[QASample]) -> list[tuple[float, str]]:
    """For each question A: max over questions B on the same context of min(n-best mass of A on
    spans overlapping B's gold, n-best mass of B on spans overlapping A's gold), with B's id:
    high when each model answer sits on the other's gold, i.e. the two golds were swapped."""
    by_context: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_context[s.context].append(i)
    probs = [nbest_probabilities(s.nbest) for s in samples]

    def mass(i: int, span: tuple[int, int]) -> float:
        return float(sum(p for (a, b, _), p in zip(samples[i].nbest, probs[i], strict=True)
                         if overlaps((a, b), span)))

    out = []
    for i, s in enumerate(samples):
        best, by = 0.0, ""
        for j in by_context[s.context]:
            other = samples[j]
            if j != i:
                value = min(mass(i, (other.gold_start, other.gold_end)),
                            mass(j, (s.gold_start, s.gold_end)))
                if value > best:
                    best, by = value, other.id
        out.append((best, by))
    return out


def all_signals(samples: Sequence[QASample]) -> list[QASignals]:
    """`signals` of every question, with the context-level claims filled in."""
    claimed = claimed_scores(samples)
    mutual = mutual_claims(samples)
    return [signals(s, c, by, m, with_id)
            for s, (c, by), (m, with_id) in zip(samples, claimed, mutual, strict=True)]


def claimed_scores(samples: Sequence[QASample]) -> list[tuple[float, str]]:
    """For each question: max over other questions B on the same context of p_top(B) x token F1
    between this gold and B's top prediction, when this question's own n-best puts < 50% of its
    mass on spans overlapping the gold; with the id of that B."""
    by_context: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        by_context[s.context].append(i)
    out: list[tuple[float, str]] = []
    for s in samples:
        gold = (s.gold_start, s.gold_end)
        own = nbest_probabilities(s.nbest)
        own_overlap = sum(p for (a, b, _), p in zip(s.nbest, own, strict=True)
                          if overlaps((a, b), gold))
        best, by = 0.0, ""
        if own_overlap < 0.5:
            gold_text = s.context[gold[0]:gold[1]]
            for j in by_context[s.context]:
                other = samples[j]
                if other.id == s.id or not other.nbest:
                    continue
                a, b, _ = other.nbest[0]
                p_top = float(nbest_probabilities(other.nbest)[0])
                value = p_top * token_f1(gold_text, other.context[a:b])
                if value > best:
                    best, by = value, other.id
        out.append((best, by))
    return out


def other_mention_mass(sig: QASignals) -> float:
    """n-best mass on the gold's text at *other* positions: the model gives the same answer,
    at a different mention, so the gold is not wrong (SQuAD scores the text). The combined
    probability is multiplied by 1 minus this."""
    return max(0.0, sig.mass_text - sig.mass_exact)


def span_confidence(nbest_scores: Sequence[float]) -> float:
    """Softmax probability of the best span among the n best (start+end logits)."""
    if not nbest_scores:
        return 0.0
    s = np.asarray(nbest_scores, dtype=np.float64)
    s = np.exp(s - s.max())
    return float(s[0] / s.sum())


def qa_samples(frame: pd.DataFrame) -> list[QASample]:
    """The detector's view of a `samples` frame: first gold answer, n best (the `nbest` JSON
    column; without it only the predicted span), loss. Questions without an answer have no
    label to audit and are left out."""
    import json

    out = []
    has_nbest = "nbest" in frame
    if not has_nbest:
        import warnings

        warnings.warn("The samples have no `nbest` column (predictions cached by an older "
                      "textlens): QA label issues fall back to the predicted span alone. Delete "
                      "the run's .cache/predictions-* files to recompute them.", stacklevel=2)
    for r in frame.itertuples():
        starts, answers = json.loads(r.answer_starts), json.loads(r.answers)
        if not answers:
            continue
        nbest = (tuple((int(a), int(b), float(s)) for a, b, s in json.loads(r.nbest))
                 if has_nbest and isinstance(r.nbest, str)
                 else ((int(r.pred_start), int(r.pred_end), 0.0),))
        loss = float(r.loss) if r.loss == r.loss else None
        # both absent in predictions cached by an older textlens
        start_loss, local_loss = (getattr(r, c, None) for c in ("start_loss", "local_loss"))
        out.append(QASample(str(r.id), r.question, r.context, int(starts[0]),
                            int(starts[0]) + len(answers[0]), nbest, loss,
                            float(start_loss) if start_loss == start_loss
                            and start_loss is not None else None,
                            float(local_loss) if local_loss == local_loss
                            and local_loss is not None else None))
    return out
