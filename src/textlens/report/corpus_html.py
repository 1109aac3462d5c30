"""RUN/report.html for a corpus run: one self-contained, offline page (values in, page out).

Every corpus text, metadata value and word goes through `html.escape`; images are inline PNGs
and plotly.js is bundled inline by `corpus_plots.facet_html`.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from textlens.corpus.sampling import STRATA

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;
padding:0 1em}table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}td,th{border:1px
solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}
.warn{border-left:5px solid #b91c1c;background:#fef2f2;padding:.6em 1em}.ok{border-left:5px solid
#15803d;background:#f0fdf4;padding:.6em 1em}.muted{color:#666}.row{display:flex;gap:1em;
flex-wrap:wrap}img{max-width:100%}.sent{margin:.3em 0 .9em;line-height:1.9}.w{padding:1px 2px;
border-radius:3px}details{margin:.5em 0}.num{text-align:right}"""

SECTIONS_NOTE = ("Classify-and-count: every count and share inherits the classifier's errors "
                 "(Hopkins and King 2010). The 95% interval is a seeded bootstrap over sentences "
                 "(one speech in a group) or whole speeches (several); it covers sampling "
                 "variation only, not the model's error rates or its shift to this corpus.")


@dataclass(frozen=True)
class CorpusReport:
    """Everything the page shows, as values."""

    title: str
    summary: Mapping[str, Any]
    group_by: tuple[str, ...]
    groups: pd.DataFrame
    facet_png: bytes
    facet_html: str
    explanations: pd.DataFrame  # explanations joined with sentence text and group columns
    top_words: pd.DataFrame
    bad_files: pd.DataFrame
    domain_message: str | None
    domain_far: bool
    domain_png: bytes | None
    confidence_png: bytes
    class_shares: pd.DataFrame | None = None  # set when the classes carry no polarity
    validation_html: str = ""  # report.corpus_validation_html.stored_section


def esc(value: Any) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:.3g}"
    return html.escape("" if value is None else str(value))


def table(frame: pd.DataFrame, columns: Sequence[str] | None = None, limit: int = 500) -> str:
    if frame is None or frame.empty:
        return "<p class='muted'>none</p>"
    cols = [c for c in (columns or list(frame.columns)) if c in frame]
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{esc(row[c])}</td>" for c in cols) + "</tr>"
                   for _, row in frame.head(limit).iterrows())
    more = f"<p class='muted'>{len(frame) - limit} more rows in the run's database.</p>" \
        if len(frame) > limit else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def image(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{esc(alt)}' src='data:image/png;base64,{data}'>"


def coloured_words(words: Sequence[str], scores: Sequence[float], toward_positive: int) -> str:
    """Words on a green (towards positive) / red (towards negative) background, escaped."""
    signed = [s * (toward_positive or 1) for s in scores]
    top = max((abs(s) for s in signed), default=0.0) or 1.0
    spans = []
    for word, score in zip(words, signed, strict=True):
        alpha = min(1.0, abs(score) / top) * 0.75
        rgb = "21,128,61" if score >= 0 else "185,28,28"
        spans.append(f"<span class='w' style='background:rgba({rgb},{alpha:.2f})' "
                     f"title='{score:+.3f}'>{esc(word)}</span>")
    return " ".join(spans)


def _explanations(report: CorpusReport) -> str:
    frame = report.explanations
    if frame.empty:
        return "<p class='muted'>No explanations were sampled (--explain 0).</p>"
    parts = ["<p>Integrated gradients on the probability of the predicted class, words coloured "
             "by their push towards <b style='color:#15803d'>positive</b> or "
             "<b style='color:#b91c1c'>negative</b>; hover a word for its score. The sample is "
             "seeded and stratified by confidence, not chosen by hand.</p>"]
    for stratum in STRATA:
        members = frame[frame["stratum"] == stratum]
        items = []
        for _, row in members.iterrows():
            group = ", ".join(f"{c}={row[c]}" for c in report.group_by if c in row)
            error = row["completeness_error"]
            items.append(
                f"<div class='sent'><span class='muted'>{esc(group)} · {esc(row['doc_id'])} "
                f"#{esc(row['sentence_id'])} · predicted {esc(row['label'])} "
                f"({row['confidence']:.2f}) · completeness error "
                f"{'n/a' if error is None or error != error else f'{error:.3f}'}</span><br>"
                f"{coloured_words(row['words'], row['word_scores'], row['toward_positive'])}</div>")
        parts.append(f"<details {'open' if stratum != 'near_threshold' else ''}><summary><b>"
                     f"{esc(stratum.replace('_', ' '))}</b> ({len(members)} sentences)</summary>"
                     + ("".join(items) or "<p class='muted'>none in this stratum</p>")
                     + "</details>")
    return "".join(parts)


def _words(report: CorpusReport) -> str:
    frame = report.top_words
    if frame.empty:
        return "<p class='muted'>none</p>"
    by = list(report.group_by)
    rows = []
    for key, members in frame.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        cells = []
        for direction in ("positive", "negative"):
            ranked = members[members["direction"] == direction].sort_values("rank")
            cells.append(", ".join(f"{esc(w)} ({a:+.2f}, {c}x)" for w, a, c in
                                   ranked[["word", "attribution", "count"]].itertuples(index=False)))
        name = "all" if all(str(k) == "*" for k in key) else " ".join(map(str, key))
        rows.append(f"<tr><td>{esc(name)}</td><td>{cells[0]}</td>"
                    f"<td>{cells[1]}</td></tr>")
    return ("<table><tr><th>group</th><th>towards positive (summed attribution, "
            "occurrences)</th><th>towards negative</th></tr>" + "".join(rows) + "</table>")


def _headline(report: CorpusReport) -> str:
    """Net sentiment per group, or (classes without polarity) every class's share per group."""
    if report.class_shares is None:
        return ("<h2>Net sentiment per group</h2>"
                f"<p class='muted'>{esc(SECTIONS_NOTE)}</p>"
                f"{image(report.facet_png, 'net sentiment per group')}"
                f"<details><summary>Interactive chart</summary>{report.facet_html}</details>")
    return ("<h2>Share of each class per group</h2>"
            f"<p class='muted'>{esc(CLASSES_NOTE)}</p>"
            f"{image(report.facet_png, 'share of each class per group')}"
            f"{table(report.class_shares)}")


CLASSES_NOTE = ("Classify-and-count: every share inherits the classifier's errors. Multi-label "
                "models: a sentence counts for every label it has a probability >= 0.5 of. "
                "95% interval: a seeded bootstrap over the group's documents (several), or "
                "Wilson's interval over its sentences (one document); sampling variation only.")


def render(report: CorpusReport) -> str:
    """The whole page as a string."""
    summary = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
                      for k, v in report.summary.items())
    domain = ""
    if report.domain_message:
        checked = not report.domain_message.startswith("No domain check")
        cls = "warn" if report.domain_far else "ok" if checked else "muted"
        domain = f"<p class='{cls}'>{esc(report.domain_message)}</p>"
    else:
        domain = ("<p class='muted'>No domain check: the model's training data is not known "
                  "(no training.json naming it) or the check was turned off.</p>")
    columns = [*report.group_by, "n_documents", "n_sentences", "n_positive", "n_negative",
               "n_neutral", "net_sentiment", "net_per_100", "ci_low", "ci_high",
               "share_positive", "mean_confidence", "log_ratio"]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(report.title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{esc(report.title)}</h1><table>{summary}</table>"
        f"{_headline(report)}{report.validation_html}"
        "<h2>Does the model fit this corpus?</h2>"
        f"{domain}<div class='row'>{image(report.domain_png, 'domain map')}"
        f"{image(report.confidence_png, 'confidence histogram')}</div>"
        "<h2>Sampled explanations</h2>"
        f"{_explanations(report)}"
        "<h2>Words that push towards positive and negative (sampled explanations)</h2>"
        f"{_words(report)}"
        "<h2>Aggregates</h2>"
        f"{table(report.groups, columns if report.class_shares is None else None)}"
        "<h2>Files not used</h2>"
        f"{table(report.bad_files)}"
        "</body></html>\n")
