"""The seam between label-issue types and the detectors that compose them (cleanlab Datalab's
issue-manager shape): every issue type is a class with an `issue_name`, registered by that name,
whose `find` gives one score and one flag per row (`Findings`); a detector (`classification`,
`qa`) composes a task's types into ranked `LabelIssue`s with a kind and a reason.

Unknown names are refused with the list of registered ones, as attribution methods are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np

ISSUE_KINDS = ("wrong class", "wrong span", "wrong boundary", "ambiguous", "none")
TASKS = ("classification", "qa")


@dataclass(frozen=True)
class LabelIssue:
    """One row of the `label_issues` table."""

    id: str
    score: float  # higher = more likely a label error
    rank: int  # 1 = most suspicious
    reason: str
    flagged: bool
    kind: str = "wrong class"  # one of ISSUE_KINDS


@dataclass(frozen=True)
class Findings:
    """One issue type's verdict on every row: `score` (higher = more likely), `flagged`."""

    issue_name: str
    score: np.ndarray
    flagged: np.ndarray


@runtime_checkable
class IssueType(Protocol):
    """What a detector needs of an issue type. `evidence` is the task's: `ClassEvidence` for
    classification, `QAEvidence` for QA (each module types its own `find`)."""

    issue_name: ClassVar[str]
    task: ClassVar[str]
    description: ClassVar[str]

    def find(self, evidence: Any) -> Findings:
        ...


_CONTRACT = ("issue_name", "task", "description", "find")
REGISTERED: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    """Class decorator: make an issue type findable by its `issue_name`. A class missing part of
    the `IssueType` contract, or with an unknown task, is refused at import."""
    missing = [attr for attr in _CONTRACT if not hasattr(cls, attr)]
    if missing:
        raise TypeError(f"Issue type {cls.__name__} lacks {', '.join(missing)} "
                        "(see issues.base.IssueType).")
    if cls.task not in TASKS:
        raise TypeError(f"Issue type {cls.__name__}: task {cls.task!r} is not one of {TASKS}.")
    REGISTERED[cls.issue_name] = cls
    return cls
