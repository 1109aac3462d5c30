"""`textlens export-labels`: the run's dataset with the review queue's accepted fixes applied."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".parquet": "parquet"}


def register(app: typer.Typer) -> None:
    app.command("export-labels")(export_labels)


def export_labels(
    run: Annotated[Path, typer.Argument(help="Run folder written by `textlens analyze`.")],
    out: Annotated[Path, typer.Option("--out", help="Output table: .csv, .tsv, .jsonl or "
                                                    ".parquet.")],
) -> None:
    """Write the dataset with samples marked "mislabelled" in the dashboard relabelled."""
    from rich.console import Console

    from textlens.errors import InputError
    from textlens.serve.reviews import fixed_dataset
    from textlens.serve.runs import open_run
    from textlens.store.files import atomic_path

    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise InputError(f"Unknown output type '{out.suffix or out.name}'.",
                         f"name the output with one of: {', '.join(FORMATS)}.")
    frame, fixes = fixed_dataset(open_run(run))
    with atomic_path(out) as tmp:
        if fmt in ("csv", "tsv"):
            frame.to_csv(tmp, index=False, sep="," if fmt == "csv" else "\t")
        elif fmt == "jsonl":
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_parquet(tmp, index=False)
    Console().print(f"{len(frame)} samples, {fixes} relabelled -> {out}", highlight=False)
