"""The report layer is pure (values in, pages out) and imports nothing of attribution; every
explanation shows F(input), F(baseline) and their difference; one legend per page; a summary
at the top of multi-text pages."""

from __future__ import annotations

import ast
import re
from html import unescape
from pathlib import Path

import pytest

import textlens
from textlens.attribution import explain

SRC = Path(textlens.__file__).parent


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module imported, at module level?) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
    return found


@pytest.mark.parametrize("name", ["attribution_html.py", "terminal.py", "plots.py"])
def test_attribution_report_imports_nothing_of_attribution(name):
    assert not [m for m, _ in _imports(SRC / "report" / name) if m.startswith("textlens.attribution")]


def test_attribution_imports_no_report_at_module_level():
    for path in (SRC / "attribution").glob("*.py"):
        assert not [m for m, top in _imports(path) if top and m.startswith("textlens.report")], path


def _visible(html: str) -> str:
    return unescape(re.sub(r"<style>.*?</style>|<[^>]+>", " ", html, flags=re.S))


@pytest.mark.parametrize("method", ["ig", "gxi", "saliency", "occlusion"])
def test_every_explanation_has_input_and_baseline_outputs(tiny_classifier, method):
    import torch

    (exp,) = explain(["a gripping, funny film"], model=tiny_classifier, method=method,
                     progress=False)
    assert exp.output is not None and exp.baseline_output is not None
    enc = tiny_classifier.tokenizer("a gripping, funny film", return_tensors="pt")
    ids = enc["input_ids"][0].tolist()
    pad = tiny_classifier.tokenizer.pad_token_id
    special = set(tiny_classifier.tokenizer.all_special_ids)
    baseline = torch.tensor([[i if i in special else pad for i in ids]])
    with torch.inference_mode():
        p_in = torch.softmax(tiny_classifier.model(**enc).logits, -1)[0, exp.target_index]
        p_base = torch.softmax(tiny_classifier.model(
            input_ids=baseline, attention_mask=torch.ones_like(baseline)).logits,
            -1)[0, exp.target_index]
    assert exp.output == pytest.approx(float(p_in), abs=1e-5)
    assert exp.baseline_output == pytest.approx(float(p_base), abs=1e-5)
    assert exp.output_difference == pytest.approx(exp.output - exp.baseline_output)
    page = _visible(exp.to_html())
    for shown in (f"{exp.output:.4f}", f"{exp.baseline_output:.4f}",
                  f"{exp.output_difference:+.4f}", "F(baseline)"):
        assert shown in page
    assert exp.to_dict()["output_difference"] == pytest.approx(exp.output_difference)
    # Only IG is held to completeness: the page says so instead of implying the sum matches.
    if method == "ig":
        assert f"{exp.completeness_error:.2%}" in page
    else:
        assert exp.completeness_error is None
        assert "not held to F(input) - F(baseline)" in page


def test_one_legend_per_page_and_terminal_shows_outputs(tiny_classifier, tiny_qa):
    from rich.console import Console

    from textlens.report.terminal import render

    (multi,) = explain(["a fine film"], model=tiny_classifier, target="top-2", method="gxi",
                       progress=False)
    (qa,) = explain([("who?", "Bob went home.")], model=tiny_qa, method="gxi", progress=False)
    for html in (multi.to_html(), qa.to_html()):
        assert html.count('class="tl-legend"') == 1
        assert _visible(html).count("F(baseline)") >= 2  # once per part
    console = Console(record=True, width=200)
    for line in render(multi) + render(qa):
        console.print(line)
    text = console.export_text()
    assert text.count("F(baseline)") == 4 and "difference" in text


def test_collection_page_has_a_summary_first(tiny_classifier, tiny_qa):
    from textlens.report.attribution_html import render_collection

    texts = ["a fine film", "<b>dull</b> & long"]
    exps = explain(texts, model=tiny_classifier, method="gxi", progress=False)
    (qa,) = explain([("who?", "Bob went home.")], model=tiny_qa, method="gxi", progress=False)
    html = render_collection([("r1", exps[0]), ("r<2>", exps[1]), ("q", qa)], "my texts")
    assert html.count('class="tl-legend"') == 1 and "<b>dull" not in html
    summary = html[:html.index('class="tl-item"')]
    assert "3 texts" in _visible(summary) and "r&lt;2&gt;" in summary
    for exp in exps:
        assert f"{exp.baseline_output:.4f}" in summary
    assert summary.count("<tr>") == 1 + 2 + 2  # header, two texts, the QA start and end
