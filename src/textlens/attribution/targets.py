"""What an attribution explains: one scalar of the model output per row.

A `Target` names a head (`logits` for classification, `start_logits`/`end_logits` for QA), an
index (a class, or a token position) and how the head is read: its probability, its raw logit,
or the cross-entropy loss against that index (what loss attribution explains). Resolving a
user's request ("predicted", a class name, "top-2", "gold") into targets happens here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textlens.choices import check_choice
from textlens.errors import InputError

if TYPE_CHECKING:
    import torch

Score = Literal["probability", "logit", "loss"]
# What a user may ask for ("loss" comes with method="loss"); the first is the default.
SCORES: dict[str, tuple[str, ...]] = {"classification": ("probability", "logit"),
                                      "qa": ("logit", "probability")}
QA_PARTS = ("both", "start", "end")
QA_TARGETS = ("predicted", "gold")


def check_request(task: str, label_names: Sequence[str], target: str | int | None,
                  score: str | None, parts: str) -> None:
    """Refuse a bad target, score or part before any work, listing the valid values."""
    if score is not None:
        check_choice(f"{task} score", score, SCORES[task])
    if task == "qa":
        check_choice("QA part", parts, QA_PARTS)
        if target is not None:
            check_choice("QA target", target, QA_TARGETS)
    elif target is not None:
        classification_targets(target, [1.0] * max(1, len(label_names)), label_names,
                               "probability")


@dataclass(frozen=True)
class Target:
    head: str
    index: int
    score: Score
    name: str  # human-readable: "probability of positive", "start logit at token 12"


_KINDS: tuple[Score, ...] = ("logit", "probability", "loss")


@dataclass(frozen=True)
class TargetTable:
    """The targets of many rows as index tensors, so that a pass reads every row's scalar with
    one gather instead of a Python loop over rows (which cost more than the model on a GPU)."""

    heads: tuple[str, ...]
    head: torch.Tensor  # (R,) position in `heads`
    index: torch.Tensor  # (R,) class or token position
    kind: torch.Tensor  # (R,) position in _KINDS
    kinds: frozenset[Score]

    @classmethod
    def of(cls, targets: Sequence[Target], device: torch.device | str = "cpu") -> TargetTable:
        import torch

        heads = tuple(sorted({t.head for t in targets}))
        return cls(heads,
                   torch.tensor([heads.index(t.head) for t in targets], device=device),
                   torch.tensor([t.index for t in targets], device=device),
                   torch.tensor([_KINDS.index(t.score) for t in targets], device=device),
                   frozenset(t.score for t in targets))

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, rows: torch.Tensor | slice) -> TargetTable:
        return self.take(rows)

    def take(self, rows: torch.Tensor | slice) -> TargetTable:
        """The table of the given rows (in that order)."""
        return TargetTable(self.heads, self.head[rows], self.index[rows], self.kind[rows],
                           self.kinds)

    def to(self, device: torch.device) -> TargetTable:
        return TargetTable(self.heads, self.head.to(device), self.index.to(device),
                           self.kind.to(device), self.kinds)


def score_rows(outputs: dict[str, torch.Tensor],
               targets: Sequence[Target] | TargetTable) -> torch.Tensor:
    """The scalar each row explains: outputs[head][row] read at index as a probability, logit or
    loss. Rows may mix heads of the same width (QA start and end)."""
    import torch

    table = targets if isinstance(targets, TargetTable) else TargetTable.of(
        targets, next(iter(outputs.values())).device)
    if len(table.heads) == 1:
        rows = outputs[table.heads[0]].float()
    else:
        stacked = torch.stack([outputs[h] for h in table.heads]).float()
        rows = stacked[table.head, torch.arange(len(table), device=stacked.device)]
    index = table.index[:, None]
    if table.kinds == {"logit"}:
        return rows.gather(1, index)[:, 0]
    log_p = torch.log_softmax(rows, dim=-1).gather(1, index)[:, 0]
    if table.kinds == {"probability"}:
        return log_p.exp()
    if table.kinds == {"loss"}:
        return -log_p
    logit = rows.gather(1, index)[:, 0]
    out = torch.where(table.kind == _KINDS.index("probability"), log_p.exp(), logit)
    return torch.where(table.kind == _KINDS.index("loss"), -log_p, out)


def classification_targets(request: str | int | None, probabilities: Sequence[float],
                           label_names: Sequence[str], score: Score) -> list[Target]:
    """`None`/"predicted": the predicted class; a name or index; "top-k": the k best classes."""
    order = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])
    if request is None or request == "predicted":
        picked = [order[0]]
    elif isinstance(request, int) or (isinstance(request, str) and request.isdigit()):
        picked = [int(request)]
    elif isinstance(request, str) and request.startswith("top-"):
        try:
            k = int(request[4:])
        except ValueError:
            raise InputError(f"Bad target '{request}'.", "write top-K, e.g. top-2.") from None
        picked = order[:max(1, k)]
    elif request in label_names:
        picked = [list(label_names).index(request)]
    else:
        names = ", ".join(label_names)
        raise InputError(f"Unknown target '{request}'.",
                         f"use predicted, top-K, a class index or one of: {names}.")
    for i in picked:
        if not 0 <= i < len(probabilities):
            raise InputError(f"Class index {i} is out of range.",
                             f"use 0..{len(probabilities) - 1}.")
    check_choice("classification score", score, (*SCORES["classification"], "loss"))
    return [Target("logits", i, score, f"{score} of {_name(label_names, i)}") for i in picked]


def qa_targets(start: int, end: int, parts: str, score: Score, which: str) -> list[Target]:
    """Start and/or end targets at token positions `start`/`end` (of the `which` span)."""
    check_choice("QA part", parts, QA_PARTS)
    check_choice("QA score", score, (*SCORES["qa"], "loss"))
    out = []
    if parts in ("both", "start"):
        out.append(Target("start_logits", start, score, f"start {score} ({which} span)"))
    if parts in ("both", "end"):
        out.append(Target("end_logits", end, score, f"end {score} ({which} span)"))
    return out


def _name(label_names: Sequence[str], i: int) -> str:
    return label_names[i] if i < len(label_names) else f"class {i}"
