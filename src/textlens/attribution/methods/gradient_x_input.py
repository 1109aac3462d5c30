"""Gradient x input: the first-order Taylor term of the target at the input, per token.

One backward pass; no completeness guarantee (it is IG with a single node at alpha = 1 from a
zero-embedding baseline), so it is fast and rough."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textlens.attribution.methods._gradients import input_gradients
from textlens.attribution.registry import Job, RawAttribution, register
from textlens.attribution.runner import Runner


@register("gradient-x-input", "gxi", "input-x-gradient", "gradient_x_input")
@dataclass(frozen=True)
class GradientXInput:
    name: ClassVar[str] = "gradient-x-input"
    description: ClassVar[str] = "Gradient of the target times the token embedding (one pass)."
    needs_gold: ClassVar[bool] = False

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        values, grads = input_gradients(runner, jobs)
        return [RawAttribution((grads[r] * job.x).sum(-1).double().cpu().numpy(), 1,
                               output=float(values[r])) for r, job in enumerate(jobs)]
