"""The comparison of two corpus runs as one offline page (templates/corpus_compare.html.j2:
autoescaped, so every corpus text is shown as text)."""

from __future__ import annotations

from typing import Any

from textlens.report.templating import percent, render_page, table_of


def _interval(block: dict[str, float], signed: bool = False) -> str:
    sign = "+" if signed else ""
    return (f"{block['value']:{sign}.3f} (95% interval {block['ci_low']:{sign}.3f} to "
            f"{block['ci_high']:{sign}.3f})")


def render(comparison: Any) -> str:
    """`comparison`: a `corpus.compare.RunComparison`."""
    d = comparison.to_dict()
    acc = d["accuracy"]
    accuracy = None if not acc else (
        f"On the same {acc['n']} labelled sentences (design-weighted; paired bootstrap, "
        f"{acc['n_boot']} resamples within strata): A {_interval(acc['accuracy_a'])}, B "
        f"{_interval(acc['accuracy_b'])}; change B - A {_interval(acc['change'], True)}. B right "
        f"where A was wrong: {acc['b_only_right']}; A right where B was wrong: "
        f"{acc['a_only_right']}. The interval covers {acc['covers']}.")
    shares = [*comparison.by, "class", "method", "share_a", "ci_low_a", "ci_high_a", "share_b",
              "ci_low_b", "ci_high_b", "too_few_a", "too_few_b"]
    pct = {c: percent for c in shares if c.startswith(("share", "ci_"))}
    return render_page(
        "corpus_compare.html.j2", a=comparison.run_a.name, b=comparison.run_b.name,
        notes=d["notes"], accuracy=accuracy, source=d["accuracy_source"],
        flipped=d["n_flipped"], sentences=d["n_sentences"], flips=table_of(comparison.flips),
        examples=table_of(comparison.examples), message_a=d["shares_message_a"],
        message_b=d["shares_message_b"],
        shares=table_of(comparison.shares, shares, limit=2000, formats=pct))
