"""Plain-words reasons of the label detectors: which signals fired, with their numbers.

Kept apart from the scoring (`classification`, `qa`): a reason reads the issue types' findings
and never changes a score or a rank.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textlens.latent.issues.classification import ClassEvidence, WrongClassFindings
    from textlens.latent.issues.qa_signals import QASignals


def classification_reason(i: int, ids: Sequence[str], label_names: Sequence[str],
                          evidence: ClassEvidence, wrong: WrongClassFindings,
                          twins: Mapping[int, tuple[int, float]], agree: float | None) -> str:
    """Row i's reason: its label against the likeliest other class, each view's p, the noise
    direction, its neighbours' agreement (when given) and a conflicting near-duplicate."""
    y, q, p = evidence.labels, evidence.q, evidence.model
    rival = int(wrong.rival[i])
    given, other = label_names[y[i]], label_names[rival]
    parts = [f"labelled {given} (p={q[i, y[i]]:.2f}); likely {other} "
             f"(p={q[i, rival]:.2f}); P(label wrong)={wrong.score[i]:.2f}"]
    views = [f"model p={p[i, y[i]]:.2f}"]
    if evidence.head is not None:
        views.append(f"head on this data's labels p={evidence.head[i, y[i]]:.2f}")
    if evidence.words is not None:
        views.append(f"bag-of-words head p={evidence.words[i, y[i]]:.2f}")
    if len(views) > 1:
        parts.append(", ".join(views))
    one_way = {(d.noisy, d.clean): d for d in wrong.directions}
    if (y[i], rival) in one_way:
        d = one_way[(y[i], rival)]
        parts.append(f"one-way noise: the model contradicts {d.rate:.0%} of {given} labels "
                     f"but {d.reverse_rate:.0%} of {other} labels (z={d.z:.1f})")
    elif (rival, y[i]) in one_way:
        d = one_way[(rival, y[i])]
        parts.append(f"{given} labels look rarely wrong: the model contradicts "
                     f"{d.reverse_rate:.0%} of them vs {d.rate:.0%} of {other} (z={d.z:.1f})")
    elif wrong.transition[y[i], rival] > 0:
        parts.append(f"est. {wrong.transition[y[i], rival]:.0%} of true {other} carry the "
                     f"label {given}")
    if agree is not None:
        parts.append(f"{agree:.0%} of latent neighbours share the label")
    if i in twins:
        j, sim = twins[i]
        parts.append(f"near-duplicate of {ids[j]} (similarity {sim:.2f}) labelled "
                     f"{label_names[y[j]]}")
    return "; ".join(parts)


def qa_reason(sig: QASignals, kind: str) -> str:
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
