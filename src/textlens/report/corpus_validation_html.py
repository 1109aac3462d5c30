"""The validation section of a corpus report (and RUN/validation.html): the classifier
measured on the labelled sample, and naive beside corrected group shares. Values in, HTML out;
every text is escaped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from textlens.report.corpus_html import STYLE, esc, image, table

INTRO = ("Validate before you publish: the figures below rest on sentences a person labelled "
         "(`textlens validate`). Shares are estimated shares of the corpus's sentences.")


def section(info: dict[str, Any], metrics: pd.DataFrame | None, confusion: pd.DataFrame | None,
            corrected: pd.DataFrame | None, by: list[str], facet_png: bytes | None) -> str:
    """The HTML fragment (empty when nothing was measured or corrected yet)."""
    measures, correction = info.get("measures"), info.get("correction")
    if not measures and not correction:
        return ""
    parts = ["<h2>Validation: the classifier on this corpus</h2>",
             f"<p class='muted'>{esc(INTRO)}</p>"]
    for block in (measures, correction):
        if block and block.get("n_convenience"):
            parts.append("<p class='warn'>Some labels are outside the drawn sample: the "
                         "estimates rest on a non-probability (convenience) sample.</p>")
            break
    if measures:
        parts.append(f"<p>{esc(measures.get('message'))}</p>")
        if measures.get("too_few"):
            parts.append(f"<p class='warn'>Too few labels to measure: "
                         f"{esc(measures['too_few'])}.</p>")
        if metrics is not None and len(metrics):
            parts.append(table(metrics, ["classifier", "metric", "class", "value", "ci_low",
                                         "ci_high", "n", "note"]))
        if confusion is not None and len(confusion):
            parts.append("<h3>Confusion (estimated share of the corpus's sentences)</h3>")
            parts.append(table(confusion))
    if correction:
        parts.append("<h2>Corrected shares per group</h2>")
        parts.append(f"<p>{esc(correction.get('message'))}</p>")
        if correction.get("too_few"):
            parts.append(f"<p class='warn'>No correction: {esc(correction['too_few'])}.</p>")
        parts.append(image(facet_png, "naive and corrected shares per group"))
        if corrected is not None and len(corrected):
            parts.append(table(corrected, [*by, "class", "method", "share", "ci_low",
                                           "ci_high", "n_sentences", "too_few"]))
    return "".join(parts)


def facet(corrected: pd.DataFrame | None, by: list[str], info: dict[str, Any]) -> bytes | None:
    """Naive beside corrected shares of one class (the positive, or the first) per group."""
    from textlens.report.corpus_plots import class_facet_png

    if corrected is None or corrected.empty:
        return None
    classes = list(dict.fromkeys(corrected.loc[corrected["method"] != "naive", "class"]))
    if not classes:
        return None
    chosen = next((c for c in classes if str(c).lower().startswith("pos")), classes[-1])
    part = corrected[(corrected["class"] == chosen) & corrected["share"].notna()]
    return class_facet_png(part, by, title=f"share '{chosen}': naive beside corrected "
                           "(95% intervals)", bars="method")


def stored_section(con) -> str:
    """The section from the tables stored in an open run store."""
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    info = {k: json.loads(v) for k, v in con.execute(
        "SELECT key, value FROM run_info WHERE key IN ('measures', 'correction', 'group_by')"
    ).fetchall()}

    def read(name: str) -> pd.DataFrame | None:
        return con.execute(f'SELECT * FROM "{name}"').fetchdf() if name in tables else None

    by = list(info.get("group_by") or [])
    corrected = read("corrected_groups")
    return section(info, read("validation_metrics"), read("validation_confusion"), corrected,
                   by, facet(corrected, by, info))


def write_page(run_dir: str | Path) -> Path:
    """RUN/validation.html: the section as a page of its own (written by `textlens validate`)."""
    from textlens.store.corpus_db import connect
    from textlens.store.files import atomic_write_text

    with connect(run_dir, read_only=True) as con:
        body = stored_section(con)
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Validation</title><style>{STYLE}</style></head><body>"
            f"{body or '<p>Nothing measured yet.</p>'}</body></html>\n")
    return atomic_write_text(Path(run_dir) / "validation.html", page)
