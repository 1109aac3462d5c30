"""The corpus report is escaped and offline (plotly.js beside it, or inline); the plots handle
any group-by."""

from __future__ import annotations

import re

import pandas as pd

from textlens.corpus.aggregate import aggregate_groups
from textlens.report import corpus_plots
from textlens.report.assets import plotly_bundle
from textlens.report.corpus_html import CorpusReport, DomainNote, Stratum, render, write_report

EVIL = "<img src=x onerror=alert(1)>"


def groups_frame(by=("country", "year")):
    documents = pd.DataFrame({"doc_id": ["a", "b", "c"], "country": ["PRK", "GBR", EVIL],
                              "year": [2016, 2016, 2017]})
    sentences = pd.DataFrame({"doc_id": ["a", "a", "b", "c"], "sign": [1, -1, -1, 1],
                              "confidence": [0.9, 0.8, 0.7, 0.6]})
    return aggregate_groups(documents, sentences, list(by), n_boot=20)


STRATA = (Stratum("clear_positive"), Stratum("clear_negative"),
          Stratum("near_threshold", open=False))
FAR = DomainNote(EVIL, "far")


def evil_report(domain: DomainNote | None = FAR) -> CorpusReport:
    groups = groups_frame()
    explanations = pd.DataFrame({
        "doc_id": [EVIL], "sentence_id": [0], "stratum": ["near_threshold"],
        "completeness_error": [0.001], "words": [[EVIL, "peace"]], "word_scores": [[0.2, -0.1]],
        "toward_positive": [1], "label": ["positive"], "confidence": [0.55], "country": [EVIL],
        "year": [2017]})
    words = pd.DataFrame({"country": [EVIL], "year": [2017], "direction": ["positive"],
                          "rank": [1], "word": [EVIL], "attribution": [0.2], "count": [1]})
    return CorpusReport(
        title=EVIL, summary={"corpus": EVIL}, group_by=("country", "year"), groups=groups,
        facet_png=corpus_plots.facet_png(groups, ["country", "year"]),
        facet_html=corpus_plots.facet_html(groups, ["country", "year"]),
        explanations=explanations, strata=STRATA, top_words=words,
        bad_files=pd.DataFrame({"path": [EVIL], "reason": ["empty"]}), domain=domain,
        domain_png=None,
        confidence_png=corpus_plots.confidence_png(groups.mean_confidence.to_numpy()))


def test_report_escapes_every_corpus_value_and_uses_no_cdn(tmp_path):
    page = render(evil_report())
    assert EVIL not in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 6
    # plotly.js is loaded once, from beside the page, never from the network
    assert re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", page) == ["plotly.min.js"]
    path = write_report(tmp_path / "run" / "report.html", evil_report())
    assert (tmp_path / "run" / "plotly.min.js").read_text(encoding="utf-8") == plotly_bundle()
    assert path.stat().st_size < 200_000
    single = write_report(tmp_path / "one" / "report.html", evil_report(), self_contained=True)
    assert not (tmp_path / "one" / "plotly.min.js").exists()
    text = single.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]*\bsrc=", text) is None and plotly_bundle()[-2000:] in text


def test_domain_box_follows_the_verdict_kind_not_the_message():
    for kind, css in (("far", "warn"), ("close", "ok"), ("unchecked", "muted")):
        page = render(evil_report(DomainNote("No domain check: same words", kind)))
        assert f'<p class="{css}">No domain check: same words</p>' in page
    assert "the check was turned off" in render(evil_report(None))


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
