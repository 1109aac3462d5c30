"""The corpus report is escaped and self-contained; the plots handle any group-by."""

from __future__ import annotations

import re

import pandas as pd

from textlens.corpus.aggregate import aggregate_groups
from textlens.report import corpus_plots
from textlens.report.corpus_html import CorpusReport, render

EVIL = "<img src=x onerror=alert(1)>"


def groups_frame(by=("country", "year")):
    documents = pd.DataFrame({"doc_id": ["a", "b", "c"], "country": ["PRK", "GBR", EVIL],
                              "year": [2016, 2016, 2017]})
    sentences = pd.DataFrame({"doc_id": ["a", "a", "b", "c"], "sign": [1, -1, -1, 1],
                              "confidence": [0.9, 0.8, 0.7, 0.6]})
    return aggregate_groups(documents, sentences, list(by), n_boot=20)


def test_report_escapes_every_corpus_value_and_uses_no_cdn():
    groups = groups_frame()
    explanations = pd.DataFrame({
        "doc_id": [EVIL], "sentence_id": [0], "stratum": ["near_threshold"],
        "completeness_error": [0.001], "words": [[EVIL, "peace"]], "word_scores": [[0.2, -0.1]],
        "toward_positive": [1], "label": ["positive"], "confidence": [0.55], "country": [EVIL],
        "year": [2017]})
    words = pd.DataFrame({"country": [EVIL], "year": [2017], "direction": ["positive"],
                          "rank": [1], "word": [EVIL], "attribution": [0.2], "count": [1]})
    page = render(CorpusReport(
        EVIL, {"corpus": EVIL}, ("country", "year"), groups,
        corpus_plots.facet_png(groups, ["country", "year"]),
        corpus_plots.facet_html(groups, ["country", "year"]), explanations, words,
        pd.DataFrame({"path": [EVIL], "reason": ["empty"]}), EVIL, True, None,
        corpus_plots.confidence_png(groups.mean_confidence.to_numpy())))
    assert EVIL not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 6
    assert re.search(r"<script[^>]*\bsrc=", page) is None and "Plotly" in page  # JS inline


def test_country_names_come_from_pycountry_and_other_values_pass_through():
    assert corpus_plots.country_name("DEU") == "Germany"
    assert corpus_plots.country_name("PRK") in ("North Korea",
                                                "Korea, Democratic People's Republic of")
    assert corpus_plots.country_name("EU") == "EU" or corpus_plots.country_name("EU")
    assert corpus_plots.country_name(2016) == "2016"


def test_facet_chart_works_for_one_two_or_three_group_columns():
    for by in (("year",), ("country", "year")):
        png = corpus_plots.facet_png(groups_frame(by), list(by))
        assert png.startswith(b"\x89PNG")
    frame = corpus_plots.facet_frame(groups_frame(("country", "year")), ["country", "year"],
                                     "net_per_100")
    assert set(frame.facet) == {"North Korea", "United Kingdom", EVIL} or "Germany" not in set(
        frame.facet)
    assert list(frame.value) == list(groups_frame().net_per_100)


def test_interactive_chart_takes_every_country_of_the_corpus():
    rows = [{"country": f"C{i:03d}", "year": 2016 + k, "n_sentences": 10, "net_per_100": i - 100.0,
             "ci_low": 0.0, "ci_high": 1.0} for i in range(197) for k in range(2)]
    page = corpus_plots.facet_html(pd.DataFrame(rows), ["country", "year"])
    assert "C196" in page
