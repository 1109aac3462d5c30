"""Explained sentences read as typed: words joined by what followed them in the sentence, not
by the spaces a tokeniser puts around punctuation (#21: "anti - scientific", "Korea ’ s")."""

from __future__ import annotations

import dataclasses
import re

from textlens.corpus.sampling import word_gaps
from textlens.report.corpus_html import render

SENTENCE = "North Korea’s anti-scientific claims (again) fail, don't they?"


def test_words_and_gaps_rebuild_the_sentence_exactly(tiny_classifier):
    from textlens import explain

    [exp] = explain([SENTENCE], model=tiny_classifier, method="gxi", progress=False)
    gaps = word_gaps(exp.text, exp.word_spans)
    assert len(gaps) == len(exp.words) and len(exp.words) > len(SENTENCE.split())
    assert "".join(w + g for w, g in zip(exp.words, gaps, strict=True)) == SENTENCE


def test_report_joins_words_by_their_gaps_and_old_runs_by_spaces():
    from .test_corpus_report import evil_report

    base = evil_report()
    words = ["anti", "-", "scientific", "."]
    shown = base.explanations.assign(words=[words], word_scores=[[0.1, 0.0, -0.2, 0.0]])

    def sentence(page: str) -> str:
        spans = re.findall(r'<span class="w"[^>]*>([^<]*)</span>([^<]*)', page)
        return "".join(text + gap for text, gap in spans)

    stored = dataclasses.replace(base, explanations=shown.assign(word_gaps=[["", "", "", ""]]))
    assert "anti-scientific." in sentence(render(stored))
    assert "anti - scientific ." in sentence(render(dataclasses.replace(base, explanations=shown)))
