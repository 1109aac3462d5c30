"""What the perturbation methods (`shap`, `lime`) share: the words of an input, the model's
target score with some words masked, and word scores spread back onto tokens.

A word is what `aggregate.word_scores` calls one (the tokenizer's word ids, per text segment),
in the same order, so word `i` here is `Explanation.words[i]`. A masked word has every one of
its tokens replaced by the [PAD] embedding in place: positions do not move, nothing is
re-tokenised, and "every word masked" is exactly the [PAD] baseline F(baseline) that every
explanation reports. Masked inputs go through `Runner.scores`, the same batched passes and
head reading (`models.heads` probability, or logit) as every other method.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from textlens.attribution.encoding import Encoded
from textlens.attribution.registry import Job
from textlens.attribution.runner import Runner
from textlens.errors import InputError

# The libraries draw from NumPy's global generator (shap breaks priority ties with
# np.random.randn): one explanation at a time holds it, seeded, so results do not depend on
# how worker threads interleave.
_GLOBAL_RNG = threading.Lock()


@dataclass(frozen=True)
class Words:
    """Token positions of each word of one input, and the words as typed."""

    tokens: tuple[tuple[int, ...], ...]
    text: tuple[str, ...]
    token_word: np.ndarray  # (L,) word index of each token, -1 for special tokens

    def __len__(self) -> int:
        return len(self.tokens)

    @classmethod
    def of(cls, encoded: Encoded) -> Words:
        groups: dict[tuple[int, int], list[int]] = {}
        for t, (seg, word) in enumerate(zip(encoded.segments, encoded.word_ids, strict=True)):
            if seg is not None and word is not None:
                groups.setdefault((seg, word), []).append(t)
        token_word = np.full(len(encoded), -1)
        text = []
        for w, ((seg, _), toks) in enumerate(groups.items()):
            token_word[toks] = w
            start = min(encoded.offsets[t][0] for t in toks)
            end = max(encoded.offsets[t][1] for t in toks)
            text.append(encoded.texts[seg][start:end])
        return cls(tuple(tuple(t) for t in groups.values()), tuple(text), token_word)

    def spread(self, values: np.ndarray, length: int) -> np.ndarray:
        """Token scores from word scores: each word's score split evenly over its tokens, so
        the "sum" aggregation gives back the word's score and every total is kept."""
        out = np.zeros(length)
        for w, toks in enumerate(self.tokens):
            out[list(toks)] = values[w] / len(toks)
        return out


def masked_scores(runner: Runner, job: Job, words: Words, keep: np.ndarray) -> np.ndarray:
    """The job's target score for each row of `keep` (R, words): True keeps a word, False
    replaces its tokens by [PAD]. Special tokens are always kept."""
    import torch

    keep = np.asarray(keep, dtype=bool).reshape(-1, len(words))
    tokens = np.ones((len(keep), len(job.x)), dtype=bool)
    content = words.token_word >= 0
    tokens[:, content] = keep[:, words.token_word[content]]
    pad = runner.embed([runner.pad_id])[0]
    mask = torch.as_tensor(tokens, device=job.x.device)[..., None]
    embeds = torch.where(mask, job.x[None], pad)
    types = job.token_types[None].expand(len(keep), -1)
    return runner.scores(embeds, types, [job.target] * len(keep)).double().cpu().numpy()


@contextmanager
def seeded_global_rng(seed: int) -> Iterator[None]:
    """NumPy's global generator seeded for one explanation, restored afterwards."""
    with _GLOBAL_RNG:
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


def check_budget(name: str, max_evals: int, seed: int) -> None:
    if not isinstance(max_evals, int) or isinstance(max_evals, bool) or max_evals < 1:
        raise InputError(f"{name}: max_evals is {max_evals!r}.",
                         "pass a whole number of model evaluations, e.g. max_evals=500.")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InputError(f"{name}: seed is {seed!r}.", "pass a whole number, e.g. seed=0.")


def missing_extra(library: str, method: str, exc: ImportError) -> InputError:
    """One paragraph naming the extra that installs the optional library."""
    return InputError(
        f"method=\"{method}\" runs through the `{library}` library, which is not installed "
        f"({exc}). It is an optional dependency of textlens, kept out of the default install "
        "because the gradient methods do not need it.",
        f"install the extra: pip install 'textlens[explainers]' (or pip install {library}), "
        "then run the same command again.")
