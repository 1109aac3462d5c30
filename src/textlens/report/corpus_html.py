"""RUN/report.html for a corpus run (values in, page out): `templates/corpus.html.j2`,
autoescaped, so every corpus text, metadata value and word is escaped by the template. Images
are inline PNGs; the interactive chart needs plotly.min.js beside the page (`assets`), or
inline with `self_contained`.

It imports nothing of `corpus`: what it needs of the run (the strata, the domain verdict) comes
in as values.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from markupsafe import Markup

from textlens.report.assets import PLOTLY_TAG, write_page
from textlens.report.templating import Cell, Table, cell_text, render_page, table_of

SECTIONS_NOTE = ("Classify-and-count: every count and share inherits the classifier's errors "
                 "(Hopkins and King 2010). The 95% interval is a seeded bootstrap over sentences "
                 "(one speech in a group) or whole speeches (several); it covers sampling "
                 "variation only, not the model's error rates or its shift to this corpus.")
CLASSES_NOTE = ("Classify-and-count: every share inherits the classifier's errors. Multi-label "
                "models: a sentence counts for every label it has a probability >= 0.5 of. "
                "95% interval: a seeded bootstrap over the group's documents (several), or "
                "Wilson's interval over its sentences (one document); sampling variation only.")
GROUP_COLUMNS = ("n_documents", "n_sentences", "n_positive", "n_negative", "n_neutral",
                 "net_sentiment", "net_per_100", "ci_low", "ci_high", "share_positive",
                 "mean_confidence", "log_ratio")


@dataclass(frozen=True)
class Stratum:
    """A confidence stratum of the explanation sample, in the order the page shows them;
    `open`: its section starts unfolded."""

    name: str
    open: bool = True


@dataclass(frozen=True)
class DomainNote:
    """The domain check's verdict: `far` (a warning), `close` (checked, fits) or `unchecked`
    (the check could not run; the message says why)."""

    message: str
    kind: Literal["far", "close", "unchecked"]


@dataclass(frozen=True)
class CorpusReport:
    """Everything the page shows, as values."""

    title: str
    summary: Mapping[str, Any]
    group_by: tuple[str, ...]
    groups: pd.DataFrame
    facet_png: bytes
    facet_html: str  # a plotly fragment without plotly.js (`corpus_plots.facet_html`)
    explanations: pd.DataFrame  # explanations joined with sentence text and group columns
    strata: tuple[Stratum, ...]
    top_words: pd.DataFrame
    bad_files: pd.DataFrame
    domain: DomainNote | None  # None: no check (the training data is not known, or turned off)
    domain_png: bytes | None
    confidence_png: bytes
    class_shares: pd.DataFrame | None = None  # set when the classes carry no polarity
    validation_html: str = ""  # report.corpus_validation_html.stored_section (escaped there)


@dataclass(frozen=True)
class Word:
    text: str
    score: float
    colour: str
    gap: str = " "  # what followed the word as typed (runs before word gaps were stored: " ")


@dataclass(frozen=True)
class Sentence:
    group: str
    doc_id: str
    sentence_id: Any
    label: str
    confidence: float
    completeness_error: str  # formatted; MISSING when the method is not held to completeness
    words: tuple[Word, ...]


def b64(png: bytes | None) -> str | None:
    return base64.b64encode(png).decode("ascii") if png else None


def coloured_words(words: Sequence[str], scores: Sequence[float], toward_positive: int,
                   gaps: Sequence[str] | None = None) -> tuple[Word, ...]:
    """Words with a green (towards positive) / red (towards negative) background, each followed
    by what followed it as typed (`gaps`; a space when the run stored none)."""
    signed = [s * (toward_positive or 1) for s in scores]
    top = max((abs(s) for s in signed), default=0.0) or 1.0
    gaps = list(gaps) if gaps is not None and len(gaps) == len(signed) else [" "] * len(signed)
    out = []
    for word, score, gap in zip(words, signed, gaps, strict=True):
        alpha = min(1.0, abs(score) / top) * 0.75
        rgb = "21,128,61" if score >= 0 else "185,28,28"
        out.append(Word(str(word), float(score), f"rgba({rgb},{alpha:.2f})", str(gap)))
    return tuple(out)


def _sentences(report: CorpusReport) -> list[tuple[Stratum, list[Sentence]]]:
    frame = report.explanations
    sections = []
    for stratum in report.strata:
        members = frame[frame["stratum"] == stratum.name]
        sections.append((stratum, [
            Sentence(", ".join(f"{c}={row[c]}" for c in report.group_by if c in row),
                     str(row["doc_id"]), row["sentence_id"], str(row["label"]),
                     float(row["confidence"]),
                     cell_text(row["completeness_error"], lambda v: f"{v:.3f}"),
                     coloured_words(row["words"], row["word_scores"], row["toward_positive"],
                                    _gaps(row)))
            for _, row in members.iterrows()]))
    return sections


def _gaps(row: pd.Series) -> Sequence[str] | None:
    gaps = row.get("word_gaps")
    return None if gaps is None or (isinstance(gaps, float) and gaps != gaps) else list(gaps)


def _words(report: CorpusReport) -> Table | None:
    """A row per group: its top words towards positive and towards negative."""
    frame = report.top_words
    if frame.empty:
        return None
    rows = []
    for key, members in frame.groupby(list(report.group_by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        cells = []
        for direction in ("positive", "negative"):
            ranked = members[members["direction"] == direction].sort_values("rank")
            cells.append(", ".join(f"{w} ({a:+.2f}, {c}x)" for w, a, c in
                                   ranked[["word", "attribution", "count"]].itertuples(index=False)))
        name = "all" if all(str(k) == "*" for k in key) else " ".join(map(str, key))
        rows.append((Cell(name), Cell(cells[0]), Cell(cells[1])))
    return Table(("group", "towards positive (summed attribution, occurrences)",
                  "towards negative"), tuple(rows))


def render(report: CorpusReport) -> str:
    """The whole page as a string; it loads plotly.min.js from beside it (`write_report`)."""
    return render_page(
        "corpus.html.j2", r=report, note=SECTIONS_NOTE, plotly=PLOTLY_TAG,
        chart=Markup(report.facet_html), facet_png=b64(report.facet_png),
        domain_png=b64(report.domain_png), confidence_png=b64(report.confidence_png),
        sections=_sentences(report), words=_words(report),
        groups=table_of(report.groups, None if report.class_shares is not None
                        else [*report.group_by, *GROUP_COLUMNS], limit=500),
        classes_note=CLASSES_NOTE,
        class_shares=None if report.class_shares is None else table_of(report.class_shares),
        validation=Markup(report.validation_html),
        bad_files=table_of(report.bad_files, limit=500))


def write_report(path: Path, report: CorpusReport, self_contained: bool = False) -> Path:
    """Write the page atomically, plotly.min.js beside it (or inline: `self_contained`)."""
    return write_page(path, render(report), self_contained)
