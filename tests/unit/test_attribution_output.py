"""Explanation values, HTML/PNG/terminal output, input errors, the transformers-interpret shim."""

from __future__ import annotations

import json
import re
import warnings
from html import unescape

import pytest

from textlens.attribution import explain
from textlens.attribution.shim import QuestionAnsweringExplainer, SequenceClassificationExplainer
from textlens.errors import InputError

NASTY = 'ok <script>alert("x")</script> & fine'


def _visible(html: str) -> str:
    """The text a browser shows (tags dropped, entities decoded)."""
    return unescape(re.sub(r"<style>.*?</style>|<[^>]+>", "", html, flags=re.S))


def test_html_escapes_text_everywhere(tiny_classifier, tiny_qa) -> None:
    (exp,) = explain([NASTY], model=tiny_classifier, method="gxi", progress=False)
    for html in (exp.to_html(), exp.to_html(fragment=True)):
        assert "<script" not in html and "&lt;" in html
        assert NASTY in _visible(html)  # escaped, yet shown exactly as typed
    frag = exp.to_html(fragment=True)
    assert "<html" not in frag and frag.startswith("<div")
    assert exp.to_html().startswith("<!DOCTYPE html>")
    (qa,) = explain([("<b>who</b>?", NASTY)], model=tiny_qa, method="gxi", answers=[(3, 10)],
                    progress=False)
    html = qa.to_html(fragment=True)
    assert "<script" not in html and "<b>who" not in html
    assert NASTY in _visible(html) and "<b>who</b>?" in _visible(html)
    assert "tl-gold" in html and "tl-pred" in html


def test_to_dict_is_json_and_complete(tiny_classifier) -> None:
    (exp,) = explain(["a fine film"], model=tiny_classifier, progress=False)
    d = json.loads(exp.to_json())
    for key in ("tokens", "scores", "words", "word_scores", "label", "confidence", "method",
                "steps", "completeness_error", "char_scores", "target"):
        assert key in d
    assert len(d["char_scores"]) == len("a fine film")
    assert d["method"] == "ig" and d["steps"] >= 1


def test_png_and_terminal(tiny_classifier, tmp_path) -> None:
    from rich.console import Console

    from textlens.report.plots import bar_chart
    from textlens.report.terminal import render

    (exp,) = explain(["[bold]not[/bold] a good film"], model=tiny_classifier, method="gxi",
                     progress=False)
    path = bar_chart(exp, tmp_path / "bars.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    console = Console(record=True, width=120)
    for line in render(exp):
        console.print(line)
    assert "[bold]not[/bold]" in console.export_text()  # user text is not rich markup


def test_reports_show_lrps_evidence_where_ig_shows_completeness(tiny_classifier) -> None:
    """LRP's page and terminal line carry its conservation error and absorbed part, computed
    here from the scores; IG's keep the completeness error."""
    import re
    from html import unescape

    from rich.console import Console

    from textlens.report.attribution_html import render_collection
    from textlens.report.terminal import render

    (lrp,) = explain(["a dull film"], model=tiny_classifier, method="lrp", progress=False)
    (ig,) = explain(["a fine film"], model=tiny_classifier, method="ig", progress=False)
    absorbed = lrp.output - sum(lrp.scores)
    conservation = abs(absorbed) / abs(lrp.output)
    page = unescape(re.sub(r"<[^>]+>", " ", lrp.to_html()))
    assert f"{conservation:.2%}" in page and f"{absorbed:+.4f}" in page
    assert "absorbed by LRP's rules" in page
    assert not re.search(r"completeness error\s+n/a", page)  # the evidence row is LRP's own
    ig_page = unescape(re.sub(r"<[^>]+>", " ", ig.to_html()))
    assert f"{ig.completeness_error:.2%}" in ig_page and "absorbed by LRP" not in ig_page
    collection = unescape(re.sub(r"<[^>]+>", " ", render_collection([("a", lrp), ("b", ig)])))
    assert f"largest LRP conservation error {100 * conservation:.2f}%" in collection
    assert f"largest completeness error {100 * ig.completeness_error:.2f}%" in collection
    assert f"conservation {conservation:.2%} (absorbed {absorbed:+.4f})" in collection
    console = Console(record=True, width=200)
    for line in [*render(lrp), *render(ig)]:
        console.print(line)
    text = console.export_text()
    assert f"conservation error {conservation:.2%} (absorbed {absorbed:+.4f} of F(input))" in text
    assert f"completeness error {ig.completeness_error:.2%}" in text


def test_empty_and_over_long_text(tiny_classifier) -> None:
    with pytest.raises(InputError, match="empty"):
        explain(["   "], model=tiny_classifier, progress=False)
    long_text = "word " * 600
    with pytest.raises(InputError, match="limit"):
        explain([long_text], model=tiny_classifier, method="gxi", progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (exp,) = explain([long_text], model=tiny_classifier, method="gxi", truncate=True,
                         progress=False)
    assert any("truncated" in str(w.message) for w in caught)
    assert exp.truncated and len(exp.tokens) == tiny_classifier.max_length
    assert exp.char_scores[-1] == 0.0  # cut-off text gets no score


def test_shim_has_transformers_interpret_shapes(tiny_classifier, tiny_qa) -> None:
    explainer = SequenceClassificationExplainer(tiny_classifier.model, tiny_classifier.tokenizer)
    pairs = explainer("a fine film", n_steps=8)
    assert pairs[0][0] == "[CLS]" and pairs[-1][0] == "[SEP]"
    assert sum(s * s for _, s in pairs) == pytest.approx(1.0)
    assert explainer.predicted_class_name in ("negative", "positive")
    assert explainer.word_attributions == pairs
    qa = QuestionAnsweringExplainer(tiny_qa.model, tiny_qa.tokenizer)
    out = qa("who went?", "Bob went home.", n_steps=8)
    assert set(out) == {"start", "end"} and len(out["start"]) == len(out["end"])
    assert qa.predicted_answer in "Bob went home."
