"""Saliency: the L2 norm of the target's gradient at each token embedding.

Unsigned: it says how sensitive the output is to a token, not in which direction it pushes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textlens.attribution.methods._gradients import input_gradients
from textlens.attribution.registry import Job, RawAttribution, register
from textlens.attribution.runner import Runner


@register("saliency", "gradient-norm")
@dataclass(frozen=True)
class Saliency:
    name: ClassVar[str] = "saliency"
    description: ClassVar[str] = "L2 norm of the target's gradient per token (unsigned, one pass)."
    needs_gold: ClassVar[bool] = False

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        values, grads = input_gradients(runner, jobs)
        return [RawAttribution(grads[r].norm(dim=-1).double().cpu().numpy(), 1,
                               output=float(values[r])) for r in range(len(jobs))]
