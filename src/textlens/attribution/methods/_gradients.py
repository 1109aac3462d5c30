"""One gradient pass shared by the gradient-based single-pass methods (gradient x input,
saliency, loss attribution): every job's input row through the model at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textlens.attribution.registry import Job
from textlens.attribution.runner import Runner, pad_rows

if TYPE_CHECKING:
    import torch


def input_gradients(runner: Runner, jobs: Sequence[Job]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Scores (R,) and each job's gradient (L_j, H) at the input itself."""
    embeds, types, mask = pad_rows([job.x for job in jobs], [job.token_types for job in jobs])
    values, grads = runner.gradients(embeds, types, [job.target for job in jobs], mask)
    return values, [grads[r, :len(job.x)] for r, job in enumerate(jobs)]
