"""lrp, shap and lime on the fine-tuned MiniLM with real SST-2 sentences (skips without them):
each beats a random ranking on comprehensiveness, shap's values add up to F(input) -
F(baseline), and lrp reports its conservation."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.attribution import explain
from textlens.attribution.faithfulness import erasure, random_rankings
from textlens.config import models_cache_dir

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model():
    from textlens.models.loading import load_model

    path = models_cache_dir() / "sentiment-minilm"
    if not (path / "config.json").exists():
        pytest.skip(f"fine-tuned model not found at {path}")
    return load_model(path, device="cpu")


@pytest.fixture(scope="module")
def texts(data_dir) -> list[str]:
    from textlens.data import load_dataset

    return [ex.text for ex in load_dataset("sst2", "validation", data_dir=data_dir)][:8]


@pytest.mark.parametrize("method,options", [("lrp", {}), ("shap", {"max_evals": 300}),
                                            ("lime", {"max_evals": 200})])
def test_new_methods_beat_a_random_ranking(model, texts, method, options) -> None:
    exps = explain(texts, model=model, method=method, progress=False, **options)
    ours = erasure(model, exps, method).aopc_comprehensiveness
    chance = erasure(model, exps, "random", random_rankings(exps, 0)).aopc_comprehensiveness
    assert ours > chance + 0.1, (ours, chance)
    for exp in exps:
        if method == "shap":
            assert exp.completeness_error < 1e-3
        if method == "lrp":
            assert exp.target.startswith("logit") and np.isfinite(exp.conservation_error)
