"""Rich progress bars, one helper so every long step looks the same and can be silenced."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from rich.progress import Progress

T = TypeVar("T")


def progress_enabled() -> bool:
    return os.environ.get("TEXTLENS_PROGRESS", "1") != "0"


def progress_bar(*extra_columns: object) -> Progress:
    """The one Rich progress bar style (on stderr); `extra_columns` go before the timings."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    *extra_columns, TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True))


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on stderr (set TEXTLENS_PROGRESS=0 to silence)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if not progress_enabled() or total == 0:  # nothing to do (a cached rerun): no "0/0" bar
        yield from items
        return
    with progress_bar() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
