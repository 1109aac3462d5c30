"""QA label issues: signals against hand and library computations; planted noise in synthetic
questions (a synthetic 'model' whose n best favour the true answer) is found, controls are not."""

from __future__ import annotations

import re

import numpy as np
import pytest

from textlens.latent.issues import qa_signals
from textlens.latent.issues.qa import assess, qa_label_issues
from textlens.latent.issues.qa_signals import QASample
from textlens.latent.issues.reasons import qa_reason
from textlens.latent.issues.text import sentence_spans as lex_sentence_spans

NAMES = ["Anna Berg", "Tomas Kell", "Rita Ossa", "Ivan Pohl", "Lena Quist", "Marco Ruiz"]
CITIES = ["Smiljan", "Graz", "Tromso", "Leuven", "Aarhus", "Bergamo"]
RIVERS = ["Vessa", "Ilmar", "Trent", "Oder", "Kama", "Sava"]


def fact_context(i: int) -> tuple[str, list[tuple[str, str]]]:
    """A four-sentence context and (question, answer) pairs, one per sentence; the birth city
    is mentioned twice (a second, valid mention for the controls)."""
    name, city, river = NAMES[i % 6], CITIES[i % 6], RIVERS[(i + 2) % 6]
    year, km, founder = 1850 + 7 * i, 100 + 13 * i, NAMES[(i + 3) % 6]
    context = (f"{name} was born in {city} in {year}. The river {river} is {km} kilometres "
               f"long. {founder} founded the observatory of the valley. Much later, {name} "
               f"returned to {city} to teach.")
    qas = [(f"Where was {name} born?", city), (f"When was {name} born?", str(year)),
           (f"How long is the river {river}?", f"{km} kilometres"),
           ("Who founded the observatory of the valley?", founder)]
    return context, qas


def model_nbest(context: str, answer_start: int, answer_end: int) -> tuple:
    """n best of a good model: the true span, a one-word-longer span, a span elsewhere."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", context)]
    nxt = next((w for w in words if w[0] > answer_end), words[-1])
    other = words[1] if words[1][0] >= answer_end or words[1][1] <= answer_start else words[-1]
    return ((answer_start, answer_end, 7.0), (answer_start, nxt[1], 4.0),
            (other[0], other[1], 2.5))


def loss_of(nbest: tuple, gold: tuple[int, int]) -> float:
    """-log of the gold's n-best mass; a gold outside the n best gets 16, the scale of a real
    model's cross-entropy there (squad-minilm on tuning questions: median 17.8 for golds moved
    outside its n best, 11.5 for clean golds it misses)."""
    probs = qa_signals.nbest_probabilities(nbest)
    mass = sum(p for (a, b, _), p in zip(nbest, probs, strict=True) if (a, b) == gold)
    return float(-np.log(mass)) if mass > 0 else 16.0


def build(contexts: int = 12, seed: int = 0):
    """Samples with planted moved, swapped, boundary and control golds; returns (samples, kinds)."""
    rng = np.random.default_rng(seed)
    samples, kinds = [], []
    for c in range(contexts):
        context, qas = fact_context(c)
        truth = [(context.index(a), context.index(a) + len(a)) for _, a in qas]
        golds = list(truth)
        kind = ["clean"] * 4
        plan = c % 6
        if plan == 0:  # moved to the unrelated sentence about the observatory
            s = context.index("observatory")
            golds[1], kind[1] = (s, s + len("observatory")), "moved"
        elif plan == 1:
            golds[1], golds[2], kind[1], kind[2] = truth[2], truth[1], "swapped", "swapped"
        elif plan == 2:  # extended by two words
            a, b = truth[2]
            golds[2], kind[2] = (a, b + len(" long.")), "boundary"
        elif plan == 3:  # the second, equally valid mention of the city
            second = context.rindex(qas[0][1])
            golds[0], kind[0] = (second, second + len(qas[0][1])), "control"
        for q, ((question, _), gold, t) in enumerate(zip(qas, golds, truth, strict=True)):
            nbest = model_nbest(context, *t)
            noise = tuple((a, b, s + float(rng.normal(0, 0.3))) for a, b, s in nbest)
            samples.append(QASample(f"c{c}q{q}", question, context, *gold, noise,
                                    loss_of(noise, gold)))
            kinds.append(kind[q])
    return samples, np.array(kinds)


def test_nbest_probabilities_mentions_and_token_f1() -> None:
    from scipy.special import softmax

    nbest = ((0, 3, 2.0), (4, 8, 1.0), (0, 8, -1.0))
    assert qa_signals.nbest_probabilities(nbest) == pytest.approx(softmax([2.0, 1.0, -1.0]))
    text = "Graz is in Austria; Graz is old."
    assert qa_signals.mentions(text, "Graz") == [m.start() for m in re.finditer("Graz", text)]
    assert qa_signals.token_f1("the river Trent", "Trent river") == pytest.approx(1.0)
    assert qa_signals.token_f1("100 kilometres", "100 miles") == pytest.approx(0.5)


def test_signals_by_hand() -> None:
    context, qas = fact_context(0)
    question, answer = qas[0]  # Where was Anna Berg born? -> Smiljan
    first, second = context.index(answer), context.rindex(answer)
    nbest = ((first, first + 7, 3.0), (first, first + 15, 2.0), (0, 4, 1.0))
    p = qa_signals.nbest_probabilities(nbest)
    other_mention = qa_signals.signals(QASample("x", question, context, second, second + 7, nbest,
                                              2.0))
    assert other_mention.mass_text == pytest.approx(p[0])  # same text, other mention
    assert other_mention.mass_exact == 0.0 and other_mention.mass_overlap == 0.0
    extended = qa_signals.signals(QASample("x", question, context, first, first + 15, nbest, 1.0))
    assert extended.mass_exact == pytest.approx(p[1])
    assert extended.mass_overlap == pytest.approx(p[0] + p[1])
    assert extended.features()["boundary_mass"] == pytest.approx(p[0])  # boundary mass
    assert extended.one_end_mass == pytest.approx(p[0])  # same start, other end
    # "Where was Anna Berg born?": content words anna, berg, born; the observatory sentence
    # shares none, the first sentence all three
    obs = context.index("observatory")
    moved = qa_signals.signals(QASample("x", question, context, obs, obs + 11, nbest, 5.0))
    assert moved.gold_relatedness == 0.0 and moved.relatedness_gap == pytest.approx(1.0)
    assert moved.p_top == pytest.approx(p[0]) and moved.loss == 5.0


def test_claimed_by_another_question_on_the_same_context() -> None:
    samples, kinds = build(contexts=2)
    claimed = qa_signals.claimed_scores(samples)
    swapped = [i for i, k in enumerate(kinds) if k == "swapped"]
    assert len(swapped) == 2
    for i in swapped:
        partner = next(j for j in swapped if j != i)
        p_top = qa_signals.nbest_probabilities(samples[partner].nbest)[0]
        assert claimed[i] == (pytest.approx(p_top), samples[partner].id)
    assert all(claimed[i][0] == 0.0 for i, k in enumerate(kinds) if k == "clean")


def test_planted_qa_noise_ranks_first_and_controls_are_not_flagged() -> None:
    """Moved and swapped golds rank first and are flagged; boundaries rank above every clean
    question, read as `wrong boundary`; a gold at another mention of the model's answer is
    never flagged and ranks below every moved or swapped gold (the loss alone would put it
    near the top)."""
    samples, kinds = build(contexts=24)
    issues = qa_label_issues(samples)
    by_id = {i.id: i for i in issues}
    kind_of = dict(zip((s.id for s in samples), kinds, strict=True))
    span_errors = [i for i, k in kind_of.items() if k in ("moved", "swapped")]
    boundaries = [i for i, k in kind_of.items() if k == "boundary"]
    controls = [i for i, k in kind_of.items() if k == "control"]
    assert {i.id for i in issues[:len(span_errors)]} == set(span_errors)
    assert all(by_id[i].kind == "wrong span" and by_id[i].flagged for i in span_errors)
    index = {s.id: s for s in samples}
    assert all(assess([qa_signals.signals(index[i])])[1][0] == "wrong boundary"
               for i in boundaries)
    assert all(by_id[i].kind in ("wrong boundary", "none") for i in boundaries)  # none: < 0.5
    clean = [i for i, k in kind_of.items() if k == "clean"]
    assert min(by_id[i].score for i in boundaries) > max(by_id[i].score for i in clean)
    assert all(not by_id[i].flagged and by_id[i].kind == "none" for i in controls)
    by_loss = sorted(samples, key=lambda s: -(s.loss or 0.0))
    assert any(s.id in controls for s in by_loss[:len(span_errors)])  # the baseline is fooled
    swapped = next(i for i, k in kind_of.items() if k == "swapped")
    assert "answer" in by_id[swapped].reason and "question c" in by_id[swapped].reason


def test_ambiguous_when_two_spans_in_related_sentences_share_the_mass() -> None:
    context = ("Zond 5 was the first spacecraft to circle the Moon and return to Earth. "
               "Apollo 8 was the first crewed spacecraft to circle the Moon.")
    question = "What was the first spacecraft to circle the Moon?"
    zond, apollo = context.index("Zond 5"), context.index("Apollo 8")
    nbest = ((apollo, apollo + 8, 3.0), (zond, zond + 6, 2.8), (0, 4, 0.0))
    sig = qa_signals.signals(QASample("z", question, context, zond, zond + 6, nbest, 1.5))
    assert assess([sig])[1][0] == "ambiguous" and not sig.top_in_gold_sentence
    assert "review as ambiguous" in qa_reason(sig, "ambiguous")
    same = qa_signals.signals(QASample("s", question, context, zond, zond + 6,
                                     ((context.index("Moon"), context.index("Moon") + 4, 3.0),
                                      (apollo, apollo + 8, 2.8)), 1.5))
    assert same.top_in_gold_sentence  # the rival sits in the gold's own sentence
    obs = context.index("Earth")
    wrong = qa_signals.signals(QASample("w", question, context, obs, obs + 5,
                                      ((apollo, apollo + 8, 6.0),), 7.0))
    assert assess([wrong])[1][0] == "wrong span"


def test_qa_samples_read_the_samples_table() -> None:
    """The pipeline's frame (answers as JSON, n best as JSON) becomes detector samples."""
    import json

    import pandas as pd

    from textlens.latent.issues.qa_signals import qa_samples

    context, qas = fact_context(1)
    start = context.index(qas[0][1])
    frame = pd.DataFrame({
        "id": ["a", "b", "c"], "question": [qas[0][0]] * 3, "context": [context] * 3,
        "answers": [json.dumps([qas[0][1], "x"]), json.dumps([qas[0][1]]), json.dumps([])],
        "answer_starts": [json.dumps([start, 0]), json.dumps([start]), json.dumps([])],
        "nbest": [json.dumps([[start, start + 4, 1.5], [0, 4, 0.5]]), None, None],
        "pred_start": [start, 3, 0], "pred_end": [start + 4, 9, 0],
        "loss": [0.7, float("nan"), 1.0]})
    samples = qa_samples(frame)
    assert [s.id for s in samples] == ["a", "b"]  # no gold answer: nothing to audit
    assert samples[0].gold_start == start and samples[0].gold_end == start + len(qas[0][1])
    assert samples[0].nbest == ((start, start + 4, 1.5), (0, 4, 0.5)) and samples[0].loss == 0.7
    assert samples[1].nbest == ((3, 9, 0.0),) and samples[1].loss is None
    assert samples[0].start_loss is None  # predictions cached before `start_loss` existed
    with pytest.warns(UserWarning, match="nbest"):
        assert len(qa_samples(frame.drop(columns="nbest"))) == 2
    split = qa_samples(frame.assign(start_loss=[0.2, float("nan"), 0.4],
                                    local_loss=[1.5, float("nan"), 0.1]))
    assert split[0].start_loss == 0.2 and split[1].start_loss is None
    assert split[0].local_loss == 1.5 and split[1].local_loss is None
    assert samples[0].local_loss is None


def test_end_losses_and_size_gap_by_hand() -> None:
    """The loss splits into its ends as given (evenly without `start_loss`); the size gap is
    counted against the likeliest n-best span overlapping the gold; the features carry both."""
    context, qas = fact_context(2)
    question, answer = qas[2]  # How long is the river ...? -> "126 kilometres"
    a = context.index(answer)
    b = a + len(answer)
    long_end = b + len(" long.")
    nbest = ((a, b, 3.0), (a, a + 3, 2.5), (0, 4, 1.0))
    sig = qa_signals.signals(QASample("x", question, context, a, long_end, nbest, 9.0, 1.5))
    assert (sig.start_loss, sig.end_loss) == (1.5, pytest.approx(7.5))
    assert sig.size_gap == 1  # "126 kilometres long." vs "126 kilometres"
    row = sig.features()
    assert row["end_loss_gap"] == pytest.approx(6.0) and row["max_end_loss"] == pytest.approx(7.5)
    assert row["min_end_loss"] == pytest.approx(1.5) and row["abs_size_gap"] == 1.0
    even = qa_signals.signals(QASample("x", question, context, a, long_end, nbest, 9.0))
    assert even.start_loss == even.end_loss == pytest.approx(4.5)
    cut = qa_signals.signals(QASample("x", question, context, a, a + 3, nbest[1:], 9.0, 1.5))
    assert cut.size_gap == 0  # the likeliest overlapping span is the gold itself
    shorter = qa_signals.signals(QASample("x", question, context, a, a + 3, nbest, 9.0, 1.5))
    assert shorter.size_gap == -1
    reason = qa_reason(sig, "wrong boundary")
    assert "the loss sits at the gold's end (7.5, its start 1.5)" in reason
    assert "1 word(s) longer" in reason


def test_a_loss_at_one_end_ranks_above_the_same_loss_spread_over_both() -> None:
    """Same gold, same n best, same total loss: the gold whose loss sits at one end (a moved
    boundary) ranks above the one whose loss is spread evenly over both ends."""
    context, qas = fact_context(3)
    question, answer = qas[2]
    a = context.index(answer)
    nbest = ((a, a + len(answer), 3.0), (0, 4, 1.0))
    gold = (a, a + len(answer) + len(" long."))
    one_end = QASample("one", question, context, *gold, nbest, 10.0, 0.5)
    spread = QASample("spread", question, context, *gold, nbest, 10.0, 5.0)
    score = {i.id: i.score for s in (one_end, spread) for i in qa_label_issues([s])}
    assert score["one"] > score["spread"]


def test_predict_qa_start_loss_is_the_start_cross_entropy(tiny_qa) -> None:
    """`start_loss` is the start token's cross-entropy, computed here from the model's logits
    independently of `predict_qa`; the end's is the rest of `loss`."""
    import torch

    from textlens.data.types import Answer, QAExample
    from textlens.models.predict import predict_qa
    from textlens.models.qa import encode_qa

    context = "The Eiffel Tower is in Paris. It was built in 1889 by Gustave Eiffel."
    example = QAExample("q", "t", context, "When was it built?",
                        (Answer("1889", context.index("1889")),))
    (pred,) = predict_qa(tiny_qa, [example], progress=False)
    feats = encode_qa(tiny_qa.tokenizer, [example], 256, 128)
    assert len(feats.input_ids) == 1
    batch = {"input_ids": torch.tensor([feats.input_ids[0]]),
             "attention_mask": torch.tensor([feats.attention_mask[0]])}
    if feats.token_type_ids is not None:
        batch["token_type_ids"] = torch.tensor([feats.token_type_ids[0]])
    with torch.inference_mode():
        out = tiny_qa.model(**batch)
    log_start = torch.log_softmax(out.start_logits[0].float(), -1)
    log_end = torch.log_softmax(out.end_logits[0].float(), -1)
    start_ce = -float(log_start[feats.start_positions[0]])
    end_ce = -float(log_end[feats.end_positions[0]])
    assert pred.start_loss == pytest.approx(start_ce, rel=1e-4)
    assert pred.loss - pred.start_loss == pytest.approx(end_ce, rel=1e-4)
    local = 0.0
    for logits, gold in ((out.start_logits[0], feats.start_positions[0]),
                         (out.end_logits[0], feats.end_positions[0])):
        near = [t for t in range(gold - 5, gold + 6) if feats.offsets[0][t] is not None]
        local -= float(torch.log_softmax(logits[near].float(), -1)[near.index(gold)])
    assert pred.local_loss == pytest.approx(local, rel=1e-4) and 0 < pred.local_loss < pred.loss


def test_local_cross_entropy_by_hand() -> None:
    from scipy.special import logsumexp

    from textlens.models.predict import local_cross_entropy

    logits = np.array([9.0, 0.5, 2.0, -1.0, 3.0, 0.0, 4.0, 1.0])
    offsets = [None, (0, 3), (4, 6), (7, 9), (10, 12), (13, 15), (16, 18), None]
    # k = 2 around token 3: tokens 1-5, all in the context
    assert local_cross_entropy(logits, offsets, 3, k=2) == pytest.approx(
        logsumexp(logits[1:6]) - logits[3])
    # at the context's edge: [CLS] (token 0, no offset) is left out of the neighbourhood
    assert local_cross_entropy(logits, offsets, 1, k=2) == pytest.approx(
        logsumexp(logits[1:4]) - logits[1])
    assert local_cross_entropy(logits, offsets, 6, k=1) == pytest.approx(
        logsumexp(logits[5:7]) - logits[6])


def test_a_costly_end_nearby_ranks_above_a_cheap_one() -> None:
    """Same gold, n best and losses: the gold whose ends the model would place elsewhere
    nearby (high local loss) ranks above the one it would place there; its reason says so."""
    context, qas = fact_context(4)
    question, answer = qas[2]
    a = context.index(answer)
    nbest = ((a, a + len(answer), 3.0), (0, 4, 1.0))
    gold = (a, a + len(answer) + len(" long."))
    off = QASample("off", question, context, *gold, nbest, 10.0, 3.0, 6.0)
    near = QASample("near", question, context, *gold, nbest, 10.0, 3.0, 0.2)
    issues = {i.id: i for s in (off, near) for i in qa_label_issues([s])}
    assert issues["off"].score > issues["near"].score
    sig = qa_signals.signals(off)
    assert sig.features()["local_loss"] == 6.0
    assert "start x end only 0% (local loss 6.0)" in qa_reason(sig, "wrong boundary")


def test_the_benchmark_baseline_prefers_a_confident_span_in_the_related_sentence() -> None:
    """bench/label_qa_before.py, the score before #13 (moved out of the library; the
    benchmark's "textlens before #13" row depends on it)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).parents[2] / "bench" / "label_qa_before.py"
    spec = importlib.util.spec_from_file_location("label_qa_before", path)
    assert spec is not None and spec.loader is not None
    before = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = before  # dataclasses look their module up there
    spec.loader.exec_module(before)
    context = ("Tesla was born in Smiljan in 1856. He later moved to New York. "
               "The weather there was cold that winter.")
    question = "Where was Tesla born?"
    pred = (context.index("Smiljan"), context.index("Smiljan") + 7)
    moved = context.index("cold")
    issue = before.qa_issue_score(question, context, [(moved, moved + 4)], *pred, confidence=0.9)
    clean = before.qa_issue_score(question, context, [pred], *pred, confidence=0.9)
    unsure = before.qa_issue_score(question, context, [(moved, moved + 4)], *pred, confidence=0.1)
    assert issue.score > unsure.score > 0 and clean.score == 0
    assert issue.gold_relatedness == 0 and issue.predicted_relatedness > 0.5
    assert len(lex_sentence_spans(context)) == 3
