"""The text-only QA label signals, against hand computations, and the detector's reliance on
each new signal: with every other input held equal, flipping one signal must move the rank."""

from __future__ import annotations

import math

import pytest

from textlens.latent.issues import qa_signals
from textlens.latent.issues import text as lex
from textlens.latent.issues.qa import qa_label_issues
from textlens.latent.issues.qa_signals import QASample
from textlens.latent.issues.reasons import qa_reason

CONTEXT = ("Harvard bought land in Allston in 1989. Harvard students study law. "
           "Harvard owns a forest.")


def test_idf_relatedness_and_rank_by_hand() -> None:
    spans, values = lex.idf_relatedness("How much land does Harvard own in Allston?", CONTEXT)
    assert [CONTEXT[a:b] for a, b in spans] == ["Harvard bought land in Allston in 1989.",
                                                "Harvard students study law.",
                                                "Harvard owns a forest."]
    # content words (stop words "how", "much", "in", "own" dropped; "does" -> "doe"): land,
    # harvard, doe, allston; 3 sentences, idf = log(4 / (1 + df)) + 1 with df = 1, 3, 0, 1
    idf = {"land": math.log(2) + 1, "harvard": 1.0, "doe": math.log(4) + 1,
           "allston": math.log(2) + 1}
    total = sum(idf.values())
    assert values == pytest.approx([(idf["land"] + idf["harvard"] + idf["allston"]) / total,
                                    idf["harvard"] / total, idf["harvard"] / total])
    assert lex.sentence_rank(values, {0}) == 0.0
    assert lex.sentence_rank(values, {1}) == pytest.approx(0.5)  # one of two others is closer
    assert lex.sentence_rank(values, {1, 0}) == 0.0  # best over the gold's mentions
    assert lex.sentence_index(spans, CONTEXT.index("forest")) == 2


def test_function_word_ends_and_answer_types() -> None:
    assert lex.function_word_ends("the Allston campus") == (False, False)  # articles may start
    assert lex.function_word_ends("of the land,") == (True, False)
    assert lex.function_word_ends("land in") == (False, True)
    assert lex.function_word_ends("...") == (True, True)  # no word at all
    assert lex.expected_answer_type("How many acres does Harvard own?") == "number"
    assert lex.expected_answer_type("In what year was the land bought?") == "date"
    assert lex.expected_answer_type("Who bought the land?") == "name"
    assert lex.expected_answer_type("Why was the land bought?") == ""
    assert lex.has_answer_type("number", "fifty acres") and not lex.has_answer_type("number",
                                                                                      "acres")
    assert lex.has_answer_type("date", "in May") and not lex.has_answer_type("date", "later")
    assert lex.has_answer_type("name", "the Harvard trustees")
    assert not lex.has_answer_type("name", "the trustees")


def test_signals_carry_the_lexical_values() -> None:
    question = "In what year did Harvard buy land in Allston?"
    year = CONTEXT.index("1989")
    nbest = ((year, year + 4, 5.0), (0, 7, 1.0))
    gold = CONTEXT.index("students study")  # "students study": no year, other sentence
    sig = qa_signals.signals(QASample("x", question, CONTEXT, gold, gold + 14, nbest, 15.0))
    spans, values = lex.idf_relatedness(question, CONTEXT)
    assert sig.gold_rank == lex.sentence_rank(values, {1}) == pytest.approx(0.5)
    assert sig.idf_gap == pytest.approx(values[0] - values[1])
    assert sig.type_mismatch and sig.top_has_type and sig.expected_type == "date"
    assert sig.gold_sentence_mass == 0.0  # neither n-best span lies in the gold's sentence
    ok = qa_signals.signals(QASample("y", question, CONTEXT, year, year + 4, nbest, 0.1))
    assert not ok.type_mismatch and ok.gold_rank == 0.0
    assert ok.gold_sentence_mass == pytest.approx(1.0)  # both spans are in sentence 0


def test_mutual_claims_by_hand() -> None:
    context = "Anna was born in Graz. She studied physics in Vienna."
    graz, vienna = context.index("Graz"), context.index("Vienna")
    q1 = ((vienna, vienna + 6, 3.0), (graz, graz + 4, 1.0))  # prefers Vienna
    q2 = ((graz, graz + 4, 2.0), (vienna, vienna + 6, 2.0))  # split evenly
    samples = [QASample("a", "Where was Anna born?", context, graz, graz + 4, q1, 5.0),
               QASample("b", "Where did Anna study?", context, vienna, vienna + 6, q2, 1.0)]
    p1, p2 = qa_signals.nbest_probabilities(q1), qa_signals.nbest_probabilities(q2)
    # a's n-best on b's gold (Vienna) = p1[0]; b's on a's gold (Graz) = p2[0]
    expected = min(p1[0], p2[0])
    claims = qa_signals.mutual_claims(samples)
    assert [c for c, _ in claims] == pytest.approx([expected, expected])
    assert [by for _, by in claims] == ["b", "a"]
    alone = [QASample("c", "Where?", "Elsewhere entirely.", 0, 9, ((0, 9, 1.0),), 0.1)]
    assert qa_signals.mutual_claims(samples + alone)[2] == (0.0, "")  # alone on its context
    sig = qa_signals.all_signals(samples)[0]
    assert sig.mutual_with == "b" and "question b's put" in qa_reason(sig,
                                                                                  "wrong span")


def pair(question: str, gold_text: str, context: str, loss: float = 14.0) -> list[QASample]:
    """A question whose gold is `gold_text`; the model's n best sit elsewhere; fixed loss."""
    start = context.index(gold_text)
    top = context.index("1989")
    return [QASample(gold_text, question, context, start, start + len(gold_text),
                     ((top, top + 4, 4.0), (0, 7, 1.0)), loss)]


def test_each_new_signal_moves_the_rank() -> None:
    """Same loss, same n best: a gold that ends on a function word, that sits in a less related
    sentence, that lacks the asked-for type, or that is short ranks above one that does not."""
    q = "In what year did Harvard buy land in Allston?"
    ctx = "Harvard bought land in Allston in 1989. Harvard students study law in Cambridge."

    def score(gold_text: str, question: str = q, context: str = ctx) -> float:
        return qa_label_issues(pair(question, gold_text, context))[0].score

    # ends on a function word ("law in") vs not ("study law"), same sentence, no year in either
    assert score("law in") > score("study law")
    # less related sentence: the same words, one in the question's sentence, one not
    ctx2 = "Harvard bought land in Allston in 1989 from Tom Bell. Rita Ossa sold cows twice."
    assert score("Rita Ossa", context=ctx2) > score("Tom Bell", context=ctx2)
    # asked for a year: a gold without one is more suspect than one with a digit
    ctx3 = "Harvard bought land in Allston in 1989 and 1990 or later."
    assert score("later", context=ctx3) > score("1990", context=ctx3)
    # a long gold is less suspect at the same loss (its loss is high even when right)
    ctx4 = "Harvard bought land in Allston in 1989 from Tom Bell and his brother Sam Bell."
    assert score("Tom Bell", context=ctx4) > score("Tom Bell and his brother Sam Bell",
                                                    context=ctx4)


def test_mutual_claim_moves_the_rank() -> None:
    """Two questions whose second-best spans sit on each other's gold (the model's best span is
    a third one, so `claimed` is 0 for both) rank above the same pair whose second-best spans
    sit elsewhere: only the mutual claim differs."""
    context = "Anna was born in Graz in 1901. She studied physics in Vienna. Her dog was Rex."
    graz, vienna, rex = (context.index(w) for w in ("Graz", "Vienna", "Rex"))
    dog = context.index("dog")

    def questions(second_a: tuple[int, int], second_b: tuple[int, int]) -> list[QASample]:
        a = ((rex, rex + 3, 3.0), (*second_a, 2.5))
        b = ((rex, rex + 3, 3.0), (*second_b, 2.5))
        return [QASample("a", "Where was Anna born?", context, vienna, vienna + 6, a, 14.0),
                QASample("b", "Where did Anna study?", context, graz, graz + 4, b, 14.0)]

    swapped = questions((graz, graz + 4), (vienna, vienna + 6))
    plain = questions((dog, dog + 3), (dog, dog + 3))
    assert [c for c, _ in qa_signals.claimed_scores(swapped)] == [0.0, 0.0]
    assert [c for c, _ in qa_signals.mutual_claims(plain)] == [0.0, 0.0]
    assert min(c for c, _ in qa_signals.mutual_claims(swapped)) > 0.3
    high = {i.id: i.score for i in qa_label_issues(swapped)}
    low = {i.id: i.score for i in qa_label_issues(plain)}
    assert high["a"] > low["a"] and high["b"] > low["b"]
