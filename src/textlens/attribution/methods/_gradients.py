"""One gradient pass shared by the gradient-based single-pass methods (gradient x input,
saliency, loss attribution, lrp): every job's input row, in passes of near-equal length."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from textlens.attribution.registry import Job
from textlens.attribution.runner import Runner, pad_rows
from textlens.attribution.targets import Target

if TYPE_CHECKING:
    import torch


def input_gradients(runner: Runner, jobs: Sequence[Job]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Scores (R,) and each job's gradient (L_j, H) at the input itself. Rows go longest first
    in `Runner.pass_slices` passes (within `pad_slack` of each other's length): one padded pass
    over a chunk cost 2.8x an IG round's rows on SST-2 (40 sentences, 1 thread, under load),
    most of it padding to the chunk's longest sentence."""
    import torch

    order = sorted(range(len(jobs)), key=lambda j: -len(jobs[j].x))
    values = torch.empty(len(jobs), dtype=torch.float64)
    grads: list[torch.Tensor | None] = [None] * len(jobs)
    for sl in runner.pass_slices(np.array([len(jobs[j].x) for j in order])):
        members = order[sl]
        embeds, types, mask = pad_rows([jobs[j].x for j in members],
                                       [jobs[j].token_types for j in members])
        value, grad = runner.gradients(embeds, types, [jobs[j].target for j in members], mask)
        for r, j in enumerate(members):
            values[j] = value[r].double().cpu()
            grads[j] = grad[r, :len(jobs[j].x)]
    return values, grads  # type: ignore[return-value]


def predicting_gradients(runner: Runner, rows: Sequence[tuple[torch.Tensor, torch.Tensor]],
                         choose: Callable[[int, dict[str, np.ndarray]], Target],
                         ) -> list[tuple[dict[str, np.ndarray], Target, float, torch.Tensor]]:
    """`input_gradients` for inputs whose target is read off the same forward (`choose(input,
    its head outputs)`): per input (x, token types), its outputs, target, score and gradient,
    in input order. Same passes as `input_gradients`."""
    order = sorted(range(len(rows)), key=lambda j: -len(rows[j][0]))
    out: list = [None] * len(rows)
    for sl in runner.pass_slices(np.array([len(rows[j][0]) for j in order])):
        members = order[sl]
        embeds, types, mask = pad_rows([rows[j][0] for j in members],
                                       [rows[j][1] for j in members])
        outputs, targets, value, grad = runner.gradients_choosing(
            embeds, types, lambda r, o, members=members: choose(members[r], o), mask)
        for r, j in enumerate(members):
            out[j] = ({k: v[r] for k, v in outputs.items()}, targets[r],
                      float(value[r].double().cpu()), grad[r, :len(rows[j][0])])
    return out
