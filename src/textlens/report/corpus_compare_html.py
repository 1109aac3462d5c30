"""The comparison of two corpus runs as one offline page (every value escaped)."""

from __future__ import annotations

from typing import Any

from textlens.report.corpus_html import STYLE, esc, table


def _interval(block: dict[str, float], signed: bool = False) -> str:
    sign = "+" if signed else ""
    return (f"{block['value']:{sign}.3f} (95% interval {block['ci_low']:{sign}.3f} to "
            f"{block['ci_high']:{sign}.3f})")


def render(comparison: Any) -> str:
    """`comparison`: a `corpus.compare.RunComparison` (read through `to_dict()` values)."""
    d = comparison.to_dict()
    acc = d["accuracy"]
    if acc:
        accuracy = (f"<p>On the same {acc['n']} labelled sentences (design-weighted; paired "
                    f"bootstrap, {acc['n_boot']} resamples within strata): A "
                    f"{esc(_interval(acc['accuracy_a']))}, B {esc(_interval(acc['accuracy_b']))};"
                    f" <b>change B - A {esc(_interval(acc['change'], True))}</b>. B right where "
                    f"A was wrong: {acc['b_only_right']}; A right where B was wrong: "
                    f"{acc['a_only_right']}.</p><p class='muted'>{esc(d['accuracy_source'])}."
                    f" The interval covers {esc(acc['covers'])}.</p>")
    else:
        accuracy = f"<p class='warn'>{esc(d['accuracy_source'])}</p>"
    shares = comparison.shares.copy()
    for side in ("a", "b"):
        shares[f"share_{side}"] = shares[f"share_{side}"].map(
            lambda v: "" if v != v else f"{100 * v:.1f}%")
    notes = "".join(f"<p class='warn'>{esc(n)}</p>" for n in d["notes"])
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>textlens: "
            f"{esc(comparison.run_a.name)} vs {esc(comparison.run_b.name)}</title><style>{STYLE}"
            f"</style></head><body><h1>{esc(comparison.run_a.name)} (A) vs "
            f"{esc(comparison.run_b.name)} (B)</h1>{notes}<h2>Accuracy</h2>{accuracy}"
            f"<h2>Sentences whose label flipped</h2><p>{d['n_flipped']} of {d['n_sentences']} "
            f"sentences.</p>{table(comparison.flips)}<h3>Examples</h3>"
            f"{table(comparison.examples)}<h2>Shares per group: naive and corrected</h2>"
            f"<p class='muted'>A: {esc(d['shares_message_a'])}</p><p class='muted'>B: "
            f"{esc(d['shares_message_b'])}</p>{table(shares, limit=2000)}</body></html>")
