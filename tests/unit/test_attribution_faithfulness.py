"""Faithfulness metrics against an independent computation written from their definitions.

ERASER (DeYoung et al., 2020): for each text and fraction f, the top ceil(f * n) content tokens
by score are deleted (comprehensiveness) or alone kept with the special tokens
(sufficiency); the value is the drop in the explained class's probability. Here each
perturbed id list goes through the model one at a time, unpadded, with no textlens code.
ferret-xai's evaluators are compared on the demo model in bench/faithfulness_reference.py (ferret
pins transformers < 5 and numpy < 2, so it is not a test dependency)."""

from __future__ import annotations

import math

import numpy as np
import torch

from textlens.attribution import explain
from textlens.attribution.faithfulness import (
    FRACTIONS,
    MIN_TEXTS_FOR_INTERVAL,
    available_methods,
    erasure,
    run_faithfulness,
)

TEXTS = ["a gripping, unbelievably good film", "not bad at all, really",
         "the plot is thin and the acting wooden", "dull"]


def _probability(loaded, ids: list[int], cls: int) -> float:
    with torch.no_grad():
        logits = loaded.model(input_ids=torch.tensor([ids])).logits
    return float(torch.softmax(logits, -1)[0, cls])


def _reference(loaded, exp) -> tuple[np.ndarray, np.ndarray]:
    ids = loaded.tokenizer(exp.text)["input_ids"]
    content = list(range(1, len(ids) - 1))
    ranked = sorted(content, key=lambda i: (-exp.scores[i], i))
    full = _probability(loaded, ids, exp.target_index)
    comp, suff = [], []
    for f in FRACTIONS:
        top = set(ranked[:max(1, math.ceil(f * len(content)))])
        removed = [t for i, t in enumerate(ids) if i not in top]
        kept = [t for i, t in enumerate(ids) if i in top or i in (0, len(ids) - 1)]
        comp.append(full - _probability(loaded, removed, exp.target_index))
        suff.append(full - _probability(loaded, kept, exp.target_index))
    return np.array(comp), np.array(suff)


def test_erasure_matches_the_definition(make_tiny) -> None:
    loaded = make_tiny("classification", seed=4)
    with torch.no_grad():
        loaded.model.classifier.weight.mul_(200.0)
    exps = explain(TEXTS, model=loaded, method="gxi", progress=False)
    scores = erasure(loaded, exps, "gxi")
    for n, exp in enumerate(exps):
        comp, suff = _reference(loaded, exp)
        np.testing.assert_allclose(scores.per_text_comprehensiveness[n], comp, atol=2e-6)
        np.testing.assert_allclose(scores.per_text_sufficiency[n], suff, atol=2e-6)
    assert np.abs(scores.per_text_comprehensiveness).max() > 1e-3
    row = scores.to_dict()
    assert row["aopc_comprehensiveness"] == scores.per_text_comprehensiveness.mean()
    assert row["aopc_comprehensiveness_ci95"] is None  # 4 texts: too few for an interval


def test_run_faithfulness_every_method_with_intervals(make_tiny) -> None:
    loaded = make_tiny("classification", seed=4)
    with torch.no_grad():
        loaded.model.classifier.weight.mul_(200.0)
    methods = available_methods()
    assert {"ig", "lrp", "shap", "lime", "occlusion"} <= set(methods) and "loss" not in methods
    texts = [f"{w} film, {v} plot" for w in ("good", "bad", "dull", "fine")
             for v in ("thin", "rich", "odd")][:MIN_TEXTS_FOR_INTERVAL]
    result = run_faithfulness(loaded, texts, ["gradient-x-input", "lrp", "lime"])
    rows = {row["method"]: row for row in result["methods"]}
    assert set(rows) == {"gradient-x-input", "lrp", "lime", "random"}
    for name in ("gradient-x-input", "lrp", "lime"):
        row = rows[name]
        low, high = row["aopc_comprehensiveness_ci95"]
        assert low <= row["aopc_comprehensiveness"] <= high
        assert row["seconds_per_text"] > 0 and row["evaluations_per_text"] >= 1
    assert rows["lime"]["evaluations_per_text"] == 500
    assert "conservation_error_median" in rows["lrp"]
