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
        # Only the rows a method left out: most measure F(input) themselves, so one forward
        # row a job (the baseline) instead of two.
        rows = [(j, "output") for j in members if out[j].output is None] + \
            [(j, "baseline") for j in members if out[j].baseline_output is None]
        embeds, tt, mask = pad_rows(
            [jobs[j].x if kind == "output" else runner.embed(jobs[j].baseline_ids)
             for j, kind in rows], [jobs[j].token_types for j, _ in rows])
        values = runner.scores(embeds, tt, [jobs[j].target for j, _ in rows],
                               mask).double().cpu().numpy()
        found: dict[tuple[int, str], float] = {row: float(v) for row, v in
                                               zip(rows, values, strict=True)}
        for j in members:
            out[j] = replace(out[j], output=found.get((j, "output"), out[j].output),
                             baseline_output=found.get((j, "baseline"), out[j].baseline_output))
    return out
