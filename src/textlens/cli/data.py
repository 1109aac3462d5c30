"""`textlens data`: list the built-in datasets and check one (rows kept, rows rejected and why)."""

from __future__ import annotations

from typing import Annotated

import typer

from textlens.cli.options import DataDir, LabelCol, TextCol

data_app = typer.Typer(help="Inspect datasets.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


@data_app.command("list")
def list_datasets() -> None:
    """The built-in dataset names."""
    from textlens.data import DATASETS

    for name, description in DATASETS.items():
        typer.echo(f"{name:8} {description}")


@data_app.command("check")
def check(
    name: Annotated[str, typer.Argument(help="Dataset name or path.")],
    split: Annotated[str, typer.Option("--split")] = "validation",
    text_col: TextCol = None,
    label_col: LabelCol = None,
    data_dir: DataDir = None,
) -> None:
    """Load a dataset and report its size, labels, and every rejected row with the reason."""
    from rich.console import Console

    from textlens.data import load_dataset

    data = load_dataset(name, split, data_dir=data_dir, text_col=text_col, label_col=label_col)
    console = Console()
    console.print(data.bad_rows_summary(), highlight=False)
    labels = (", ".join(data.label_names) if data.label_names
              else "none (no label column: fine for corpus, predict and explain)")
    console.print(f"source: {data.source}; task: {data.task}; labels: {labels}",
                  highlight=False)
    for row in data.bad_rows[:20]:
        console.print(f"  rejected {row.where}: {row.reason}", highlight=False)
    if len(data.bad_rows) > 20:
        console.print(f"  ... and {len(data.bad_rows) - 20} more", highlight=False)
