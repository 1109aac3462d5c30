"""What `explain` is asked to do, as one value checked once.

`ExplainOptions.check()` refuses what needs no model (method name and options, aggregation, QA
part, score spelling), so the CLI can call it before the model loads (seconds);
`check_for(model)` refuses what depends on the model's task and head (target, score, a loss
method on a regression head) and returns the `Plan` the steps run with. The CLI calls these
same two checks instead of repeating them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from textlens.attribution.aggregate import AGGREGATIONS, Aggregation
from textlens.attribution.registry import AttributionMethod, get_method
from textlens.attribution.targets import QA_PARTS, SCORES, Score, check_request
from textlens.attribution.workers import Batching, batching_for
from textlens.choices import check_choice
from textlens.errors import InputError
from textlens.models.heads import HeadKind, head_kind
from textlens.models.loading import LoadedModel
from textlens.models.qa import QAWindowing, qa_windowing


@dataclass(frozen=True)
class ExplainOptions:
    """Every choice of an `explain` call but the inputs, the model and the gold answers.
    `method_options` are the method's own (`steps`, `tolerance`, `max_evals`...; `list_methods`)."""

    method: str = "ig"
    target: str | int | None = None
    score: Score | None = None
    parts: str = "both"
    aggregation: Aggregation = "sum"
    truncate: bool = False
    doc_stride: int | None = None
    max_tokens_per_pass: int | None = None
    jobs_per_chunk: int | None = None
    workers: int | None = None
    pad_slack: float | None = None
    progress: bool = True
    method_options: Mapping[str, Any] = field(default_factory=dict)

    def build_method(self) -> AttributionMethod:
        """The method with its options (an unknown method or option is an InputError)."""
        return get_method(self.method, **self.method_options)

    def check(self) -> AttributionMethod:
        """Refuse what is wrong whatever the model (a score no task has, too); returns the
        built method. `check_for` lists the model's own scores instead."""
        algo = self._check_choices()
        if self.score is not None:
            check_choice("score", self.score, sorted({s for v in SCORES.values() for s in v}))
        return algo

    def _check_choices(self) -> AttributionMethod:
        algo = self.build_method()
        check_choice("aggregation", self.aggregation, AGGREGATIONS)
        check_choice("QA part", self.parts, QA_PARTS)
        return algo

    def check_for(self, model: LoadedModel) -> Plan:
        """Refuse what is wrong for this model; the plan the steps run with."""
        algo = self._check_choices()
        head = model_head(model)
        check_request(model.task, model.label_names, self.target, self.score, self.parts, head)
        if algo.needs_gold and head == "regression":
            raise InputError("Loss attribution needs a class to score; a regression head has "
                             "none.", 'explain its raw output instead: method="ig", '
                             'score="logit".')
        supports = getattr(algo, "check_model", None)
        if supports is not None:  # methods limited to some tasks, families or scores say so
            supports(model, self.score)
        windows = qa_windowing(model, stride=self.doc_stride) if model.task == "qa" else None
        batching = batching_for(model.device, self.max_tokens_per_pass, self.jobs_per_chunk,
                                self.pad_slack, self.workers)
        return Plan(self, algo, head, windows, batching)


@dataclass(frozen=True)
class Plan:
    """Checked options with what they resolve to for one model."""

    options: ExplainOptions
    method: AttributionMethod
    head: HeadKind
    windows: QAWindowing | None
    batching: Batching

    @property
    def is_loss(self) -> bool:
        return self.method.needs_gold

    @property
    def default_score(self) -> Score:
        """A classification target's score when none is asked: the head's probability, unless
        the method explains another (`lrp` conserves the logit)."""
        return getattr(self.method, "default_score", "probability")


@dataclass(frozen=True)
class Gold:
    """Ground truth per input, for loss attribution and QA `target="gold"`."""

    labels: Sequence[int] | None = None
    answers: Sequence[tuple[int, int] | None] | None = None

    def check(self, n: int, plan: Plan) -> None:
        for name, gold in (("labels", self.labels), ("answers", self.answers)):
            if gold is not None and len(gold) != n:
                raise InputError(f"{len(gold)} {name} for {n} inputs.",
                                 f"pass one of {name} each.")
        if plan.is_loss and self.labels is None and self.answers is None:
            raise InputError("Loss attribution needs the ground truth.",
                             "pass labels=[...] (classification) or answers=[...] (QA).")

    def label(self, i: int) -> int | None:
        return None if self.labels is None else self.labels[i]

    def answer(self, i: int) -> tuple[int, int] | None:
        return None if self.answers is None else self.answers[i]


def model_head(model: LoadedModel) -> HeadKind:
    """How the model's head is read (`models.heads`); QA heads are softmaxes over positions."""
    return head_kind(model.model.config) if model.task == "classification" else "softmax"
