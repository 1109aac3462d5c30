"""The values every loader returns: examples, the dataset that holds them, and what was rejected."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

Task = Literal["classification", "qa"]


@dataclass(frozen=True)
class TextExample:
    """One text, with an integer label when the data has one, and any other columns as metadata."""

    id: str
    text: str
    label: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    text: str
    start: int  # character offset in the context

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class QAExample:
    """One SQuAD-style question; every human answer is kept (the official metric takes the max)."""

    id: str
    title: str
    context: str
    question: str
    answers: tuple[Answer, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BadRow:
    """A row a loader could not use, and why: reported, never dropped silently. `where` is what
    an editor finds (a table's file line, counting the header as line 1; a Parquet row); `id`
    the row's id where the table has one."""

    where: str
    reason: str
    id: str | None = None


E = TypeVar("E", TextExample, QAExample)


@dataclass(frozen=True)
class Dataset(Generic[E]):
    name: str
    split: str
    examples: tuple[E, ...]
    source: Path
    label_names: tuple[str, ...] | None = None
    bad_rows: tuple[BadRow, ...] = ()

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[E]:
        return iter(self.examples)

    def __getitem__(self, index: int) -> E:
        return self.examples[index]

    @property
    def task(self) -> Task:
        if self.examples and isinstance(self.examples[0], QAExample):
            return "qa"
        return "classification"

    def head(self, n: int) -> Dataset[E]:
        """The first `n` examples (for quick runs); bad rows are kept for the report."""
        return Dataset(self.name, self.split, self.examples[:n], self.source, self.label_names,
                       self.bad_rows)

    def sample(self, n: int, seed: int = 0) -> Dataset[E]:
        """A seeded random sample of `n` examples, in their original order."""
        import random

        if n >= len(self.examples):
            return self
        keep = sorted(random.Random(seed).sample(range(len(self.examples)), n))
        picked = tuple(self.examples[i] for i in keep)
        return Dataset(self.name, self.split, picked, self.source, self.label_names, self.bad_rows)

    def require_rows(self) -> Dataset[E]:
        """This dataset, or a `DataError` when every row was rejected (saying why)."""
        if not self.examples:
            from textlens.errors import DataError

            raise DataError(f"No usable rows: {self.bad_rows_summary()}.",
                            f"fix the rejected rows (see `textlens data check {self.source}`).")
        return self

    def bad_rows_summary(self) -> str:
        if not self.bad_rows:
            return f"{self.name}/{self.split}: {len(self.examples)} rows, none rejected"
        reasons: dict[str, int] = {}
        for row in self.bad_rows:
            reasons[row.reason] = reasons.get(row.reason, 0) + 1
        detail = "; ".join(f"{count} x {reason}" for reason, count in sorted(reasons.items()))
        return (f"{self.name}/{self.split}: {len(self.examples)} rows kept, "
                f"{len(self.bad_rows)} rejected ({detail})")
