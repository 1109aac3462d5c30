"""Loss attribution ("sample loss analysis"): gradient of the loss against the ground truth with
respect to the token embeddings, times the embeddings. Positive scores mark tokens that push
the loss up (what the model got wrong), negative ones tokens that pull it down.

The engine builds `loss` targets from the gold labels (classification) or gold answer span (QA:
the start and end cross-entropies, one row each); this method is gradient x input on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textlens.attribution.methods._gradients import input_gradients
from textlens.attribution.registry import Job, RawAttribution, register
from textlens.attribution.runner import Runner
from textlens.errors import InputError


@register("loss", "loss-attribution", "loss_attribution")
@dataclass(frozen=True)
class LossAttribution:
    name: ClassVar[str] = "loss"
    description: ClassVar[str] = ("Gradient x input of the loss against the gold label or span: "
                                  "which tokens push the loss up.")
    needs_gold: ClassVar[bool] = True

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        for job in jobs:
            if job.target.score != "loss":
                raise InputError("Loss attribution needs the ground truth.",
                                 "pass labels=[...] (classification) or answers=[...] (QA).")
        values, grads = input_gradients(runner, jobs)
        return [RawAttribution((grads[r] * job.x).sum(-1).double().cpu().numpy(), 1,
                               output=float(values[r])) for r, job in enumerate(jobs)]
