"""Corpus ingest: a folder of .txt files or a table in, documents with metadata out.

Files that cannot be read as text are listed with the reason, never skipped silently: macOS
AppleDouble files (`._NAME`, which the upstream UN General Debate dump holds next to every
speech), empty files, and files that are not UTF-8 (with the offending byte and its offset).
Texts of a folder are read again when the run needs them (`read`), so memory does not grow with
the corpus; a table is in memory already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textlens.corpus.engine import Document
from textlens.data.folder import UNGDC_PATTERN
from textlens.errors import DataError


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    path: str  # relative to the corpus root, or TABLE:ROW
    metadata: Mapping[str, Any]
    n_chars: int


@dataclass(frozen=True)
class BadFile:
    path: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    """What ingest found: usable documents (texts read on demand) and rejected files."""

    name: str
    root: Path
    documents: tuple[DocumentInfo, ...]
    bad_files: tuple[BadFile, ...]
    metadata_columns: tuple[str, ...]
    texts: Mapping[str, str] | None = field(default=None, repr=False)  # tables only

    def read(self, info: DocumentInfo) -> Document:
        """The document's original text (read from disk for folders)."""
        if self.texts is not None:
            return Document(info.doc_id, self.texts[info.doc_id], info.metadata)
        text = (self.root / info.path).read_text(encoding="utf-8").lstrip("\ufeff")
        return Document(info.doc_id, text, info.metadata)

    def select(self, keep: Sequence[str]) -> Corpus:
        wanted = set(keep)
        docs = tuple(d for d in self.documents if d.doc_id in wanted)
        return Corpus(self.name, self.root, docs, self.bad_files, self.metadata_columns, self.texts)

    def metadata_frame(self) -> Any:
        """One row per document: doc_id, path, n_chars and every metadata column."""
        import pandas as pd

        rows = [{"doc_id": d.doc_id, "path": d.path, "n_chars": d.n_chars,
                 **{c: d.metadata.get(c) for c in self.metadata_columns}} for d in self.documents]
        return pd.DataFrame(rows, columns=["doc_id", "path", "n_chars", *self.metadata_columns])


def ingest(data: str | Path, data_dir: str | Path | None = None, path_pattern: str | None = None,
           text_col: str = "text", id_col: str | None = None, glob: str = "**/*.txt") -> Corpus:
    """`ungdc`, a folder of .txt files (metadata by `path_pattern`, default the UNGDC layout)
    or a CSV/TSV/JSONL/Parquet table (`text_col`, other columns metadata)."""
    from textlens.config import data_dir as resolve_data_dir
    from textlens.data.table import SUFFIXES

    if str(data) == "ungdc":
        return ingest_folder(resolve_data_dir(data_dir) / "ungdc", path_pattern, glob, "ungdc")
    path = Path(data)
    if path.is_dir():
        return ingest_folder(path, path_pattern, glob)
    if path.suffix.lower() in SUFFIXES and path.is_file():
        return ingest_table(path, text_col, id_col)
    raise DataError(f"Corpus '{data}' is neither `ungdc`, a folder nor a table file that exists.",
                    "pass --data ungdc, a folder of .txt files, or a CSV/TSV/JSONL/Parquet file "
                    f"({', '.join(sorted(SUFFIXES))}).")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise DataError(f"--path-pattern '{pattern}' is not a valid regular expression ({exc}).",
                        "fix the regex; named groups such as (?P<year>\\d{4}) become metadata.") \
            from exc
    if not regex.groupindex:
        raise DataError(f"--path-pattern '{pattern}' has no named groups, so it gives no metadata.",
                        "name the parts you want as columns, e.g. "
                        "'(?P<country>[A-Z]{3})_(?P<session>\\d+)_(?P<year>\\d{4})'.")
    return regex


def ingest_folder(root: Path, path_pattern: str | None = None, glob: str = "**/*.txt",
                  name: str | None = None) -> Corpus:
    """Every file under `root` matching `glob`; metadata from the path by the named groups."""
    if not root.is_dir():
        raise DataError(f"Corpus folder '{root}' does not exist.",
                        "pass an existing folder of .txt files (or --data ungdc with --data-dir).")
    regex = compile_pattern(path_pattern or UNGDC_PATTERN)
    files = [p for p in sorted(root.glob(glob)) if p.is_file()]
    if not files:
        raise DataError(f"Folder '{root}' holds no files matching '{glob}'.",
                        "pass a folder that holds .txt files (searched recursively).")
    docs: list[DocumentInfo] = []
    bad: list[BadFile] = []
    unmatched: list[str] = []
    for path in files:
        relative = path.relative_to(root).as_posix()
        reason = _unreadable(path)
        if reason is not None:
            bad.append(BadFile(relative, reason))
            continue
        match = regex.search(relative)
        if match is None:
            unmatched.append(relative)
            bad.append(BadFile(relative, "path does not match --path-pattern"))
            continue
        metadata = {k: _number_or_text(v) for k, v in match.groupdict().items()}
        docs.append(DocumentInfo(relative, relative, metadata, _n_chars(path)))
    if not docs and unmatched:
        raise DataError(f"--path-pattern '{regex.pattern}' matches none of the {len(unmatched)} "
                        f"readable files under '{root}' (e.g. '{unmatched[0]}').",
                        "give a regex, searched in the path relative to the folder, that matches "
                        "them, e.g. '(?P<country>[A-Z]{3})_(?P<year>\\d{4})'.")
    if not docs:
        raise DataError(f"No usable text file under '{root}': all {len(bad)} were rejected "
                        f"({bad[0].reason}, ...).", "pass a folder of UTF-8 .txt files.")
    return Corpus(name or root.name, root, tuple(docs), tuple(bad), tuple(regex.groupindex))


def _unreadable(path: Path) -> str | None:
    """Why a file is not a usable text, or None."""
    if path.name.startswith("._"):
        return "AppleDouble metadata file (macOS resource fork, not text)"
    data = path.read_bytes()
    if not data.strip():
        return "empty"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte 0x{data[exc.start]:02x} at {exc.start})"
    if "\x00" in text:
        return "binary (NUL bytes), not text"
    if not text.lstrip("\ufeff").strip():
        return "empty"
    return None


def _n_chars(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").lstrip("\ufeff"))


def _number_or_text(value: str | None) -> str | int | None:
    return int(value) if value is not None and value.isdigit() else value


def ingest_table(path: Path, text_col: str = "text", id_col: str | None = None) -> Corpus:
    """One document per row; rows with an empty text are listed as bad rows."""
    import pandas as pd

    from textlens.data.table import read_chunks, require_columns, row_location, table_columns

    columns = [str(c) for c in table_columns(path)]
    require_columns(columns, {"--text-col": text_col, "--id-col": id_col}, path)
    meta_cols = tuple(c for c in columns if c not in {text_col, id_col})
    docs: list[DocumentInfo] = []
    bad: list[BadFile] = []
    texts: dict[str, str] = {}
    # Streamed in chunks (data.table.read_chunks): a large table is never one pandas frame.
    # Rows are named as the data loaders name them: `t.csv:3` is the file's line 3.
    records = (pair for chunk in read_chunks(path, text_columns=[text_col])
               for pair in zip(chunk.index, chunk.to_dict("records"), strict=True))
    suffix = path.suffix.lower()
    for number, (index, record) in enumerate(records, start=1):
        where = row_location(path, suffix, number, index)
        text = record[text_col]
        if text is None or (isinstance(text, float) and pd.isna(text)) or not str(text).strip():
            bad.append(BadFile(where, f"empty {text_col}"))
            continue
        doc_id = str(record[id_col]) if id_col else f"row-{number}"
        if doc_id in texts:
            bad.append(BadFile(where, f"duplicate id {doc_id!r} in {id_col}"))
            continue
        texts[doc_id] = str(text)
        metadata = {c: _plain(record[c]) for c in meta_cols}
        docs.append(DocumentInfo(doc_id, where, metadata, len(texts[doc_id])))
    if not docs:
        raise DataError(f"Table '{path}' has no row with a non-empty '{text_col}'.",
                        "pass a table with text in --text-col.")
    return Corpus(path.stem, path.parent, tuple(docs), tuple(bad), meta_cols, texts)


def _plain(value: Any) -> Any:
    """numpy scalars to Python values; NaN to None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
