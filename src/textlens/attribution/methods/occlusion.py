"""Occlusion (leave-one-out): how much the target drops when one token becomes [PAD].

Model-agnostic and gradient-free: one forward row per non-special token, all in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from textlens.attribution.registry import Job, RawAttribution, register
from textlens.attribution.runner import Runner, pad_rows


@register("occlusion", "leave-one-out", "loo")
@dataclass(frozen=True)
class Occlusion:
    name: ClassVar[str] = "occlusion"
    description: ClassVar[str] = ("Leave-one-out: drop in the target when each token is replaced "
                                  "by [PAD] (forward passes only).")
    needs_gold: ClassVar[bool] = False

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        pad = runner.embed([runner.pad_id])[0]
        embeds, types, targets, owners = [], [], [], []
        for j, job in enumerate(jobs):
            embeds.append(job.x)
            owners.append((j, -1))
            for t, special in enumerate(job.encoded.special):
                if not special:
                    row = job.x.clone()
                    row[t] = pad
                    embeds.append(row)
                    owners.append((j, t))
            types += [job.token_types] * (len(owners) - len(types))
            targets += [job.target] * (len(owners) - len(targets))
        padded, tt, mask = pad_rows(embeds, types)
        values = runner.scores(padded, tt, targets, mask).double().cpu()
        full = {j: float(values[r]) for r, (j, t) in enumerate(owners) if t < 0}
        scores = [np.zeros(len(job.x)) for job in jobs]
        for r, (j, t) in enumerate(owners):
            if t >= 0:
                scores[j][t] = full[j] - float(values[r])
        return [RawAttribution(scores[j], sum(1 for o in owners if o[0] == j), output=full[j])
                for j in range(len(jobs))]
