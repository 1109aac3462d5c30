"""QA label-error signals and their combination: is this gold span what the question asks for?

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
  same with IDF weights, as a rank among the context's sentences (label_qa_lexical).
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
- text only (label_qa_lexical): the gold starts/ends on a function word; the question asks
  for a number, date or name and the gold has none (`type_mismatch`); the gold's length in
  words (a long gold has a high loss even when right).

`combine` runs three logistic models, one per kind of error (a gold in the wrong place, a gold
swapped with another question's, a wrong boundary), each fitted once on planted noise against
clean questions (tuning seeds, other articles than the benchmark's) and fixed here; their
noisy-OR is P(gold wrong), multiplied by 1 - the n-best mass on the gold's text at other
mentions (the same answer, elsewhere, is not an error). `kind_of` names the model that fired,
and separates ambiguous questions (several plausible spans, the Zond 5 case).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from textlens.metrics.squad import normalize_answer


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

    def features(self) -> np.ndarray:
        """The models' inputs, in FEATURES order."""
        eps = 1e-4
        return np.array([self.loss, math.log(self.mass_text + eps),
                         math.log(self.mass_overlap + eps), self.mass_overlap - self.mass_exact,
                         self.p_top, self.relatedness_gap, self.claimed,
                         self.relatedness_gap * (1.0 - self.mass_overlap), self.rival_mass,
                         self.one_end_mass, self.idf_gap, self.gold_rank, self.idf_gold,
                         math.log(self.gold_sentence_mass + eps), float(self.type_mismatch),
                         float(self.type_mismatch and self.top_has_type), self.mutual_claim,
                         float(self.starts_function), float(self.ends_function),
                         math.log(max(1, self.gold_words)), abs(self.start_loss - self.end_loss),
                         max(self.start_loss, self.end_loss), min(self.start_loss, self.end_loss),
                         abs(self.size_gap), self.local_loss])


FEATURES = ("loss", "log_mass_text", "log_mass_overlap", "boundary_mass", "p_top",
            "relatedness_gap", "claimed", "gap_unsupported", "rival_mass", "one_end_mass",
            "idf_gap", "gold_rank", "idf_gold", "log_gold_sentence_mass", "type_mismatch",
            "type_mismatch_top_ok", "mutual_claim", "starts_function", "ends_function",
            "log_gold_words", "end_loss_gap", "max_end_loss", "min_end_loss", "abs_size_gap",
            "local_loss")
# One logistic model per kind of error: {kind: (feature names, weights, intercept)}. The
# wrong-span (moved gold) model sees seven signals only: with all 24 its false alarms crowd the
# other kinds (held-out tuning articles, leave-one-article-out, precision@K moved / swapped /
# boundary). The boundary model gains from the loss split into its ends (the costlier end alone
# ranks boundaries at 0.468, the summed loss 0.321) and from the local loss (alone 0.530): the
# detector goes from 0.877 / 0.737 / 0.432 (20 signals, before) to 0.881 / 0.728 / 0.496 with
# the end losses and the size gap, 0.881 / 0.735 / 0.519 with the local loss too. Tried and
# dropped (no held-out gain on moved, whose own model stays at 0.885): a second-stage model on
# the top 15% by loss (0.874-0.889), gradient-boosted trees (0.81-0.84), one multinomial model
# (0.83-0.85), the relatedness of the model's best sentence against the gold's, answer type of
# the best span, punctuation at the gold's ends, the loss within the gold's sentence or within
# 5 / 15 tokens of its ends (0.872-0.885).
WRONG_SPAN_FEATURES = ("loss", "ends_function", "gold_rank", "type_mismatch", "log_gold_words",
                       "min_end_loss", "max_end_loss")
SWAPPED_FEATURES = FEATURES[:20]
# Fitted by `python bench/label_noise.py --task qa --tuning --fit`: planted noise with the
# tuning seeds 100-109 on SQuAD validation questions 1114-2062 (5 articles, none of the
# benchmark's), never on the benchmark's own seeds or questions; model: squad-minilm.
MODELS: dict[str, tuple[tuple[str, ...], np.ndarray, float]] = {
    "wrong span": (WRONG_SPAN_FEATURES, np.array([
        0.2367, 2.4396, 3.8101, 0.3588, -0.7730, 0.4058, 0.4448]), -10.2529),
    "swapped": (SWAPPED_FEATURES, np.array([
        0.2719, -0.0585, -0.1460, -0.4045, -1.6046, 0.1539, 4.1625, 0.4967, 3.9907, -0.7754,
        -0.0413, 1.6156, 0.3854, -0.0144, -0.6244, -0.4078, 6.2036, -0.6775, -2.3230, -0.1871]),
        -8.0461),
    "wrong boundary": (FEATURES, np.array([
        0.0355, -0.1644, 0.1381, 0.7303, -0.4852, 1.5765, 1.1687, -3.5139, 0.0544, 0.3454,
        1.8612, -1.7284, 0.6651, -0.1211, -0.3569, -0.6992, 1.3577, 0.6875, 3.1374, -0.1911,
        0.1076, 0.0692, 0.0345, -0.0345, 0.4554]), -7.1177),
}
# Log-odds taken off the swapped and boundary models before the noisy-OR, so that they fire
# only when sure: clean questions whose n-best disagree on boundaries otherwise crowd the top
# (held-out tuning articles, precision@K moved / swapped / boundary with the boundary offset at
# 1.5 / 2.0 / 2.5: 0.881 / 0.724 / 0.534, 0.881 / 0.735 / 0.519, 0.881 / 0.743 / 0.496; loss
# 0.872 / 0.526 / 0.321, margin 0.855 / 0.550 / 0.345).
OFFSETS = {"wrong span": 0.0, "swapped": 2.0, "wrong boundary": 2.0}


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
    from textlens.latent import label_qa_lexical as lex
    from textlens.latent.label_issues import relatedness

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
    plain = [relatedness(q, context[a:b]) for a, b in spans]
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


def model_logits(features: np.ndarray) -> dict[str, np.ndarray]:
    """Each kind's logistic model (log-odds, offsets applied), one value per row."""
    x = np.atleast_2d(np.asarray(features, dtype=np.float64))
    out = {}
    for kind, (names, weights, intercept) in MODELS.items():
        columns = [FEATURES.index(n) for n in names]
        out[kind] = x[:, columns] @ weights + intercept - OFFSETS[kind]
    return out


def combine(features: np.ndarray) -> np.ndarray:
    """P(the gold is wrong | signals), one value per row: the noisy-OR of the per-kind models."""
    keep = np.ones(np.atleast_2d(features).shape[0])
    for z in model_logits(features).values():
        keep = keep * (1.0 - 1.0 / (1.0 + np.exp(-z)))
    return 1.0 - keep


def other_mention_mass(sig: QASignals) -> float:
    """n-best mass on the gold's text at *other* positions: the model gives the same answer,
    at a different mention, so the gold is not wrong (SQuAD scores the text). The combined
    probability is multiplied by 1 minus this."""
    return max(0.0, sig.mass_text - sig.mass_exact)


def kind_of(sig: QASignals) -> str:
    """wrong boundary / ambiguous / wrong span / none: which model fired, then rules."""
    if sig.mass_text >= 0.5:
        return "none"
    logits = {k: float(v[0]) for k, v in model_logits(sig.features()).items()}
    boundary_fired = max(logits, key=logits.__getitem__) == "wrong boundary"
    if sig.mass_overlap - sig.mass_exact >= 0.4 or (boundary_fired and sig.mass_overlap >= 0.1):
        return "wrong boundary"
    if sig.rival_mass >= 0.2 and sig.mass_overlap >= 0.2:
        return "ambiguous"
    if (sig.gold_relatedness >= 0.5 and sig.top_relatedness >= 0.5 and sig.p_top < 0.7
            and not sig.top_in_gold_sentence):
        return "ambiguous"
    return "wrong span"


def reason_of(sig: QASignals, kind: str) -> str:
    """Which signals fired, with their numbers, in plain words."""
    parts = [f"gold loss {sig.loss:.1f}",
             f"n-best mass on the gold text {sig.mass_text:.0%}, overlapping it "
             f"{sig.mass_overlap:.0%}, exact span {sig.mass_exact:.0%}",
             f"best span p={sig.p_top:.2f}"]
    if sig.relatedness_gap > 0 or sig.gold_rank > 0:
        parts.append(f"gold sentence shares {sig.gold_relatedness:.0%} of the question's content "
                     f"words, the most related sentence {sig.gold_relatedness + sig.relatedness_gap:.0%}"
                     f" (by IDF-weighted overlap, {sig.gold_rank:.0%} of the other sentences are "
                     "closer to the question)")
    costly, cheap = sorted((("start", sig.start_loss), ("end", sig.end_loss)),
                           key=lambda e: -e[1])
    if costly[1] >= 2.0 and costly[1] >= 3 * cheap[1]:
        parts.append(f"the loss sits at the gold's {costly[0]} ({costly[1]:.1f}, its {cheap[0]} "
                     f"{cheap[1]:.1f}): one end looks misplaced")
    if sig.local_loss >= 1.0 and kind == "wrong boundary":
        parts.append(f"among the 5 tokens either side of each end the model gives the gold's "
                     f"start x end only {math.exp(-sig.local_loss):.0%} (local loss "
                     f"{sig.local_loss:.1f})")
    if sig.size_gap and kind == "wrong boundary":
        parts.append(f"the gold is {abs(sig.size_gap)} word(s) "
                     f"{'longer' if sig.size_gap > 0 else 'shorter'} than the model's likeliest "
                     "span overlapping it")
    if sig.ends_function or sig.starts_function:
        where = "ends" if sig.ends_function else "starts"
        parts.append(f"the gold {where} on a function word ({sig.gold_text!r}), which human "
                     "answers rarely do")
    if sig.type_mismatch:
        parts.append(f"the question asks for a {sig.expected_type}, the gold has none"
                     + (", the model's best span has one" if sig.top_has_type else ""))
    if sig.claimed > 0.2:
        parts.append(f"the gold is the model's answer (F1 x p = {sig.claimed:.2f}) to question "
                     f"{sig.claimed_by} on the same context")
    if sig.mutual_claim > 0.2:
        parts.append(f"this question's n best and question {sig.mutual_with}'s put "
                     f"{sig.mutual_claim:.0%} (the smaller share) on each other's gold"
                     + (": swapped answers?" if kind == "wrong span" else ""))
    if kind == "ambiguous":
        parts.append(f"another span holds {sig.rival_mass:.0%} of the n best in a sentence sharing "
                     f"{sig.top_relatedness:.0%} of the question's content words (the gold's: "
                     f"{sig.gold_relatedness:.0%}): several answers look plausible, review as "
                     "ambiguous rather than wrong")
    return f"{kind}: " + "; ".join(parts)
