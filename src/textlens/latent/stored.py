"""Stored embeddings as analysis input: the prediction and embedding steps' values read, not run.

Users who already computed their vectors (Phoenix, Embedding Atlas and FiftyOne accept them)
bring a table (Parquet, CSV, JSONL) with a vector column, or an `.npy` beside the table, plus
optional probability, prediction, label and loss columns. `read_stored` checks them and returns
the same typed values `predict_step` and `embed_step` return (`Predictions`, `Embeddings`), so
`pipeline.analyze_stored` runs every later step unchanged, without a model.

Vectors are float32 throughout: an `.npy` of float32 is memory-mapped, never copied (1M x 384
is 1.5 GB); a table's list column is flattened once by pyarrow. Every check names the first bad
row by its file line (CSV: header = line 1; JSONL: line; Parquet: row).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from textlens.data.table import require_columns, table_columns
from textlens.errors import DataError, InputError
from textlens.latent.results import Embeddings, Predictions
from textlens.latent.stored_frame import StoredColumns, samples_frame

__all__ = ["StoredColumns", "StoredInput", "read_stored"]

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

VECTOR_DEFAULTS = ("embedding", "embeddings", "vector")
CHECK_ROWS = 65_536  # rows per finiteness check of a memory-mapped array (~100 MB at 384-d)


@dataclass(frozen=True)
class StoredInput:
    """A table and its vectors, checked: the two model steps' values, and where they came from."""

    table: Path
    vectors_file: Path  # the table itself, or the .npy
    predictions: Predictions
    embeddings: Embeddings
    label_names: tuple[str, ...] | None
    has_labels: bool
    has_probabilities: bool


def read_stored(table: str | Path, vectors: str | Path | None = None,
                columns: StoredColumns | None = None, split: str = "all") -> StoredInput:
    """Read and check a table and its vectors (its vector column, or `vectors`, an .npy)."""
    columns = columns or StoredColumns()
    start = time.perf_counter()
    path = Path(table)
    names = table_columns(path)
    vector_col = _vector_column(columns.vector, names, path, vectors)
    wanted = {"--id-col": columns.id, "--text-col": columns.text, "--label-col": columns.label,
              "--prediction-col": columns.prediction, "--loss-col": columns.loss,
              "--probabilities-col": columns.probabilities, "--split-col": columns.split,
              "--vector-col": vector_col}
    if columns.text not in names:
        raise DataError(f"'{path}' has no text column '{columns.text}'. Columns present: "
                        f"{', '.join(names)}.", "pass --text-col naming the column of texts.")
    require_columns(names, wanted, path)
    arrow = _read_arrow(path)
    where = _locator(path)
    if vectors is not None:
        matrix, vectors_file = _npy_vectors(Path(vectors), arrow.num_rows, path), Path(vectors)
    else:
        assert vector_col is not None
        matrix = _list_matrix(arrow.column(vector_col), vector_col, where, "vector")
        vectors_file = path
    _check_finite(matrix, "vector", where)
    probs_col = columns.probabilities or ("probabilities" if "probabilities" in names else None)
    listed = {c for c in (vector_col, probs_col) if c}
    frame = arrow.drop_columns(sorted(listed)).to_pandas()
    probs, prob_names, used = _probabilities(arrow, probs_col, frame, where)
    frame = frame.drop(columns=used)

    built = samples_frame(frame, columns, probs, prob_names, where, split)
    key = digest_vectors(matrix)
    seconds = time.perf_counter() - start
    return StoredInput(path, vectors_file, Predictions(built.frame, 0.0),
                       Embeddings(matrix, key, seconds), built.label_names, built.has_labels,
                       probs is not None)


def _vector_column(given: str | None, names: list[str], path: Path,
                   npy: str | Path | None) -> str | None:
    if npy is not None:
        if given is not None:
            raise InputError("Both --embeddings (an .npy) and --vector-col were given.",
                             "pass one: the .npy file, or the table's vector column.")
        return None
    if given is not None:
        return given
    found = [c for c in VECTOR_DEFAULTS if c in names]
    if not found:
        raise DataError(f"'{path}' has no vector column ({' / '.join(VECTOR_DEFAULTS)}). "
                        f"Columns present: {', '.join(names)}.",
                        "pass --vector-col naming the column of vectors, or --embeddings "
                        "FILE.npy with one row per table row.")
    return found[0]


def _read_arrow(path: Path) -> pa.Table:
    """The whole table as Arrow (list columns stay lists; CSV vectors are JSON-array strings)."""
    import pyarrow as pa

    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix in {".csv", ".tsv"}:
            from pyarrow import csv

            parse = csv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",",
                                     newlines_in_values=True)
            return csv.read_csv(path, parse_options=parse)
        if suffix == ".jsonl":
            from pyarrow import json as pajson

            return pajson.read_json(path)
    except pa.ArrowInvalid as exc:
        raise DataError(f"'{path}' could not be read as a table ({exc}).",
                        "check the file's format; vectors are lists of numbers.") from exc
    raise DataError(f"Stored embeddings need a Parquet, CSV/TSV or JSONL table, not '{path}'.",
                    "write the table as .parquet, .csv or .jsonl.")


def _locator(path: Path) -> Any:
    """Row index -> where an editor finds it: CSV/TSV file line (header is line 1), JSONL line,
    Parquet row (1-based)."""
    suffix = path.suffix.lower()
    offset, unit = {".csv": (2, "line"), ".tsv": (2, "line"), ".jsonl": (1, "line")}.get(
        suffix, (1, "row"))

    def where(row: int) -> str:
        return f"{path.name} {unit} {row + offset}"
    return where


def _npy_vectors(path: Path, rows: int, table: Path) -> np.ndarray:
    if not path.exists():
        raise DataError(f"Embeddings file '{path}' does not exist.", "check the path.")
    if path.suffix.lower() != ".npy":
        raise DataError(f"'{path}' is not an .npy file.",
                        "save the vectors with numpy.save(FILE.npy, array), one row a sample.")
    try:
        matrix = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"'{path}' is not a numeric .npy array ({exc}).",
                        "save a 2-D float array with numpy.save.") from exc
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.number):
        raise DataError(f"'{path}' holds a {matrix.ndim}-D {matrix.dtype} array; one 2-D numeric "
                        "array (samples x dimensions) is needed.",
                        "save vectors.reshape(len(table), -1).astype('float32').")
    if matrix.shape[0] != rows:
        raise DataError(f"'{path}' has {matrix.shape[0]:,} vectors but '{table}' has {rows:,} "
                        "rows: row i of each must be the same sample.",
                        "save one vector per table row, in the table's order.")
    if matrix.dtype != np.float32:  # the one copy: float32 is what every later step reads
        matrix = np.asarray(matrix, dtype=np.float32)
    return matrix


def _list_matrix(column: pa.ChunkedArray, name: str, where: Any, what: str) -> np.ndarray:
    """A list (or JSON-array string) column as an (n, d) float32 matrix, every row checked."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = column.combine_chunks()
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        array = _parse_json_lists(array, name, where, what)
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)
            or pa.types.is_fixed_size_list(array.type)):
        raise DataError(f"Column '{name}' holds {array.type}, not lists of numbers.",
                        f"store each {what} as a list of floats (Parquet list<float>, a JSON "
                        "array in JSONL or CSV).")
    nulls = np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))
    if len(nulls):
        raise DataError(f"{len(nulls):,} rows have no {what} in column '{name}', first at "
                        f"{where(int(nulls[0]))}.", f"give every row a {what}.")
    lengths = pc.list_value_length(array).to_numpy(zero_copy_only=False)
    if len(lengths) == 0:
        raise DataError(f"Column '{name}' is empty.", "add one row per sample.")
    dim = int(np.bincount(lengths).argmax())
    odd = np.flatnonzero(lengths != dim)
    if len(odd) or dim == 0:
        first = int(odd[0]) if len(odd) else 0
        raise DataError(f"Column '{name}' mixes {what} lengths: most have {dim}, but "
                        f"{where(first)} has {int(lengths[first])} ({len(odd):,} rows differ).",
                        f"give every {what} the same length.")
    values = array.flatten()
    if values.null_count:
        first = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0]) // dim
        raise DataError(f"A {what} in column '{name}' has a missing value ({where(first)}).",
                        f"fill it; every {what} element must be a number.")
    try:
        flat = values.cast(pa.float32()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"Column '{name}' holds {values.type} elements, not numbers.",
                        f"store each {what} as a list of floats.") from exc
    return flat.reshape(len(lengths), dim)


def _parse_json_lists(array: pa.Array, name: str, where: Any, what: str) -> pa.Array:
    import pyarrow as pa

    rows = []
    for i, text in enumerate(array.to_pylist()):
        try:
            rows.append(None if text is None else [float(v) for v in json.loads(text)])
        except (ValueError, TypeError) as exc:
            raise DataError(f"The {what} at {where(i)} (column '{name}') is not a JSON list of "
                            f"numbers: {str(text)[:40]!r}.",
                            f"write each {what} as [0.1, 0.2, ...].") from exc
    return pa.array(rows, type=pa.list_(pa.float64()))


def _check_finite(matrix: np.ndarray, what: str, where: Any) -> None:
    """NaN or inf anywhere is refused, naming the first row; read in chunks (no copy of all)."""
    for start in range(0, len(matrix), CHECK_ROWS):
        block = np.isfinite(matrix[start:start + CHECK_ROWS]).all(axis=1)
        if not block.all():
            row = start + int(np.flatnonzero(~block)[0])
            raise DataError(f"The {what} at {where(row)} holds NaN or infinity.",
                            f"fix or drop that row's {what} (and its table row).")


def _probabilities(arrow: pa.Table, list_col: str | None, frame: pd.DataFrame,
                   where: Any) -> tuple[np.ndarray | None, tuple[str, ...] | None, list[str]]:
    """(n, k) probabilities, their class names (None: by position, `p_0`, or a list) and the
    `p_<class>` columns read."""
    cols: list[str] = []
    if list_col is not None:
        probs = _list_matrix(arrow.column(list_col), list_col, where, "probability list")
        names = None
    else:
        cols = [c for c in frame.columns if str(c).startswith("p_") and len(str(c)) > 2]
        if not cols:
            return None, None, []
        numbered = all(c[2:].isdigit() for c in cols)
        if numbered:
            cols = sorted(cols, key=lambda c: int(c[2:]))
            if [int(c[2:]) for c in cols] != list(range(len(cols))):
                raise DataError(f"Probability columns {', '.join(cols)} skip a class.",
                                "name them p_0 .. p_{k-1}, one per class.")
        probs = frame[cols].to_numpy(dtype=np.float64, na_value=np.nan)
        names = None if numbered else tuple(c[2:] for c in cols)
    probs = probs.astype(np.float64)
    _check_finite(probs, "probabilities", where)
    bad = np.flatnonzero(((probs < 0) | (probs > 1)).any(axis=1))
    if len(bad):
        raise DataError(f"The probabilities at {where(int(bad[0]))} are outside 0..1.",
                        "store probabilities (softmax or sigmoid outputs), not logits.")
    return probs, names, cols


def digest_vectors(matrix: np.ndarray) -> str:
    """A content hash of the vectors (the map's cache key), read in chunks: ~1 s per GB."""
    h = hashlib.sha256(str(matrix.shape).encode())
    for start in range(0, len(matrix), CHECK_ROWS):
        h.update(np.ascontiguousarray(matrix[start:start + CHECK_ROWS]).tobytes())
    return h.hexdigest()[:16]
