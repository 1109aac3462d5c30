"""What an attribution explains: one scalar of the model output per row.

A `Target` names a head (`logits` for classification, `start_logits`/`end_logits` for QA), an
index (a class, or a token position) and how the head is read: its probability, its raw logit,
or the cross-entropy loss against that index (what loss attribution explains). The probability
follows the head (`models.heads`): a softmax over classes, a sigmoid per class (multi-label), or
the sigmoid of a one-logit binary head (class 1: sigmoid(z); class 0: sigmoid(-z)). Resolving a
user's request ("predicted", a class name, "top-2", "gold") into targets happens here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textlens.choices import check_choice
from textlens.errors import InputError
from textlens.models.heads import HeadKind, class_names

if TYPE_CHECKING:
    import torch

Score = Literal["probability", "logit", "loss"]
# How a row's logits give its probability: a softmax over the head, a sigmoid of the indexed
# logit (multi-label), or a one-logit head read as two classes (index 1: z, index 0: -z).
Link = Literal["softmax", "sigmoid", "binary"]
LINKS: dict[HeadKind, Link] = {"softmax": "softmax", "multi_label": "sigmoid",
                               "binary": "binary", "regression": "softmax"}
# What a user may ask for ("loss" comes with method="loss"); the first is the default.
SCORES: dict[str, tuple[str, ...]] = {"classification": ("probability", "logit"),
                                      "qa": ("logit", "probability")}
QA_PARTS = ("both", "start", "end")
QA_TARGETS = ("predicted", "gold")


def scores_for(task: str, head: HeadKind = "softmax") -> tuple[str, ...]:
    """The scores a user may ask of this task and head; the first is the default. A regression
    head has no probability, only its raw outputs (read as "logit")."""
    return ("logit",) if task == "classification" and head == "regression" else SCORES[task]


def check_request(task: str, label_names: Sequence[str], target: str | int | None,
                  score: str | None, parts: str, head: HeadKind = "softmax") -> None:
    """Refuse a bad target, score or part before any work, listing the valid values."""
    if score is not None:
        if task == "classification" and head == "regression" and score == "probability":
            raise InputError('A regression head has no probability to explain '
                             '(score="probability").',
                             'explain its raw output: score="logit" (the default for '
                             "regression; CLI: --score logit).")
        check_choice(f"{task} score", score, scores_for(task, head))
    if task == "qa":
        check_choice("QA part", parts, QA_PARTS)
        if target is not None:
            check_choice("QA target", target, QA_TARGETS)
    elif target is not None:
        names = class_names(head, label_names)
        classification_targets(target, [1.0] * max(1, len(names)), names, "logit", head)


@dataclass(frozen=True)
class Target:
    head: str
    index: int
    score: Score
    name: str  # human-readable: "probability of positive", "start logit at token 12"
    link: Link = "softmax"


_KINDS: tuple[Score, ...] = ("logit", "probability", "loss")
_LINKS: tuple[Link, ...] = ("softmax", "sigmoid", "binary")


@dataclass(frozen=True)
class TargetTable:
    """The targets of many rows as index tensors, so that a pass reads every row's scalar with
    one gather instead of a Python loop over rows (which cost more than the model on a GPU)."""

    heads: tuple[str, ...]
    head: torch.Tensor  # (R,) position in `heads`
    index: torch.Tensor  # (R,) class or token position
    kind: torch.Tensor  # (R,) position in _KINDS
    kinds: frozenset[Score]
    link: torch.Tensor | None = None  # (R,) position in _LINKS; None: every row a softmax

    @classmethod
    def of(cls, targets: Sequence[Target], device: torch.device | str = "cpu") -> TargetTable:
        import torch

        heads = tuple(sorted({t.head for t in targets}))
        links = None
        if any(t.link != "softmax" for t in targets):
            links = torch.tensor([_LINKS.index(t.link) for t in targets], device=device)
        return cls(heads,
                   torch.tensor([heads.index(t.head) for t in targets], device=device),
                   torch.tensor([t.index for t in targets], device=device),
                   torch.tensor([_KINDS.index(t.score) for t in targets], device=device),
                   frozenset(t.score for t in targets), links)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, rows: torch.Tensor | slice) -> TargetTable:
        return self.take(rows)

    def take(self, rows: torch.Tensor | slice) -> TargetTable:
        """The table of the given rows (in that order)."""
        return TargetTable(self.heads, self.head[rows], self.index[rows], self.kind[rows],
                           self.kinds, None if self.link is None else self.link[rows])

    def to(self, device: torch.device) -> TargetTable:
        return TargetTable(self.heads, self.head.to(device), self.index.to(device),
                           self.kind.to(device), self.kinds,
                           None if self.link is None else self.link.to(device))


def score_rows(outputs: dict[str, torch.Tensor],
               targets: Sequence[Target] | TargetTable) -> torch.Tensor:
    """The scalar each row explains: outputs[head][row] read at index as a probability, logit or
    loss. Rows may mix heads of the same width (QA start and end). A sigmoid row's probability
    is sigmoid of its logit (a binary head's class 0: of minus the one logit), and its loss the
    binary cross-entropy -log of that."""
    import torch

    table = targets if isinstance(targets, TargetTable) else TargetTable.of(
        targets, next(iter(outputs.values())).device)
    if len(table.heads) == 1:
        rows = outputs[table.heads[0]].float()
    else:
        stacked = torch.stack([outputs[h] for h in table.heads]).float()
        rows = stacked[table.head, torch.arange(len(table), device=stacked.device)]
    if table.link is not None:
        logit, log_p = _sigmoid_rows(rows, table)
        if table.kinds == {"logit"}:
            return logit
    else:
        index = table.index[:, None]
        if table.kinds == {"logit"}:
            return rows.gather(1, index)[:, 0]
        log_p = torch.log_softmax(rows, dim=-1).gather(1, index)[:, 0]
    if table.kinds == {"probability"}:
        return log_p.exp()
    if table.kinds == {"loss"}:
        return -log_p
    if table.link is None:
        logit = rows.gather(1, table.index[:, None])[:, 0]
    out = torch.where(table.kind == _KINDS.index("probability"), log_p.exp(), logit)
    return torch.where(table.kind == _KINDS.index("loss"), -log_p, out)


def _sigmoid_rows(rows: torch.Tensor, table: TargetTable) -> tuple[torch.Tensor, torch.Tensor]:
    """(logit, log-probability) of rows where some are read by a sigmoid: a binary head's
    class 0 reads its one logit negated; softmax rows (if any are mixed in) by log_softmax."""
    import torch

    assert table.link is not None
    binary = table.link == _LINKS.index("binary")
    column = torch.where(binary, torch.zeros_like(table.index), table.index)
    logit = rows.gather(1, column[:, None])[:, 0]
    logit = torch.where(binary & (table.index == 0), -logit, logit)
    log_p = torch.nn.functional.logsigmoid(logit)
    softmax = table.link == _LINKS.index("softmax")
    if bool(softmax.any()):
        soft = torch.log_softmax(rows, dim=-1).gather(1, column[:, None])[:, 0]
        log_p = torch.where(softmax, soft, log_p)
    return logit, log_p


def classification_targets(request: str | int | None, probabilities: Sequence[float],
                           label_names: Sequence[str], score: Score,
                           head: HeadKind = "softmax") -> list[Target]:
    """`None`/"predicted": the predicted class; a name or index; "top-k": the k best classes.
    `label_names` and `probabilities` are per class as `models.heads` gives them (a one-logit
    binary head: two classes, `class_names`)."""
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
    if head == "regression" and score != "logit":
        raise InputError(f'A regression head has no {score} to explain.',
                         'explain its raw output: score="logit".')
    check_choice("classification score", score, (*SCORES["classification"], "loss"))
    what = "output" if head == "regression" else score
    return [Target("logits", i, score, f"{what} of {_name(label_names, i)}", LINKS[head])
            for i in picked]


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
