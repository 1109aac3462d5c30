"""AttnLRP: layer-wise relevance propagation for transformers, in one forward and one backward
pass (`lrp_rules`: the rules as a modified backward, gradient x input at the word embeddings).

It explains the target's logit (relevance is conserved from a linear output, not through the
softmax or sigmoid that makes a probability), so `score` defaults to "logit" and a probability
is refused. Its evidence, like IG's completeness error, is its conservation: `absorbed` is the
logit minus the relevances' sum, the share the rules leave in biases and in the position and
token-type embeddings; `conservation_error` is that as a fraction of the logit.
LRP is patented (Fraunhofer HHI); textlens implements the published rules itself and grants
no patent rights: check the terms before commercial use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textlens.attribution.lrp_rules import rules_for
from textlens.attribution.methods._gradients import input_gradients, predicting_gradients
from textlens.attribution.registry import Job, RawAttribution, register
from textlens.attribution.runner import Runner
from textlens.attribution.targets import Score, Target
from textlens.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import torch


@register("lrp", "attnlrp", "attn-lrp")
@dataclass(frozen=True)
class AttnLRP:
    name: ClassVar[str] = "lrp"
    description: ClassVar[str] = ("AttnLRP: relevance of the target logit in one forward and "
                                  "backward pass; conservation error as evidence.")
    needs_gold: ClassVar[bool] = False
    default_score: ClassVar[Score] = "logit"

    def check_model(self, model: Any, score: str | None) -> None:
        """Refuse an unsupported family (ModelError) or a probability target, before work."""
        rules_for(model.model)
        if score == "probability":
            raise InputError("method=\"lrp\" explains a logit: relevance is conserved from a "
                             "linear output, not through the softmax that makes a probability.",
                             'pass score="logit" (the default for lrp; CLI: --score logit), or '
                             "use ig to explain the probability.")

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        with rules_for(runner.loaded.model).active():
            values, grads = input_gradients(runner, jobs)
        return [_relevance(job.x, grads[r], float(values[r])) for r, job in enumerate(jobs)]

    def attribute_predicting(self, runner: Runner, rows: Sequence[tuple[torch.Tensor, torch.Tensor]],
                             choose: Callable[[int, dict[str, np.ndarray]], Target],
                             ) -> list[tuple[dict[str, np.ndarray], Target, RawAttribution]]:
        """`attribute` with the prediction read off the forward it backpropagates through
        (the rules change only the backward), instead of a separate prediction pass: per input
        (word embeddings, token types), its head outputs, chosen target and attribution."""
        with rules_for(runner.loaded.model).active():
            found = predicting_gradients(runner, rows, choose)
        return [(outputs, target, _relevance(rows[j][0], grad, value))
                for j, (outputs, target, value, grad) in enumerate(found)]


def _relevance(x: torch.Tensor, grad: torch.Tensor, output: float) -> RawAttribution:
    """Gradient x input under the rules; what the relevances miss of the logit is `absorbed`."""
    relevance = (grad * x).sum(-1).double().cpu().numpy()
    return RawAttribution(relevance, 1, output=output, absorbed=output - float(relevance.sum()))
