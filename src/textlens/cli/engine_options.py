"""`--engine`, `--ray-address`, `--workers`: spelled and documented once for every command that
can run its heavy step on Ray (`analyze`, `corpus`)."""

from __future__ import annotations

from typing import Annotated

import typer

EngineName = Annotated[str, typer.Option(
    "--engine", help="local (this process) or ray (a Ray runtime; needs `pip install "
                     "'textlens[ray]'`).")]
RayAddress = Annotated[str | None, typer.Option(
    "--ray-address", help="Ray cluster to join: auto, HOST:6379 or ray://HOST:10001 "
                          "(default: start a local Ray runtime).")]
Workers = Annotated[int | None, typer.Option(
    "--workers", help="Ray actors (default: one per GPU, else one per CPU, one CPU kept free "
                      "for reading).")]
