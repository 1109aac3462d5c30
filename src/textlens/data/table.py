"""Generic tables (CSV, TSV, JSONL, Parquet): one text column, an optional label, the rest metadata."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textlens.data.types import BadRow, Dataset, TextExample
from textlens.errors import DataError

SUFFIXES = {".csv", ".tsv", ".jsonl", ".json", ".parquet", ".pq"}


def read_frame(path: Path) -> Any:
    """Read a table with pandas; non-UTF-8 and unknown formats get errors that say what to do."""
    import pandas as pd

    if not path.exists():
        raise DataError(f"Table '{path}' does not exist.", "check the path, or the --data-dir.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, encoding="utf-8", keep_default_na=False, na_values=[""])
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t", encoding="utf-8", quoting=3, keep_default_na=False,
                               na_values=[""])
        if suffix in {".jsonl", ".json"}:
            return pd.read_json(path, lines=suffix == ".jsonl", encoding="utf-8")
        if suffix in {".parquet", ".pq"}:
            return pd.read_parquet(path)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"'{path}' is not valid UTF-8 (byte {exc.start}: {exc.reason}).",
            "re-encode it, e.g. iconv -f latin1 -t utf-8 IN > OUT.",
        ) from exc
    raise DataError(
        f"Unknown table format '{suffix}' for '{path}'.",
        f"use one of {', '.join(sorted(SUFFIXES))}.",
    )


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def require_columns(columns: Sequence[str], wanted: dict[str, str | None], path: Path) -> None:
    for option, column in wanted.items():
        if column is not None and column not in columns:
            raise DataError(
                f"Column '{column}' (given as {option}) is not in '{path}'. "
                f"Columns present: {', '.join(map(str, columns))}.",
                f"pass {option} with one of those names.",
            )


def load_table(
    path: str | Path,
    text_col: str = "text",
    label_col: str | None = "label",
    *,
    name: str | None = None,
    split: str = "all",
    id_col: str | None = None,
    label_names: Sequence[str] | None = None,
) -> Dataset[TextExample]:
    """Load a table; string labels become indices into sorted `label_names`."""
    path = Path(path)
    frame = read_frame(path)
    columns = [str(c) for c in frame.columns]
    require_columns(columns, {"--text-col": text_col, "--label-col": label_col, "--id-col": id_col},
                    path)
    records = frame.to_dict("records")
    names = _label_names(records, label_col, label_names)
    index = {label: i for i, label in enumerate(names)} if names else {}
    examples: list[TextExample] = []
    bad: list[BadRow] = []
    meta_cols = [c for c in columns if c not in {text_col, label_col, id_col}]
    for row_number, record in enumerate(records, start=1):
        where = f"{path.name}:{row_number}"
        text = record[text_col]
        if _is_missing(text) or not str(text).strip():
            bad.append(BadRow(where, f"empty {text_col}"))
            continue
        label: int | None = None
        if label_col is not None:
            raw = record[label_col]
            if _is_missing(raw) or str(raw).strip() == "":
                bad.append(BadRow(where, f"missing {label_col}"))
                continue
            label = _label_index(raw, index)
            if label is None:
                bad.append(BadRow(where, f"unknown label {raw!r}"))
                continue
        example_id = str(record[id_col]) if id_col else f"{split}-{row_number - 1}"
        metadata = {c: record[c] for c in meta_cols if not _is_missing(record[c])}
        examples.append(TextExample(example_id, str(text), label, metadata))
    return Dataset(name or path.stem, split, tuple(examples), path,
                   tuple(names) if names else None, tuple(bad))


def _label_names(records: list[dict], label_col: str | None,
                 given: Sequence[str] | None) -> list[str] | None:
    if label_col is None:
        return None
    if given is not None:
        return list(given)
    values = {r[label_col] for r in records if not _is_missing(r[label_col]) and r[label_col] != ""}
    if all(_is_int_like(v) for v in values):
        top = max((int(v) for v in values), default=-1)
        return [str(i) for i in range(top + 1)]
    return sorted(str(v) for v in values)


def _is_int_like(value: Any) -> bool:
    try:
        return float(value) == int(float(value))
    except (TypeError, ValueError):
        return False


def _label_index(raw: Any, index: dict[str, int]) -> int | None:
    """Map a raw label to its index: by name, else an integer taken as the position."""
    if _is_int_like(raw):
        key = str(int(float(raw)))
        if key in index:
            return index[key]
        return int(key) if 0 <= int(key) < len(index) else None
    return index.get(str(raw))
