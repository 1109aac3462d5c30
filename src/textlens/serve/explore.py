"""Selections by shape, search over texts and metadata, and levels of detail: all computed on
every point of the run, server-side, with numpy / pyarrow over columns held once.

A selection is a boolean mask over the run's positions. The browser sends the shape (a lasso
polygon or a box in data coordinates), never the positions, so a point hidden at low zoom by
the level of detail is still selected, and the count is exact at every zoom. Masks are kept
(bit-packed, 125 kB at 1M points) under a short id, so export, saved slices and members can
follow up on a selection without the browser posting it back.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from textlens.errors import InputError, NotFoundError
from textlens.serve.runs import Run

KEPT_SELECTIONS = 64  # per run; 64 x 125 kB at 1M points
LOD_BASE = 16  # level 0 is a 16 x 16 grid over the data bounds; level K has 16 * 2**K per axis
LOD_CAP = 4  # points drawn per grid cell at a level
LOD_LEVELS = 10  # level 10: 16384 cells per axis; points still not drawn get level 11
MAX_QUERY = 1000
_LOCK = threading.Lock()


def xy(run: Run) -> tuple[np.ndarray, np.ndarray]:
    """x and y as float64 arrays, built once per run (16 MB at 1M points)."""
    if "xy" not in run.cache:
        run.cache["xy"] = (run.samples["x"].to_numpy(dtype=np.float64, na_value=np.nan),
                           run.samples["y"].to_numpy(dtype=np.float64, na_value=np.nan))
    return run.cache["xy"]


def in_box(run: Run, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y = xy(run)
    x0, x1 = sorted(box[0::2])
    y0, y1 = sorted(box[1::2])
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def in_polygon(run: Run, polygon: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd point in polygon (matplotlib's C++ path test) on the points inside the
    polygon's bounding box only: ~0.1 s for a lasso over most of a 1M run."""
    from matplotlib.path import Path

    if len(polygon) < 3:
        raise InputError("A polygon needs at least 3 vertices.", "send [[x, y], ...] with 3 or more.")
    vertices = np.asarray(polygon, dtype=np.float64)
    (x0, y0), (x1, y1) = vertices.min(axis=0), vertices.max(axis=0)
    mask = in_box(run, (x0, y0, x1, y1))
    candidates = np.flatnonzero(mask)
    x, y = xy(run)
    inside = Path(vertices).contains_points(np.column_stack([x[candidates], y[candidates]]))
    mask[candidates] = inside
    return mask


def text_array(run: Run, column: str) -> Any:
    """A column as a pyarrow string array (zero-copy for the string columns pandas 3 holds in
    Arrow), built once per run and column."""
    import pyarrow as pa

    key = f"arrow:{column}"
    if key not in run.cache:
        series = run.samples[column]
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array(series.astype(str), from_pandas=True)
        if not pa.types.is_string(array.type) and not pa.types.is_large_string(array.type):
            array = array.cast(pa.string())
        run.cache[key] = array
    return run.cache[key]


def searchable(run: Run) -> list[str]:
    """Columns the search box can look in: the texts first, then metadata (not the model's
    outputs or neighbour lists)."""
    from textlens.serve.runs import TEXT_COLUMNS

    texts = [c for c in ("text", "question", "context", "answers") if c in run.samples]
    meta = [c for c in run.samples.columns if c not in TEXT_COLUMNS and c not in ("x", "y")
            and not (c.startswith("p_") and c[2:].isdigit())]
    return texts + meta


def search(run: Run, query: str, regex: bool = False, column: str | None = None,
           case: bool = False) -> np.ndarray:
    """Mask of the samples whose `column` contains `query` (a substring, or an RE2 regular
    expression when `regex`); case-insensitive unless `case`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not query:
        raise InputError("The search is empty.", "type a word or a regular expression.")
    if len(query) > MAX_QUERY:
        raise InputError(f"The search is longer than {MAX_QUERY} characters.", "shorten it.")
    options = searchable(run)
    column = column or (options[0] if options else None)
    if column not in options:
        raise NotFoundError(f"No searchable column {str(column)[:100]!r}.",
                            f"use one of: {', '.join(options)}.")
    array = text_array(run, column)
    try:
        if regex:
            hits = pc.match_substring_regex(array, query, ignore_case=not case)
        else:
            hits = pc.match_substring(array, query, ignore_case=not case)
    except pa.ArrowInvalid as exc:
        raise InputError(f"The regular expression does not compile: {str(exc)[:300]}",
                         "fix the pattern (RE2 syntax), or search for the plain text with "
                         "regex=0.") from None
    return hits.to_numpy(zero_copy_only=False).astype(bool, copy=False) & ~np.asarray(
        array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def levels_of_detail(run: Run) -> np.ndarray:
    """uint8 per point: the coarsest level at which it is drawn (nested: a point drawn at level
    K is drawn at every finer level). Level K grids the data bounds into 16 * 2**K cells per
    axis and keeps the LOD_CAP points of each cell with the lowest seeded random priority, so
    dense regions thin out at low zoom and sparse points always show. Built once (~1-2 s at 1M)."""
    with _LOCK:
        if "lod" in run.cache:
            return run.cache["lod"]
        x, y = xy(run)
        n = len(x)
        lod = np.full(n, LOD_LEVELS + 1, dtype=np.uint8)
        finite = np.isfinite(x) & np.isfinite(y)
        order = np.random.default_rng(0).permutation(np.flatnonzero(finite))  # priority order
        if len(order):
            xs, ys = x[order], y[order]
            x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
            sx, sy = max(x1 - x0, 1e-12), max(y1 - y0, 1e-12)
            undecided = np.ones(len(order), dtype=bool)
            for level in range(LOD_LEVELS + 1):
                cells = LOD_BASE << level
                cx = np.minimum(((xs - x0) / sx * cells).astype(np.int64), cells - 1)
                cy = np.minimum(((ys - y0) / sy * cells).astype(np.int64), cells - 1)
                cell = cx * cells + cy
                by_cell = np.argsort(cell, kind="stable")  # stable: priority order within a cell
                sorted_cells = cell[by_cell]
                starts = np.r_[0, np.flatnonzero(np.diff(sorted_cells)) + 1]
                rank = np.arange(len(by_cell)) - np.repeat(starts, np.diff(np.r_[starts, len(by_cell)]))
                keep = np.zeros(len(order), dtype=bool)
                keep[by_cell[rank < LOD_CAP]] = True
                newly = keep & undecided
                lod[order[newly]] = level
                undecided &= ~keep
                if not undecided.any():
                    break
        run.cache["lod"] = lod
        return lod


def remember(run: Run, mask: np.ndarray) -> str:
    """Keep a selection under a fresh id (the oldest are forgotten past KEPT_SELECTIONS)."""
    with _LOCK:
        kept: OrderedDict[str, tuple[np.ndarray, int]] = run.cache.setdefault(
            "selections", OrderedDict())
        key = secrets.token_hex(8)
        kept[key] = (np.packbits(mask, bitorder="little"), len(mask))
        while len(kept) > KEPT_SELECTIONS:
            kept.popitem(last=False)
        return key


def recall(run: Run, key: str) -> np.ndarray:
    """The positions of a kept selection, ascending."""
    kept = run.cache.get("selections", {})
    if key not in kept:
        raise NotFoundError(f"No selection {key[:40]!r} (selections are kept for the latest "
                            f"{KEPT_SELECTIONS} per run, until the server restarts).",
                            "select again (POST /api/runs/RUN/select).")
    bits, n = kept[key]
    return np.flatnonzero(np.unpackbits(bits, count=n, bitorder="little"))


def bitmap(run: Run, key: str) -> bytes:
    """A kept selection as a bitmap: bit i (byte i >> 3, bit i & 7, least significant first)."""
    recall(run, key)
    return run.cache["selections"][key][0].tobytes()
