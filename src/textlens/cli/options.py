"""Options shared by several commands, so they are spelled and documented the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="TEXTLENS_DATA",
                 help="Folder holding sst2/, squad/, ungdc/ (default: $TEXTLENS_DATA)."),
]
TextCol = Annotated[str | None, typer.Option("--text-col", help="Text column of a table.")]
LabelCol = Annotated[str | None, typer.Option("--label-col", help="Label column of a table.")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed.")]
