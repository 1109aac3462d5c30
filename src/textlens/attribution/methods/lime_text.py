"""LIME over words, through the `lime` library's LimeTextExplainer.

LIME samples texts with random sets of words removed (1 to N words, uniformly), weighs them by
an exponential kernel of their cosine distance to the input and fits a weighted ridge
regression; each word's coefficient is its score. LimeTextExplainer works on strings, so it is
handed a stand-in string of word ids ("w0 w1 ...") and the perturbed strings it makes are read
back as masks: the model then sees the real tokens with removed words as [PAD] in place
(`_perturb`), scored through the same batched passes as every method, never re-tokenised.
No completeness: the coefficients are a local linear fit, not held to F(input) - F(baseline).
`steps` is the number of model evaluations (`max_evals`, LIME's `num_samples`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from textlens.attribution.methods._perturb import (
    Words,
    check_budget,
    masked_scores,
    missing_extra,
)
from textlens.attribution.registry import Job, RawAttribution, register
from textlens.attribution.runner import Runner
from textlens.errors import InputError


@register("lime", "lime-text")
@dataclass(frozen=True)
class Lime:
    """`max_evals`: perturbed texts scored per explanation (LIME's num_samples; its own default
    is 5000, 500 here to match shap's budget); more than the number of words is needed to fit
    a weight per word. `seed`: LIME's random_state."""

    max_evals: int = 500
    seed: int = 0
    kernel_width: float = 25.0  # LimeTextExplainer's default
    name: ClassVar[str] = "lime"
    description: ClassVar[str] = ("LIME over words (lime library): weighted linear fit to texts "
                                  "with random words as [PAD]; max_evals budget, seeded.")
    needs_gold: ClassVar[bool] = False

    def __post_init__(self) -> None:
        check_budget("lime", self.max_evals, self.seed)
        try:
            import lime  # noqa: F401
        except ImportError as exc:
            raise missing_extra("lime", "lime", exc) from None

    def attribute(self, runner: Runner, jobs: Sequence[Job]) -> list[RawAttribution]:
        return [self._one(runner, job) for job in jobs]

    def _one(self, runner: Runner, job: Job) -> RawAttribution:
        from lime.lime_text import LimeTextExplainer

        words = Words.of(job.encoded)
        n = len(words)
        if n == 0:
            raise InputError("The input has no words to explain.", "pass a non-empty text.")
        if self.max_evals <= n:
            raise InputError(
                f"max_evals={self.max_evals} is too small for LIME on a text of {n} words: its "
                f"linear fit has a weight per word, so it needs more than {n} samples.",
                f"pass max_evals > {n} (CLI: --max-evals); a few times the word count is "
                "better.")
        ids = [f"w{i}" for i in range(n)]
        index = {w: i for i, w in enumerate(ids)}
        full: list[float] = []

        def classifier(texts: list[str]) -> np.ndarray:
            keep = np.zeros((len(texts), n), dtype=bool)
            for r, text in enumerate(texts):
                keep[r, [index[w] for w in text.split()]] = True
            values = masked_scores(runner, job, words, keep)
            full.append(float(values[0]))  # LIME's first sample is the input itself
            return np.stack([np.zeros_like(values), values], axis=1)

        explainer = LimeTextExplainer(kernel_width=self.kernel_width, split_expression=r"\s+",
                                      feature_selection="none", random_state=self.seed)
        found = explainer.explain_instance(" ".join(ids), classifier, labels=(1,),
                                           num_features=n, num_samples=self.max_evals)
        mapper = found.domain_mapper.indexed_string
        values = np.zeros(n)
        for feature, weight in found.local_exp[1]:
            values[index[mapper.word(feature)]] = weight
        return RawAttribution(words.spread(values, len(job.x)), self.max_evals, None, full[0])
