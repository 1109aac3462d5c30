"""Data loading: SST-2, SQuAD (title split), generic tables and folders of text files.

`load_dataset` is the one entry point the CLI and the library use; it takes a registered name
(`sst2`, `squad`, `ungdc`) or a path to a table, a SQuAD JSON or a folder.
"""

from __future__ import annotations

from pathlib import Path

from textlens.config import data_dir as resolve_data_dir
from textlens.data.folder import UNGDC_PATTERN, load_text_folder
from textlens.data.squad import load_squad
from textlens.data.sst2 import load_sst2
from textlens.data.table import SUFFIXES, load_table
from textlens.data.types import Answer, BadRow, Dataset, QAExample, TextExample
from textlens.errors import DataError

__all__ = [
    "Answer", "BadRow", "Dataset", "QAExample", "TextExample", "UNGDC_PATTERN", "DATASETS",
    "load_dataset", "load_squad", "load_sst2", "load_table", "load_text_folder",
]

DATASETS = {
    "sst2": "SST-2 sentiment (GLUE): train, validation",
    "squad": "SQuAD v1.1 dev, split by article title: train, validation, all",
    "ungdc": "UN General Debates 2016-2020, one speech per file (country, year, session)",
}


def load_dataset(
    name: str,
    split: str = "validation",
    *,
    data_dir: str | Path | None = None,
    text_col: str | None = None,
    label_col: str | None = None,
    id_col: str | None = None,
) -> Dataset:
    """Load a dataset by registered name or path."""
    if name == "sst2":
        return load_sst2(split, data_dir)
    if name == "squad":
        return load_squad(split, data_dir)
    if name == "ungdc":
        return load_text_folder(resolve_data_dir(data_dir) / "ungdc", UNGDC_PATTERN, name="ungdc")
    path = Path(name)
    if path.is_dir():
        return load_text_folder(path)
    if path.suffix.lower() == ".json" and _looks_like_squad(path):
        return load_squad(split, path=path)
    if path.suffix.lower() in SUFFIXES or path.name.endswith(".json.zip"):
        if path.name.endswith(".zip"):
            return load_squad(split, path=path)
        return load_table(path, text_col or "text", label_col, split=split, id_col=id_col)
    raise DataError(
        f"Unknown dataset '{name}': not a registered name and no such file or folder.",
        f"use one of {', '.join(DATASETS)}, or a path to a CSV/TSV/JSONL/Parquet table, "
        "a SQuAD JSON or a folder of .txt files.",
    )


def _looks_like_squad(path: Path) -> bool:
    if not path.exists():
        return False
    with path.open("rb") as handle:
        head = handle.read(4096)
    return b'"data"' in head and b'"paragraphs"' in head
