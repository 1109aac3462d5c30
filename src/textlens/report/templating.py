"""Pages from the Jinja2 templates in `report/templates/`, autoescaped: every value a template
prints is HTML-escaped unless it is our own markup wrapped in `Markup` (a plotly figure, an
explanation fragment rendered by these same templates). Escaping is the default, not a habit.

One table helper and one rule for missing values on every page: None, NaN and pd.NA are shown
as `MISSING` ("n/a", as the attribution pages and the terminal already said); floats without a
column format as three significant digits; numbers are right-aligned (`class="num"`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import jinja2
    import pandas as pd

MISSING = "n/a"
Format = Callable[[Any], str]


def is_missing(value: Any) -> bool:
    """None, NaN (float or numpy) and pandas' NA; never raises on lists or strings."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def cell_text(value: Any, fmt: Format | None = None) -> str:
    """The one way a value becomes cell text: missing -> MISSING, else `fmt` or the default."""
    if is_missing(value):
        return MISSING
    if fmt is not None:
        return fmt(value)
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value)


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False  # right-aligned
    href: str | None = None  # a link (an anchor on the same page)


@dataclass(frozen=True)
class Table:
    """A table as values; `more` rows were left out (they are in the run's database)."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    more: int = 0


def table_of(frame: pd.DataFrame | None, columns: Mapping[str, str] | Sequence[str] | None = None,
             limit: int = 50, formats: Mapping[str, Format] | None = None) -> Table | None:
    """The first `limit` rows of `frame`; `columns` maps column -> header (a sequence: the
    names are the headers; None: every column); columns the frame lacks are skipped. None when
    there is nothing to show (the template says "none")."""
    if frame is None or frame.empty:
        return None
    names = dict(columns) if isinstance(columns, Mapping) else \
        {c: c for c in (columns if columns is not None else frame.columns)}
    cols = [c for c in names if c in frame]
    formats = formats or {}
    rows = tuple(
        tuple(Cell(cell_text(row[c], formats.get(c)),
                   isinstance(row[c], int | float | np.number) and not isinstance(row[c], bool))
              for c in cols)
        for _, row in frame.head(limit).iterrows())
    return Table(tuple(str(names[c]) for c in cols), rows, max(0, len(frame) - limit))


def number(digits: int = 2) -> Format:
    return lambda v: f"{float(v):.{digits}f}"


def percent(v: Any) -> str:
    return f"{100 * float(v):.0f}%"


def p_value(v: Any) -> str:
    return "1" if v >= 0.995 else f"{float(v):.2g}"


@cache
def environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("textlens.report", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["cell"] = cell_text
    return env


def render_page(template: str, **context: Any) -> str:
    """Render `templates/<template>` with `context` (escaped unless `Markup`)."""
    return environment().get_template(template).render(**context)
