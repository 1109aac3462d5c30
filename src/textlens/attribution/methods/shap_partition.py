"""Partition SHAP over words, through the `shap` library's Partition explainer.

Owen values on shap's own text hierarchy (`shap.maskers._text.partition_tree`, the tree its
Text masker builds from the words and punctuation): the values add up to F(input) - F(baseline)
exactly, whatever the budget (an unexpanded group shares its credit evenly), so the completeness
error is reported as for IG. A masked word is [PAD] in place (`_perturb`), so F(baseline) is the
same [PAD] baseline every explanation reports. `steps` is the number of model evaluations.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from textlens.attribution.methods._perturb import (
    Words,
    check_budget,
    masked_scores,
    missing_extra,
    seeded_global_rng,
)
from textlens.attribution.registry import Job, RawAttribution, register
from textlens.attribution.runner import Runner
from textlens.errors import InputError


@register("shap", "partition-shap", "partition_shap")
@dataclass(frozen=True)
class PartitionShap:
    """`max_evals`: model evaluations per explanation (shap's default, 500); a sentence of N
    words needs at least 2N to split its tree down to every word. `seed`: shap breaks
    priority ties at random."""

    max_evals: int = 500
    seed: int = 0
    name: ClassVar[str] = "shap"
    description: ClassVar[str] = ("Partition SHAP over words (shap library; Owen values on its "
                                  "text hierarchy), [PAD] as the masked word; max_evals budget.")
    needs_gold: ClassVar[bool] = False

    def __post_init__(self) -> None:
        check_budget("shap", self.max_evals, self.seed)
        try:
            import shap  # noqa: F401
        except ImportError as exc:
            raise missing_extra("shap", "shap", exc) from None

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        return [self._one(runner, job) for job in jobs]

    def _one(self, runner: Runner, job: Job) -> RawAttribution:
        import shap
        from shap.maskers._text import partition_tree

        words = Words.of(job.encoded)
        if len(words) == 0:
            raise InputError("The input has no words to explain.", "pass a non-empty text.")
        if self.max_evals < 2 * len(words):
            raise InputError(
                f"max_evals={self.max_evals} is too small for partition SHAP on a text of "
                f"{len(words)} words: it needs at least {2 * len(words)} model evaluations "
                "(2 per word) to split the text down to every word.",
                f"pass max_evals >= {2 * len(words)} (CLI: --max-evals), or explain shorter "
                "texts.")
        evaluations = [0]
        full: list[float] = []  # F(input), as shap's own evaluation of the unmasked text gave it

        def model(rows: np.ndarray) -> np.ndarray:
            evaluations[0] += len(rows)
            values = masked_scores(runner, job, words, rows >= 0)
            full.extend(values[(rows >= 0).all(axis=1)][:1])
            return values

        masker = _WordMasker(partition_tree(list(words.text), []) if len(words) > 1
                             else np.zeros((0, 4)), len(words))
        explainer = shap.explainers.Partition(model, masker)
        with seeded_global_rng(self.seed):
            found = explainer(np.arange(len(words))[None, :], max_evals=self.max_evals,
                              silent=True)
        values = np.asarray(found.values[0], dtype=np.float64)
        base = float(np.asarray(found.base_values).reshape(-1)[0])
        gap = full[0] - base
        error = abs(values.sum() - gap) / max(abs(gap), 1e-12)
        return RawAttribution(words.spread(values, len(job.x)), evaluations[0], float(error),
                              full[0], base)


class _WordMasker:
    """A shap masker over word indices: a masked word becomes -1, which `masked_scores` turns
    into [PAD] tokens. `clustering` is the word hierarchy the Partition explainer walks."""

    def __init__(self, clustering: np.ndarray, n_words: int) -> None:
        self.clustering = clustering
        self.shape = (1, n_words)

    def __call__(self, mask: np.ndarray, x: np.ndarray) -> tuple[Any, ...]:
        return (np.where(mask, x, -1)[None, :],)
