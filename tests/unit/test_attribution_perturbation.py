"""`shap` and `lime` against the libraries' own text pipelines on a tiny random BERT.

The references hand the libraries real strings (shap's Text masker, LimeTextExplainer) and a
model function that re-tokenises what they make, with "[PAD]" as the mask: on a text whose
words are one token each that is the same input textlens builds in place, so the values must
agree to float rounding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textlens.attribution import explain
from textlens.errors import InputError

shap = pytest.importorskip("shap")
lime_text = pytest.importorskip("lime.lime_text")

TEXT = "the cat sat on the mat"  # every word one MiniLM token


@pytest.fixture
def sharp(make_tiny):
    loaded = make_tiny("classification", seed=3)
    with torch.no_grad():
        # A random BERT barely moves its pooled vector between inputs: a steep head makes word
        # effects on the logit ~0.1 (the probability saturates), so the comparisons below,
        # on the logit, are not won by tiny values.
        loaded.model.classifier.weight.mul_(3000.0)
    return loaded


def _logits(loaded, texts: list[str], cls: int) -> np.ndarray:
    enc = loaded.tokenizer(list(texts), padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = loaded.model(**enc).logits
    return logits[:, cls].numpy().astype(np.float64)


def _one_token_words(loaded) -> None:
    ids = loaded.tokenizer(TEXT)["input_ids"]
    assert len(ids) == len(TEXT.split()) + 2


def test_shap_matches_the_shap_text_masker_pipeline(sharp) -> None:
    _one_token_words(sharp)
    [ours] = explain([TEXT], model=sharp, method="shap", score="logit", progress=False)
    cls = ours.target_index
    masker = shap.maskers.Text(sharp.tokenizer, mask_token="[PAD]", collapse_mask_token=False)
    np.random.seed(0)
    ref = shap.explainers.Partition(lambda t: _logits(sharp, list(t), cls), masker)(
        [TEXT], max_evals=500, silent=True)
    ref_values = ref.values[0][1:-1]  # the masker's [CLS] and [SEP] slots score 0
    assert max(abs(v) for v in ref_values) > 0.05
    np.testing.assert_allclose(ours.word_scores, ref_values, rtol=1e-3, atol=1e-5)
    assert ours.steps > 0
    # Owen values add up to F(input) - F([PAD] baseline), computed here independently.
    pads = "[PAD] " * len(TEXT.split())
    full, base = _logits(sharp, [TEXT, pads.strip()], cls)
    assert abs(sum(ours.word_scores) - (full - base)) < 1e-4
    assert ours.completeness_error < 1e-4


def test_lime_matches_lime_text_explainer_on_strings(sharp) -> None:
    _one_token_words(sharp)
    [ours] = explain([TEXT], model=sharp, method="lime", score="logit", max_evals=200, seed=7,
                     progress=False)
    cls = ours.target_index
    explainer = lime_text.LimeTextExplainer(bow=False, mask_string="[PAD]",
                                            split_expression=r"\s+", feature_selection="none",
                                            random_state=7)
    found = explainer.explain_instance(
        TEXT, lambda t: np.stack([np.zeros(len(t)), _logits(sharp, list(t), cls)], 1),
        labels=(1,), num_features=6, num_samples=200)
    ref = dict(found.local_exp[1])
    assert max(abs(v) for v in ref.values()) > 0.05
    np.testing.assert_allclose(ours.word_scores, [ref[i] for i in range(6)], rtol=1e-3, atol=1e-5)
    assert ours.steps == 200 and ours.completeness_error is None


def test_seeded_and_budget_checked(sharp) -> None:
    a = explain(["not bad at all, really"], model=sharp, method="lime", max_evals=60,
                progress=False)
    b = explain(["not bad at all, really"], model=sharp, method="lime", max_evals=60,
                progress=False)
    c = explain(["not bad at all, really"], model=sharp, method="lime", max_evals=60, seed=1,
                progress=False)
    assert a[0].word_scores == b[0].word_scores != c[0].word_scores
    with pytest.raises(InputError, match="too small for partition SHAP"):
        explain([TEXT], model=sharp, method="shap", max_evals=5, progress=False)
    with pytest.raises(InputError, match="too small for LIME"):
        explain([TEXT], model=sharp, method="lime", max_evals=6, progress=False)
    with pytest.raises(InputError, match="max_evals"):
        explain([TEXT], model=sharp, method="shap", max_evals=0, progress=False)


def test_shap_explains_qa_start_and_end(tiny_qa) -> None:
    [exp] = explain([("who sat?", "the cat sat on the mat")], model=tiny_qa, method="shap",
                    progress=False)
    for part in exp.parts:
        assert part.completeness_error < 1e-4
        assert abs(part.attribution_score - (part.output - part.baseline_output)) < 1e-4


def test_missing_library_names_the_extra(monkeypatch) -> None:
    import sys

    from textlens.attribution import get_method

    monkeypatch.setitem(sys.modules, "shap", None)
    with pytest.raises(InputError) as err:
        get_method("shap")
    assert "textlens[explainers]" in (err.value.fix or "")
