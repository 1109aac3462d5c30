"""Tables of texts read by `predict --input` and `explain --input`: rejected rows are reported
the way `textlens data check` reports them, never dropped silently."""

from __future__ import annotations

from pathlib import Path

from textlens.data.types import Dataset


def read_table(path: Path, text_col: str | None, id_col: str | None) -> Dataset:
    """The texts of a table (or folder of .txt files); no label column is needed."""
    from textlens.data import load_dataset

    return load_dataset(str(path), "all", text_col=text_col, id_col=id_col)


def report_bad_rows(data: Dataset, shown: int = 20) -> None:
    """The summary and the first `shown` rejected rows, on stderr."""
    from rich.console import Console

    console = Console(stderr=True)
    console.print(data.bad_rows_summary(), highlight=False)
    for row in data.bad_rows[:shown]:
        console.print(f"  rejected {row.where}: {row.reason}", highlight=False)
    if len(data.bad_rows) > shown:
        console.print(f"  ... and {len(data.bad_rows) - shown} more (all in the output)",
                      highlight=False)
