"""The validation section of a corpus report (and RUN/validation.html): the classifier
measured on the labelled sample, and naive beside corrected group shares. Values in, HTML out;
every text is escaped."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from textlens.report.templating import Table, render_page, table_of

INTRO = ("Validate before you publish: the figures below rest on sentences a person labelled "
         "(`textlens validate`). Shares are estimated shares of the corpus's sentences.")
METRIC_COLUMNS = ["classifier", "metric", "class", "value", "ci_low", "ci_high", "n", "note"]


@dataclass(frozen=True)
class ValidationView:
    """What the section shows, as values (templates/corpus_validation.html.j2)."""

    intro: str
    convenience: bool
    measures: dict[str, Any] | None
    correction: dict[str, Any] | None
    metrics: Table | None
    confusion: Table | None
    corrected: Table | None
    facet_png: str | None  # base64


def view(info: dict[str, Any], metrics: pd.DataFrame | None, confusion: pd.DataFrame | None,
         corrected: pd.DataFrame | None, by: list[str],
         facet_png: bytes | None) -> ValidationView | None:
    """The section's values (None when nothing was measured or corrected yet)."""
    measures, correction = info.get("measures"), info.get("correction")
    if not measures and not correction:
        return None

    def shown(frame: pd.DataFrame | None, columns: list[str] | None = None) -> Table | None:
        return table_of(frame, columns) if frame is not None and len(frame) else None

    return ValidationView(
        INTRO, any(b and b.get("n_convenience") for b in (measures, correction)), measures,
        correction, shown(metrics, METRIC_COLUMNS), shown(confusion),
        shown(corrected, [*by, "class", "method", "share", "ci_low", "ci_high", "n_sentences",
                          "too_few"]),
        base64.b64encode(facet_png).decode("ascii") if facet_png else None)


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
    """The section (escaped HTML) from the tables stored in an open run store."""
    v = stored_view(con)
    return render_page("corpus_validation.html.j2", v=v, page=False) if v else ""


def stored_view(con) -> ValidationView | None:
    """The section's values from an open run store."""
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    info = {k: json.loads(v) for k, v in con.execute(
        "SELECT key, value FROM run_info WHERE key IN ('measures', 'correction', 'group_by')"
    ).fetchall()}

    def read(name: str) -> pd.DataFrame | None:
        return con.execute(f'SELECT * FROM "{name}"').fetchdf() if name in tables else None

    by = list(info.get("group_by") or [])
    corrected = read("corrected_groups")
    return view(info, read("validation_metrics"), read("validation_confusion"), corrected, by,
                facet(corrected, by, info))


def write_page(run_dir: str | Path) -> Path:
    """RUN/validation.html: the section as a page of its own (written by `textlens validate`)."""
    from textlens.store.corpus_db import connect
    from textlens.store.files import atomic_write_text

    with connect(run_dir, read_only=True) as con:
        v = stored_view(con)
    page = render_page("corpus_validation.html.j2", v=v, page=True)
    return atomic_write_text(Path(run_dir) / "validation.html", page)
