"""Open the runs a server was started with: check them, then hold their small tables in memory.

An analysis run's `samples` table (100k rows: ~1 s to read) is loaded once at start, so a
sample's detail is a dictionary lookup and a selection summary a numpy gather; the point
coordinates and every colourable column are encoded once as typed arrays for the browser.
Columns are read defensively: a table may gain columns (`label_issues.kind`) or lack optional
ones, and only `samples.id` (and `x`, `y` for the map) are required.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from textlens.errors import DataError
from textlens.serve.store import RunStore

DB_NAME = "textlens.duckdb"
TEXT_COLUMNS = ("text", "question", "context", "answers", "answer_starts", "neighbours", "label")
# `label` is hidden where it is QA's answer text, a colour where it is a class name
HIDDEN_COLUMNS = ("id", "x", "y", "pred_start", "pred_end", *(c for c in TEXT_COLUMNS if c != "label"))
# Runs written before `label` held the class name (`label` an index, `label_name` the name)
LEGACY_NAMES = {"label": "label_index", "label_name": "label"}
MAX_CATEGORIES = 256  # a string column with more values is text, not a colour
CORPUS_TABLES = ("documents", "sentences", "groups", "explanations", "bad_files")
NULL_CODE = 0xFFFF
STORED_ONLY = ("neighbours",)  # left in the store, read per sample: 100+ MB of JSON at 1M


class Positions:
    """Sample id -> row position, on a pandas Index (its hash table is built on the first
    lookup, ~0.4 s at 1M ids; a Python dict of them took 7 s and ~100 MB)."""

    def __init__(self, ids: pd.Series) -> None:
        self.index = pd.Index(ids, copy=False)

    def get(self, sample_id: str) -> int | None:
        try:
            found = self.index.get_loc(sample_id)
        except (KeyError, TypeError, pd.errors.InvalidIndexError):
            return None
        return found if isinstance(found, int) else None

    def __contains__(self, sample_id: object) -> bool:
        return isinstance(sample_id, str) and self.get(sample_id) is not None

    def __getitem__(self, sample_id: str) -> int:
        found = self.get(sample_id)
        if found is None:
            raise KeyError(sample_id)
        return found

    def __len__(self) -> int:
        return len(self.index)

    def many(self, ids: Sequence[str]) -> np.ndarray:
        """Positions of many ids at once (-1 for an unknown id)."""
        return self.index.get_indexer(pd.Index(list(ids), dtype=self.index.dtype))


@dataclass(frozen=True)
class Column:
    """A colourable/sizeable column: numeric (float32 values) or categorical (uint16 codes)."""

    name: str
    kind: str  # "numeric" or "categorical"
    categories: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "categories": list(self.categories),
                "min": self.low, "max": self.high}


@dataclass
class Run:
    """One run, opened. Its frames are never mutated after `open_run`; the caches below are
    filled lazily (built once, under the app's locks) and are the only state kept."""

    name: str
    path: Path
    kind: str  # "analysis" or "corpus"
    store: RunStore
    info: dict[str, Any]
    tables: tuple[str, ...]
    samples: pd.DataFrame = field(default_factory=pd.DataFrame)
    positions: Positions = field(default_factory=lambda: Positions(pd.Series([], dtype=str)))
    columns: dict[str, Column] = field(default_factory=dict)
    label_names: tuple[str, ...] = ()
    small: dict[str, pd.DataFrame] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)
    stored: tuple[str, ...] = ()  # sample columns read from the store when asked
    issue_rows: np.ndarray | None = None  # position -> its row in `label_issues` (-1: none)

    @property
    def task(self) -> str:
        return str(self.info.get("task") or ("qa" if "question" in self.samples else
                                             "classification"))

    def encoded(self, name: str) -> bytes:
        """A column as little-endian typed-array bytes: float32, or uint16 category codes."""
        key = f"column:{name}"
        if key not in self.cache:
            self.cache[key] = encode_column(self.samples[name], self.columns[name])
        return self.cache[key]

    def neighbours(self, position: int) -> list[int]:
        """Positions of a sample's stored nearest neighbours, nearest first: from the table
        `build_neighbours` makes in the warm-up, else read from the store by row id (one
        connection: ~20-90 ms under load)."""
        table = self.cache.get("neighbours")
        if table is not None:
            row = table[position]
            return row[row >= 0].tolist()
        if "neighbours" not in self.stored:
            return []
        frame = self.store.read('SELECT neighbours FROM samples WHERE rowid = ?', [int(position)])
        raw = frame["neighbours"].iloc[0] if len(frame) else None
        ids = json.loads(raw) if isinstance(raw, str) else []
        found = self.positions.many([str(i) for i in ids]) if ids else np.array([], dtype=int)
        return found[found >= 0].tolist()

    def build_neighbours(self) -> None:
        """Every sample's neighbour lists as an int32 position matrix (-1 = none), joined in
        DuckDB: 40 MB at 1M samples x 10 neighbours, against 100+ MB of JSON text."""
        import duckdb

        if "neighbours" not in self.stored or "neighbours" in self.cache:
            return
        try:
            frame = self._neighbour_pairs()
        except duckdb.Error:  # e.g. over its memory limit: each sample view reads its own row
            return
        width = int(frame["k"].max()) + 1 if len(frame) else 0
        table = np.full((len(self.samples), width), -1, dtype=np.int32)
        table[frame["pos"].to_numpy(), frame["k"].to_numpy()] = frame["other"].to_numpy()
        self.cache["neighbours"] = table

    def _neighbour_pairs(self) -> pd.DataFrame:
        return self.store.read_frame(
            "SET threads = 1; SET memory_limit = '256MB'; "  # a background job: keep it small
            "WITH lists AS (SELECT rowid AS pos, from_json(neighbours, '[\"VARCHAR\"]') AS ids "
            "FROM samples), flat AS (SELECT pos, unnest(ids) AS nid, unnest(range(len(ids))) AS k "
            "FROM lists) SELECT CAST(f.pos AS INTEGER) AS pos, CAST(f.k AS SMALLINT) AS k, "
            "CAST(s.rowid AS INTEGER) AS other FROM flat f "
            "JOIN samples s ON CAST(s.id AS VARCHAR) = f.nid")

    def points(self) -> bytes:
        """x then y as float32: what the map needs first (800 kB for 100k points)."""
        if "points" not in self.cache:
            xy = self.samples[["x", "y"]].to_numpy(dtype="<f4")
            self.cache["points"] = np.ascontiguousarray(xy.T).tobytes()
        return self.cache["points"]


def run_folders(paths: Sequence[str | Path]) -> list[Path]:
    """The runs named: a run folder (or its .duckdb) as given; a folder that is not a run but
    holds runs (`runs/`) stands for the runs directly inside it, in name order."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        inside = sorted(p for p in path.iterdir() if (p / DB_NAME).is_file()) \
            if path.is_dir() and not (path / DB_NAME).is_file() else []
        out.extend(inside or [path])
    return out


def open_runs(paths: Sequence[str | Path]) -> dict[str, Run]:
    """Open every run (`run_folders`) or fail before serving anything, naming the run and the fix."""
    runs: dict[str, Run] = {}
    for raw in run_folders(paths):
        run = open_run(Path(raw))
        name, n = run.name, 2
        while name in runs:  # two runs/foo folders: foo, foo-2
            name, n = f"{run.name}-{n}", n + 1
        run.name = name
        runs[name] = run
    return runs


def open_run(path: Path) -> Run:
    path = path.expanduser().resolve()
    db = path / DB_NAME if path.is_dir() else path
    if not db.is_file():
        raise DataError(f"No textlens run at '{path}': {DB_NAME} is missing.",
                        "pass a folder written by `textlens analyze --out RUN` or "
                        "`textlens corpus --out RUN`, or a folder of such runs.")
    store = RunStore(db)
    try:
        tables = tuple(store.tables())
    except Exception as exc:  # duckdb raises several kinds for a damaged file
        raise DataError(f"The run database {db} cannot be read ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0]}).",
                        "rerun the command that wrote it (`textlens analyze`/`textlens corpus`) "
                        "into a fresh folder.") from None
    name = (path if path.is_dir() else path.parent).name
    info = _info(store) if "run_info" in tables else {}
    if "samples" in tables:
        return _analysis_run(name, path, store, info, tables)
    if "sentences" in tables:
        small = {t: store.read(f'SELECT * FROM "{t}"') for t in ("groups", "bad_files", "documents")
                 if t in tables}
        return Run(name, path, "corpus", store, info, tables, small=small)
    raise DataError(f"{db} holds neither a `samples` table (analysis run) nor a `sentences` table "
                    f"(corpus run); it has: {', '.join(tables) or 'no tables'}.",
                    "pass a run folder written by `textlens analyze` or `textlens corpus`.")


def _info(store: RunStore) -> dict[str, Any]:
    frame = store.read("SELECT key, value FROM run_info")
    out = {}
    for key, value in zip(frame["key"], frame["value"], strict=True):
        try:
            out[str(key)] = json.loads(value)
        except (TypeError, ValueError):
            out[str(key)] = value
    return out


def _analysis_run(name: str, path: Path, store: RunStore, info: dict[str, Any],
                  tables: tuple[str, ...]) -> Run:
    """Read `samples` in one DuckDB -> Arrow -> pandas pass (strings stay in Arrow), the
    neighbour lists left in the store (read per sample by row id). At 1M samples this took
    42 s and 1.3 GB under load before (every column through `fetchdf`, a Python dict of ids,
    the issue columns joined by pandas map)."""
    columns = store.columns("samples")
    if "id" not in columns:
        raise DataError(f"The `samples` table of {store.db} has no `id` column.",
                        "rerun `textlens analyze` to rewrite the run.")
    renamed = LEGACY_NAMES if "label_name" in columns else {}
    picked = ", ".join('CAST("id" AS VARCHAR) AS "id"' if c == "id"
                       else f'"{c}" AS "{renamed.get(c, c)}"'
                       for c in columns if c not in STORED_ONLY)
    samples = store.read_frame(f"SELECT {picked} FROM samples")  # insertion (row id) order
    duplicated = store.read('SELECT CAST("id" AS VARCHAR) AS id FROM samples GROUP BY 1 '
                            "HAVING count(*) > 1 LIMIT 1")
    if len(duplicated):
        dup = duplicated["id"].iloc[0]
        raise DataError(f"The run {path} has duplicate sample ids (e.g. '{dup}').",
                        "give every sample a unique id and rerun `textlens analyze`.")
    for axis in ("x", "y"):
        if axis not in samples:
            samples[axis] = 0.0
    small = {t: store.read_frame(f'SELECT * FROM "{t}"') for t in ("clusters", "label_issues",
                                                                   "slices") if t in tables}
    issue_rows = _issue_rows(store, tables, len(samples))
    _add_issue_columns(samples, small.get("label_issues"), issue_rows)
    return Run(name, path, "analysis", store, info, tables, samples=samples,
               positions=Positions(samples["id"]),
               columns=describe_columns(samples), label_names=_label_names(samples, info),
               small=small, stored=tuple(c for c in STORED_ONLY if c in columns),
               issue_rows=issue_rows)


def _issue_rows(store: RunStore, tables: tuple[str, ...], n: int) -> np.ndarray | None:
    """For each sample position, the row of its first `label_issues` entry (-1: none), joined
    in DuckDB on the ids: 1 s at 1M under load (pandas map by id: 16 s; a window keeping the
    first row of an id in SQL: 2.5 s; a hashed index of the issue ids: +120 MB)."""
    if "label_issues" not in tables or "id" not in store.columns("label_issues"):
        return None
    types = store.read("SELECT table_name, data_type FROM information_schema.columns WHERE "
                       "column_name = 'id' AND table_name IN ('samples', 'label_issues')")
    same = types["data_type"].nunique() == 1  # a cast on both sides doubles the join's time
    key = "s.id = i.id" if same else "CAST(s.id AS VARCHAR) = CAST(i.id AS VARCHAR)"
    found = store.read_frame(f"SELECT s.rowid AS _pos, i.rowid AS _row FROM samples s "
                             f"JOIN label_issues i ON {key}")
    pos, row = found["_pos"].to_numpy(), found["_row"].to_numpy()
    order = np.lexsort((-row, pos))  # within a position, the first row written last wins
    rows = np.full(n, -1, dtype=np.int64)
    rows[pos[order]] = row[order]
    return rows


def _add_issue_columns(samples: pd.DataFrame, issues: pd.DataFrame | None,
                       rows: np.ndarray | None) -> None:
    """`issue_score` (and `issue_kind`, `issue_flagged` when present) from each sample's
    `label_issues` row, set in memory so the map can be coloured by them (the store is not
    changed)."""
    if issues is None or rows is None or "score" not in issues:
        return
    has = rows >= 0
    for src, dst in (("score", "issue_score"), ("kind", "issue_kind"),
                     ("flagged", "issue_flagged")):
        if src in issues and dst not in samples:
            taken = issues[src].take(np.where(has, rows, 0)).where(has)
            samples[dst] = taken.set_axis(samples.index)


def _label_names(samples: pd.DataFrame, info: dict[str, Any]) -> tuple[str, ...]:
    """Class names in class-index order, from `label_index`/`label` pairs (or `p_i` columns)."""
    if "question" in samples:
        return ()
    if {"label_index", "label"} <= set(samples):
        pairs = samples[["label_index", "label"]].dropna().drop_duplicates()
        try:
            named = {int(k): str(v) for k, v in zip(pairs["label_index"], pairs["label"],
                                                    strict=True)}
        except (TypeError, ValueError):
            named = {}
        n = max([*named, *(int(c[2:]) for c in samples if _is_prob(c))], default=-1) + 1
        return tuple(named.get(i, str(i)) for i in range(n))
    return tuple(str(int(c[2:])) for c in sorted((c for c in samples if _is_prob(c)),
                                                  key=lambda c: int(c[2:])))


def _is_prob(column: str) -> bool:
    return column.startswith("p_") and column[2:].isdigit()


def describe_columns(samples: pd.DataFrame) -> dict[str, Column]:
    """Every column the map can colour or size by, with its kind and range or categories."""
    out: dict[str, Column] = {}
    for name in samples.columns:
        if name in HIDDEN_COLUMNS or (name == "label" and "question" in samples):
            continue
        series = samples[name]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if numeric:
            values = pd.to_numeric(series, errors="coerce").astype(float)
            finite = values[np.isfinite(values)]
            if name in ("cluster", "predicted_label", "correct") or (
                    pd.api.types.is_integer_dtype(series) and series.nunique() <= 32):
                out[name] = Column(name, "categorical", _categories(series))
            else:
                out[name] = Column(name, "numeric", (), float(finite.min()) if len(finite) else None,
                                   float(finite.max()) if len(finite) else None)
        else:
            cats = _categories(series)
            if 0 < len(cats) <= MAX_CATEGORIES:
                out[name] = Column(name, "categorical", cats)
    return out


def _categories(series: pd.Series) -> tuple[str, ...]:
    """Distinct values as strings; numbers in numeric order (cluster 2 before cluster 10)."""
    uniques = pd.unique(series.dropna())
    if len(uniques) > MAX_CATEGORIES * 4:
        return tuple(str(v) for v in uniques[:MAX_CATEGORIES + 1])
    try:
        ordered = sorted(uniques)
    except TypeError:
        ordered = sorted(uniques, key=str)
    return tuple(dict.fromkeys(c for c in (category_of(v) for v in ordered) if c is not None))


def encode_column(series: pd.Series, column: Column) -> bytes:
    if column.kind == "numeric":
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="<f4", na_value=np.nan)
        return values.tobytes()
    lookup = {c: i for i, c in enumerate(column.categories)}
    codes, uniques = pd.factorize(series, use_na_sentinel=True)  # one lookup per distinct value
    table = np.array([lookup.get(category_of(u), NULL_CODE) for u in uniques] + [NULL_CODE],
                     dtype="<u2")
    return table[codes].tobytes()  # code -1 (missing) takes the table's last entry


def category_of(value: Any) -> str | None:
    """A value as the category name the map and `members` use (1.0 -> "1", True -> "true")."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
