"""F(input) and F(baseline) for every explanation, whatever the method.

An attribution score reads as "how far the input moved the target from the baseline's score":
a sentence "predicted positive (0.59)" that is all red is not a contradiction once the page
shows its [PAD] baseline scored 0.90. IG measures both; other methods measure F(input) only, so
the missing baseline scores are computed here, one forward pass per group of jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from textlens.attribution.registry import Job, RawAttribution
from textlens.attribution.runner import Runner, pad_rows


def with_baselines(runner: Runner, jobs: Sequence[Job], raws: Sequence[RawAttribution],
                   group: int = 64) -> list[RawAttribution]:
    """`raws` with `output` and `baseline_output` filled in where a method left them out."""
    missing = sorted((j for j, r in enumerate(raws) if r.output is None or r.baseline_output is None),
                     key=lambda j: len(jobs[j].encoded))
    out = list(raws)
    for start in range(0, len(missing), group):
        members = missing[start:start + group]
        inputs = [jobs[j].x for j in members]
        baselines = [runner.embed(jobs[j].baseline_ids) for j in members]
        types = [jobs[j].token_types for j in members]
        targets = [jobs[j].target for j in members]
        embeds, tt, mask = pad_rows(inputs + baselines, types + types)
        values = runner.scores(embeds, tt, targets + targets, mask).double().cpu().numpy()
        for r, j in enumerate(members):
            output = out[j].output if out[j].output is not None else float(values[r])
            baseline = out[j].baseline_output if out[j].baseline_output is not None \
                else float(values[len(members) + r])
            out[j] = replace(out[j], output=output, baseline_output=baseline)
    return out
