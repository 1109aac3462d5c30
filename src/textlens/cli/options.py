"""Options shared by several commands, so they are spelled and documented the same everywhere."""

from __future__ import annotations

import os
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
ModelOpt = Annotated[str | None, typer.Option(
    "--model", help="Model directory (or hub id, with a network). Default: the demo's model, "
    "$TEXTLENS_CACHE/models/sentiment-minilm, where it exists.")]
IdCol = Annotated[str | None, typer.Option("--id-col", help="Id column of a table.")]
SelfContained = Annotated[bool, typer.Option(
    "--self-contained", help="Put plotly.js inside report.html: one offline file to share "
    "(~4.8 MB larger) instead of the page and plotly.min.js beside it.")]


def model_source(model: str | None) -> str:
    """--model, or the demo's model where it exists (else a clear error): never a silent `.`.
    A local-looking path that does not exist fails here, before torch is even imported."""
    from textlens.models.loading import default_model, looks_local, resolve_source

    if model is None:
        return str(default_model())
    if looks_local(model) or Path(model).expanduser().exists():
        resolve_source(model)
    return model


def check_output(path: str | Path | None, option: str) -> None:
    """Refuse an output path that cannot be written, before any work: a directory, a parent
    that is a file, or a place without write permission."""
    if path is None or str(path) == "-":
        return
    from textlens.errors import InputError

    target = Path(path).expanduser()
    if target.is_dir():
        raise InputError(f"{option} {path} is a directory.",
                         f"pass a file path, e.g. {target / ('out' + _suffix(option))}.")
    parent = target.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} {path}: {parent} is a file, so it cannot hold {target.name}.",
                         "pass a path in a folder (or a new folder name).")
    writable = os.access(target, os.W_OK) if target.exists() else os.access(parent, os.W_OK)
    if not writable:
        raise InputError(f"{option} {path} cannot be written (no permission on "
                         f"{target if target.exists() else parent}).",
                         "pass a path you can write to.")


def _suffix(option: str) -> str:
    return {"--html": ".html", "--png": ".png", "--json": ".json", "--out": ".jsonl"}.get(
        option, "")


def check_device(device: str) -> None:
    from textlens.models.loading import check_device as check

    check(device)
