"""Is an explanation faithful to the model? Two checks.

- ERASER comprehensiveness and sufficiency (DeYoung et al., 2020): delete the top k% tokens by
  attribution and measure how much the predicted class probability drops (comprehensiveness,
  higher is better), or keep only them (sufficiency, lower is better); AOPC averages over
  k in 1, 5, 10, 20, 50%. A random ranking of the same tokens is the baseline to beat.
- Model randomisation (Adebayo et al., 2018): re-initialise the classifier's weights and
  attribute again; a method whose attributions barely change (high rank correlation) explains
  the input, not the model.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from textlens.attribution.api import explain
from textlens.attribution.explanation import Explanation
from textlens.models.loading import LoadedModel, ensure_loaded

FRACTIONS = (0.01, 0.05, 0.10, 0.20, 0.50)


MIN_TEXTS_FOR_INTERVAL = 10  # fewer texts: the AOPC is shown without an interval, and says so


@dataclass(frozen=True)
class ErasureScores:
    """Per text and fraction (`per_text_*`: texts x fractions, the probability drop), their
    means over texts per fraction, and the AOPC (mean over fractions) with a 95% bootstrap
    interval over texts."""

    method: str
    fractions: tuple[float, ...]
    per_text_comprehensiveness: np.ndarray
    per_text_sufficiency: np.ndarray

    @property
    def comprehensiveness(self) -> dict[float, float]:
        return dict(zip(self.fractions, map(float, self.per_text_comprehensiveness.mean(0)),
                        strict=True))

    @property
    def sufficiency(self) -> dict[float, float]:
        return dict(zip(self.fractions, map(float, self.per_text_sufficiency.mean(0)),
                        strict=True))

    @property
    def aopc_comprehensiveness(self) -> float:
        return float(self.per_text_comprehensiveness.mean())

    @property
    def aopc_sufficiency(self) -> float:
        return float(self.per_text_sufficiency.mean())

    def to_dict(self) -> dict:
        return {"method": self.method,
                "comprehensiveness": {str(k): v for k, v in self.comprehensiveness.items()},
                "sufficiency": {str(k): v for k, v in self.sufficiency.items()},
                "aopc_comprehensiveness": self.aopc_comprehensiveness,
                "aopc_comprehensiveness_ci95": interval(self.per_text_comprehensiveness.mean(1)),
                "aopc_sufficiency": self.aopc_sufficiency,
                "aopc_sufficiency_ci95": interval(self.per_text_sufficiency.mean(1)),
                "texts": int(len(self.per_text_comprehensiveness))}


def interval(per_text: np.ndarray, seed: int = 0) -> list[float] | None:
    """95% bootstrap (BCa, scipy) interval of the mean over texts; None for too few texts."""
    from scipy.stats import bootstrap

    values = np.asarray(per_text, dtype=float)
    if len(values) < MIN_TEXTS_FOR_INTERVAL or np.ptp(values) == 0:
        return None
    found = bootstrap((values,), np.mean, confidence_level=0.95, n_resamples=2000,
                      random_state=seed).confidence_interval
    return [float(found.low), float(found.high)]


def _probabilities(model: LoadedModel, sequences: list[list[int]], classes: list[int],
                   batch_size: int = 64) -> np.ndarray:
    """Probability of `classes[i]` for each id sequence (padded in length-sorted batches), as
    the head reads it (`models.heads`: softmax, sigmoid, one logit as two classes)."""
    import torch

    from textlens.models.heads import head_kind, probabilities

    head = head_kind(model.model.config)

    out = np.zeros(len(sequences))
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            batch = order[s:s + batch_size]
            padded = model.tokenizer.pad({"input_ids": [sequences[i] for i in batch]},
                                         return_tensors="pt").to(model.device)
            logits = model.model(**padded).logits.float()
            probs = probabilities(logits.cpu().numpy(), head)
            for r, i in enumerate(batch):
                out[i] = probs[r, classes[i]]
    return out


def erasure(model: LoadedModel, explanations: Sequence[Explanation], method: str,
            rankings: Sequence[Sequence[int]] | None = None,
            fractions: Sequence[float] = FRACTIONS) -> ErasureScores:
    """Comprehensiveness/sufficiency; `rankings` (token positions, most important first)
    overrides the explanations' own ranking (used for the random baseline)."""
    tok = model.tokenizer
    sequences, classes, owners = [], [], []
    full = []
    for n, exp in enumerate(explanations):
        ids = tok.convert_tokens_to_ids(list(exp.tokens))
        content = [i for i, s in enumerate(exp.segments) if s is not None]
        rank = list(rankings[n]) if rankings is not None else sorted(
            content, key=lambda i: -exp.scores[i])
        label = exp.target_index
        full.append(len(sequences))
        sequences.append(ids)
        classes.append(label)
        owners.append((n, None, None))
        for f in fractions:
            top = set(rank[:max(1, math.ceil(f * len(content)))])
            removed = [t for i, t in enumerate(ids) if i not in top]
            kept = [t for i, t in enumerate(ids) if i in top or exp.segments[i] is None]
            for kind, seq in (("comp", removed), ("suff", kept)):
                sequences.append(seq)
                classes.append(label)
                owners.append((n, f, kind))
    probs = _probabilities(model, sequences, classes)
    base = {owners[i][0]: probs[i] for i in full}
    column = {f: c for c, f in enumerate(fractions)}
    comp = np.zeros((len(explanations), len(fractions)))
    suff = np.zeros((len(explanations), len(fractions)))
    for i, (n, f, kind) in enumerate(owners):
        if f is not None:
            (comp if kind == "comp" else suff)[n, column[f]] = base[n] - probs[i]
    return ErasureScores(method, tuple(fractions), comp, suff)


def random_rankings(explanations: Sequence[Explanation], seed: int = 0) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    out = []
    for exp in explanations:
        content = [i for i, s in enumerate(exp.segments) if s is not None]
        out.append([content[i] for i in rng.permutation(len(content))])
    return out


def randomised_copy(model: LoadedModel, seed: int = 0) -> LoadedModel:
    """The same architecture with every weight re-initialised (its own init scheme)."""
    import torch

    clone = copy.deepcopy(model.model)
    torch.manual_seed(seed)
    clone.apply(clone._init_weights)
    clone.eval()
    return LoadedModel(clone, model.tokenizer, model.task, model.label_names, model.device,
                       f"{model.source} (randomised)")


def rank_correlation(a: Sequence[Explanation], b: Sequence[Explanation]) -> float:
    """Mean Spearman correlation of content-token scores between paired explanations."""
    from scipy.stats import spearmanr

    values = []
    for x, y in zip(a, b, strict=True):
        idx = [i for i, s in enumerate(x.segments) if s is not None]
        if len(idx) < 3:
            continue
        rho = spearmanr([x.scores[i] for i in idx], [y.scores[i] for i in idx]).statistic
        if not np.isnan(rho):
            values.append(float(rho))
    return float(np.mean(values)) if values else float("nan")


def explain_same_targets(model: LoadedModel, explanations: Sequence[Explanation], method: str,
                         **options) -> list[Explanation]:
    """Attribute the same class indices as `explanations` did, with another model."""
    out: list[Explanation | None] = [None] * len(explanations)
    for cls in sorted({e.target_index for e in explanations}):
        idx = [i for i, e in enumerate(explanations) if e.target_index == cls]
        results = explain([explanations[i].text for i in idx], model=model, method=method,
                          target=cls, progress=False, **options)
        for i, r in zip(idx, results, strict=True):
            out[i] = r  # type: ignore[assignment]
    return [e for e in out if e is not None]


def available_methods() -> list[str]:
    """Every registered method that needs no gold labels and whose optional library is
    installed (shap and lime come with the `explainers` extra)."""
    from textlens.attribution.registry import _REGISTRY, get_method, list_methods
    from textlens.errors import TextlensError

    names = []
    for name in list_methods():
        if _REGISTRY[name].needs_gold:
            continue
        try:
            get_method(name)
        except TextlensError:
            continue
        names.append(name)
    return names


def run_faithfulness(model: LoadedModel | str | Path, texts: Sequence[str],
                     methods: Sequence[str] | None = None, seed: int = 0,
                     fractions: Sequence[float] = FRACTIONS) -> dict:
    """Every method on the same texts: erasure scores (AOPC with 95% intervals over texts)
    plus a random ranking, each method's rank correlation with itself on a randomised copy of
    the model, seconds and model evaluations per text. JSON-able. `model`: a classifier
    directory, hub id or `LoadedModel`; `methods` default to every available one
    (`available_methods`) and are checked before any work."""
    import time

    from textlens.attribution.registry import get_method
    from textlens.progress import track

    model = ensure_loaded(model, task="classification")
    methods = list(methods) if methods else available_methods()
    for method in methods:
        get_method(method)
    randomised = randomised_copy(model, seed)
    rows = []
    first: list[Explanation] | None = None
    for method in track(list(methods), "Faithfulness (methods)"):
        start = time.perf_counter()
        exps = explain(list(texts), model=model, method=method, progress=False)
        seconds = time.perf_counter() - start
        assert all(isinstance(e, Explanation) for e in exps)
        first = first or exps  # type: ignore[assignment]
        row = erasure(model, exps, method, fractions=fractions).to_dict()  # type: ignore[arg-type]
        # On a random model IG's output barely moves, so its step cap is lowered there.
        extra = {"max_steps": 64} if get_method(method).name == "ig" else {}
        shuffled = explain_same_targets(randomised, exps, method,  # type: ignore[arg-type]
                                        **extra)
        row["randomisation_spearman"] = rank_correlation(exps, shuffled)  # type: ignore[arg-type]
        row["explain_seconds"] = seconds
        row["seconds_per_text"] = seconds / max(1, len(exps))
        row["evaluations_per_text"] = float(np.mean([e.steps for e in exps]))  # type: ignore[union-attr]
        errors = [e.completeness_error for e in exps if e.completeness_error is not None]  # type: ignore[union-attr]
        if errors:
            row["completeness_error_median"] = float(np.median(errors))
            row["completeness_error_max"] = float(np.max(errors))
        conservation = [e.conservation_error for e in exps  # type: ignore[union-attr]
                        if e.conservation_error is not None]  # type: ignore[union-attr]
        if conservation:
            row["conservation_error_median"] = float(np.median(conservation))
        rows.append(row)
    if first is not None:
        rows.append(erasure(model, first, "random", random_rankings(first, seed),
                            fractions).to_dict())
    return {"methods": rows, "fractions": list(fractions),
            "note": ("AOPC: mean over texts of the mean drop in the explained class's "
                     "probability over the fractions of tokens deleted (comprehensiveness: the "
                     "top-scored deleted, higher is better; sufficiency: only they kept, lower "
                     "is better); ci95: bootstrap over texts, none under "
                     f"{MIN_TEXTS_FOR_INTERVAL} texts. Seconds are wall time on this machine.")}
