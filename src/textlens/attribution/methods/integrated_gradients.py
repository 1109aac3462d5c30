"""Integrated gradients on the word-embedding layer, adaptive by default.

attr_i = (x_i - b_i) . integral_0^1 dF/dx_i(b + a (x - b)) da, with b the input whose
non-special tokens are [PAD]. Completeness says sum(attr) = F(x) - F(b); the relative gap is
measured for every text and, in adaptive mode, driven under `tolerance` (see quadrature.py).
All pending path points of all texts in a length bucket go through the model in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from textlens.attribution.quadrature import CompositeQuadrature, Criterion, Rule
from textlens.attribution.registry import Job, RawAttribution, register
from textlens.attribution.runner import Runner, pad_rows


@register("ig", "integrated-gradients", "integrated_gradients", "lig")
@dataclass(frozen=True)
class IntegratedGradients:
    """`steps=None` (default): adaptive composite quadrature until the completeness error is
    <= `tolerance` or `max_steps` gradient evaluations are spent; `steps=N`: a fixed N-node rule."""

    steps: int | None = None
    rule: Rule | None = None  # adaptive: gauss-lobatto; fixed: gauss-legendre
    tolerance: float = 0.01
    max_steps: int = 256
    nodes_per_segment: int = 5
    initial_segments: int = 3
    criterion: Criterion = "segments"
    name: ClassVar[str] = "ig"
    description: ClassVar[str] = ("Integrated gradients from a [PAD] baseline on the word "
                                  "embeddings; adaptive steps until completeness error <= 1%.")
    needs_gold: ClassVar[bool] = False

    def _quadrature(self) -> CompositeQuadrature:
        if self.steps is not None:
            return CompositeQuadrature(self.steps, 1, None, self.steps,
                                       self.rule or "gauss-legendre")
        return CompositeQuadrature(self.nodes_per_segment, self.initial_segments, self.tolerance,
                                   self.max_steps, self.rule or "gauss-lobatto", self.criterion)

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:

        import torch

        base = [runner.embed(job.baseline_ids) for job in jobs]
        delta = [job.x - b for job, b in zip(jobs, base, strict=True)]
        quads = [self._quadrature() for _ in jobs]
        while True:
            live = [i for i, q in enumerate(quads) if not q.done]
            if not live:
                break
            # One pass a round for all live texts: path points whose output F is needed
            # (segment boundaries, for the completeness checks) and quadrature nodes (whose
            # gradients are needed). Few big passes beat many small ones on CPU.
            values = {i: quads[i].pending_values() for i in live}
            nodes = {i: quads[i].pending_nodes() for i in live}
            points = {i: sorted(set(values[i]) | set(nodes[i])) for i in live}
            rows = [(i, a) for i in live for a in points[i]]
            embeds, types, mask = pad_rows(
                [base[i] + a * delta[i] for i, a in rows], [jobs[i].token_types for i, _ in rows])
            scores, grads = runner.gradients(embeds, types, [jobs[i].target for i, _ in rows],
                                             mask)
            scores = scores.double().cpu().numpy()
            contrib = (grads * torch.cat([delta[i][None] for i, _ in rows]) if mask is None
                       else None)
            r = 0
            for i in live:
                at = {a: r + k for k, a in enumerate(points[i])}
                # Every row's output is F at its point: kept, so that a node which later
                # becomes a segment boundary (the midpoint of a split) is not run again.
                quads[i].supply_values(points[i], [scores[at[a]] for a in points[i]])
                picked = [at[a] for a in nodes[i]]
                if contrib is not None:
                    vectors = contrib[picked].sum(-1)
                else:
                    vectors = (grads[picked, :len(delta[i])] * delta[i]).sum(-1)
                quads[i].supply_integrand(vectors.double().cpu().numpy(), nodes[i])
                r += len(points[i])
        return [RawAttribution(q.integral.astype(np.float64), q.evaluations,
                               q.completeness_error, q.f[1.0], q.f[0.0]) for q in quads]
