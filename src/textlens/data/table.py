"""Generic tables (CSV, TSV, JSONL, Parquet): one text column, an optional label, the rest metadata."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from textlens.data.types import BadRow, Dataset, TextExample
from textlens.errors import DataError

SUFFIXES = {".csv", ".tsv", ".jsonl", ".json", ".parquet", ".pq"}
# Rows per chunk when streaming a table: a 2 GB CSV is never held whole as a pandas frame, only
# one chunk at a time (plus the examples kept).
CHUNK_ROWS = 50_000


def table_columns(path: Path) -> list[str]:
    """The column names of a table (its header), checked: an empty file, no header and
    duplicated names are refused with a message (pandas would fail, or rename to `x.1`)."""
    _check_exists(path)
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        columns = list(pq.read_schema(path).names)
    elif suffix in {".csv", ".tsv"}:
        columns = _csv_header(path, suffix)
    elif suffix == ".jsonl":
        first = next(_jsonl_lines(path), None)
        if first is None:
            raise _empty(path)
        columns = list(_json_object(first[1], path, first[0], duplicates_fatal=True))
    elif suffix == ".json":
        columns = [str(c) for c in _read_json(path).columns]
    else:
        raise _unknown_format(path)
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise DataError(f"'{path}' has duplicated column names: {', '.join(duplicated)}.",
                        "rename the columns so that each name occurs once.")
    return columns


def read_chunks(path: Path, chunk_rows: int = CHUNK_ROWS,
                text_columns: Sequence[str] = ()) -> Iterator[Any]:
    """The table as pandas frames of at most `chunk_rows` rows, read lazily. UTF-8 with or
    without a BOM, LF or CRLF; blank lines are rows (with empty text, reported), not skipped;
    `text_columns` stay strings (a text "007" is not the number 7)."""
    import pandas as pd

    columns = table_columns(path)
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".tsv"}:
            options: dict[str, Any] = {"sep": "\t", "quoting": 3} if suffix == ".tsv" else {}
            with path.open(encoding="utf-8-sig", newline="") as handle:
                yield from pd.read_csv(handle, keep_default_na=False, na_values=[""],
                                       skip_blank_lines=False, chunksize=chunk_rows,
                                       dtype={c: str for c in text_columns}, **options)
        elif suffix == ".jsonl":  # indexed by file line, so that rejected rows name it
            batch: list[dict[str, Any]] = []
            lines: list[int] = []
            for line_number, line in _jsonl_lines(path):
                batch.append(_json_object(line, path, line_number))
                lines.append(line_number)
                if len(batch) == chunk_rows:
                    yield pd.DataFrame.from_records(batch, columns=columns, index=lines)
                    batch, lines = [], []
            if batch:
                yield pd.DataFrame.from_records(batch, columns=columns, index=lines)
        elif suffix == ".json":
            yield _read_json(path)
        else:
            import pyarrow.parquet as pq

            for record_batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield record_batch.to_pandas()
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise DataError(f"Table '{path}' does not exist.", "check the path, or the --data-dir.")
    if path.suffix.lower() not in SUFFIXES:
        raise _unknown_format(path)
    if path.stat().st_size == 0:
        raise _empty(path)


def _csv_header(path: Path, suffix: str) -> list[str]:
    import csv

    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            if suffix == ".tsv":
                line = handle.readline().rstrip("\r\n")
                header = line.split("\t") if line.strip() else []
            else:
                header = next(csv.reader(handle), [])
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    if not any(h.strip() for h in header):
        raise _empty(path)
    return [h.strip() for h in header]


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc


def _json_object(line: str, path: Path, number: int,
                 duplicates_fatal: bool = False) -> dict[str, Any]:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated and duplicates_fatal:
            raise DataError(f"'{path}' has duplicated column names: {', '.join(repeated)} "
                            f"(line {number}).", "give each key of a line a distinct name.")
        return dict(items)

    try:
        value = json.loads(line, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise DataError(f"Line {number} of '{path}' is not valid JSON ({exc.msg}).",
                        "write one JSON object per line (JSON Lines).") from exc
    if not isinstance(value, dict):
        raise DataError(f"Line {number} of '{path}' is not a JSON object.",
                        "write one JSON object per line (JSON Lines).")
    return value


def _read_json(path: Path) -> Any:
    import pandas as pd

    try:
        return pd.read_json(path, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    except ValueError as exc:
        raise DataError(f"'{path}' is not a JSON table ({exc}).",
                        "use a list of objects, JSON Lines (.jsonl) or a SQuAD JSON.") from exc


def _empty(path: Path) -> DataError:
    return DataError(f"'{path}' is empty: no header row, no data.",
                     "write a header row (e.g. text,label) and one row per example.")


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> DataError:
    return DataError(f"'{path}' is not valid UTF-8 (byte {exc.start}: {exc.reason}).",
                     "re-encode it, e.g. iconv -f latin1 -t utf-8 IN > OUT.")


def _unknown_format(path: Path) -> DataError:
    return DataError(f"Unknown table format '{path.suffix.lower()}' for '{path}'.",
                     f"use one of {', '.join(sorted(SUFFIXES))}.")


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
    chunk_rows: int = CHUNK_ROWS,
) -> Dataset[TextExample]:
    """Load a table, streamed in chunks of `chunk_rows`; string labels become indices into
    sorted `label_names`. A header with no rows is refused; rows without text are kept as
    `BadRow`s with their reason."""
    path = Path(path)
    kept: list[tuple[TextExample, Any, str]] = []
    bad: list[BadRow] = []
    for item in iter_table(path, text_col, label_col, id_col=id_col, split=split,
                           chunk_rows=chunk_rows):
        (bad.append(item) if isinstance(item, BadRow) else kept.append(item))
    if not kept and not bad:
        raise DataError(f"'{path}' has a header but no rows.", "add one row per example.")
    raw_labels = [raw for _, raw, _ in kept if raw is not None]
    names = _label_names(raw_labels, label_col, label_names)
    index = {label: i for i, label in enumerate(names)} if names else {}
    examples: list[TextExample] = []
    for example, raw, where in kept:
        if label_col is None:
            examples.append(example)
            continue
        label = _label_index(raw, index)
        if label is None:
            bad.append(BadRow(where, f"unknown label {raw!r}", example.id))
            continue
        examples.append(replace(example, label=label))
    bad.sort(key=lambda b: _row_of(b.where))
    return Dataset(name or path.stem, split, tuple(examples), path,
                   tuple(names) if names else None, tuple(bad))


def iter_table(path: str | Path, text_col: str = "text", label_col: str | None = None, *,
               id_col: str | None = None, split: str = "all", chunk_rows: int = CHUNK_ROWS,
               ) -> Iterator[tuple[TextExample, Any, str] | BadRow]:
    """Stream a table row by row: (example, raw label, where) for good rows, `BadRow` for the
    others.
    Memory stays at one chunk however large the file (the label is raw: `load_table` maps it)."""
    path = Path(path)
    columns = table_columns(path)
    if text_col not in columns:
        guess = text_like_column(path, columns)
        if guess is not None:
            raise DataError(f"Column '{text_col}' (given as --text-col) is not in '{path}'. "
                            f"Columns present: {', '.join(map(str, columns))}.",
                            f"pass --text-col {guess} (its values look like text).")
    require_columns(columns, {"--text-col": text_col, "--label-col": label_col, "--id-col": id_col},
                    path)
    meta_cols = [c for c in columns if c not in {text_col, label_col, id_col}]
    row_number = 0
    suffix = path.suffix.lower()
    for frame in read_chunks(path, chunk_rows, [c for c in (text_col, id_col) if c]):
        for index, record in zip(frame.index, frame.to_dict("records"), strict=True):
            row_number += 1
            where = row_location(path, suffix, row_number, index)
            example_id: str | None = f"{split}-{row_number - 1}"
            if id_col:  # kept on rejected rows too, so that an output line names its row
                example_id = None if _is_missing(record[id_col]) else str(record[id_col])
            text = record[text_col]
            if _is_missing(text) or not str(text).strip():
                yield BadRow(where, f"empty {text_col}", example_id)
                continue
            raw = record[label_col] if label_col is not None else None
            if label_col is not None and (_is_missing(raw) or str(raw).strip() == ""):
                yield BadRow(where, f"missing {label_col}", example_id)
                continue
            if example_id is None:
                yield BadRow(where, f"missing {id_col}")
                continue
            metadata = {c: record[c] for c in meta_cols if not _is_missing(record[c])}
            yield TextExample(example_id, str(text), None, metadata), raw, where


def text_like_column(path: Path, columns: Sequence[str], rows: int = 200) -> str | None:
    """The column whose first `rows` values read most like text (most words per value, at
    least 3 on average), to suggest when the text column is not where it was looked for."""
    first = next(read_chunks(path, rows, columns), None)
    if first is None:
        return None
    words = {c: first[c].dropna().astype(str).str.split().str.len().mean() for c in first}
    words = {c: w for c, w in words.items() if w == w and w >= 3}
    return max(words, key=lambda c: words[c]) if words else None


def row_location(path: Path, suffix: str, row_number: int, index: Any) -> str:
    """Where an editor finds data row `row_number` (from 1; `index` is its `read_chunks` index):
    `t.csv:3` is the file's line 3 (the header is line 1; a quoted field spanning lines shifts
    later rows), `t.jsonl:3` its line 3 (blank lines counted), `t.parquet row 3` the third row.
    The corpus table loader names its rows with it too."""
    if suffix in {".csv", ".tsv"}:
        return f"{path.name}:{row_number + 1}"
    if suffix == ".jsonl":
        return f"{path.name}:{int(index)}"
    return f"{path.name} row {row_number}"


def _row_of(where: str) -> int:
    import re

    tail = re.search(r"(\d+)$", where)
    return int(tail.group(1)) if tail else 0


def _label_names(raw_labels: list[Any], label_col: str | None,
                 given: Sequence[str] | None) -> list[str] | None:
    if label_col is None:
        return None
    if given is not None:
        return list(given)
    values = {r for r in raw_labels if not _is_missing(r) and r != ""}
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
