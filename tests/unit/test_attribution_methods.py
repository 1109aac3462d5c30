"""Each attribution method against a direct computation on a tiny random BERT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textlens.attribution import explain, get_method, list_methods
from textlens.attribution.explanation import Explanation, MultiExplanation, QAExplanation
from textlens.errors import InputError

TEXTS = ["a gripping, unbelievably good film", "dull", "not bad at all, really"]


@pytest.fixture
def sharp_classifier(tiny_classifier):
    """The tiny classifier with a scaled head, so outputs move far from 0.5 (real IG work)."""
    with torch.no_grad():
        tiny_classifier.model.classifier.weight.mul_(40.0)
    return tiny_classifier


def _probability(loaded, ids: list[int], cls: int) -> float:
    with torch.no_grad():
        logits = loaded.model(input_ids=torch.tensor([ids])).logits
    return float(torch.softmax(logits, -1)[0, cls])


def test_registry_lists_every_method_with_a_line() -> None:
    methods = list_methods()
    assert {"ig", "gradient-x-input", "saliency", "occlusion", "loss"} <= set(methods)
    assert all(isinstance(line, str) and line for line in methods.values())
    assert get_method("integrated_gradients").name == "ig"
    with pytest.raises(InputError, match="Unknown attribution method"):
        get_method("deeplift")
    with pytest.raises(InputError, match="takes no option"):
        get_method("saliency", steps=3)


def test_ig_completeness_adaptive_versus_fixed(sharp_classifier) -> None:
    adaptive = explain(TEXTS, model=sharp_classifier, progress=False)
    coarse = explain(TEXTS, model=sharp_classifier, steps=2, progress=False)
    for exp in adaptive:
        assert isinstance(exp, Explanation)
        assert exp.completeness_error <= 0.01
        assert abs(exp.attribution_score - (exp.output - exp.baseline_output)) <= 0.011 * abs(
            exp.output - exp.baseline_output) + 1e-6
    assert max(e.completeness_error for e in coarse) > max(e.completeness_error
                                                             for e in adaptive)


def test_ig_agrees_with_a_dense_trapezoid_reference(sharp_classifier) -> None:
    ours = explain(TEXTS, model=sharp_classifier, progress=False)
    ref = explain(TEXTS, model=sharp_classifier, steps=200, rule="trapezoid", progress=False)
    for a, b in zip(ours, ref, strict=True):
        assert np.corrcoef(a.scores, b.scores)[0, 1] > 0.99


def test_batching_and_padding_do_not_change_results(sharp_classifier) -> None:
    together = explain(TEXTS, model=sharp_classifier, method="gxi", progress=False)
    for text, exp in zip(TEXTS, together, strict=True):
        (alone,) = explain([text], model=sharp_classifier, method="gxi", progress=False)
        assert np.allclose(exp.scores, alone.scores, atol=1e-5, rtol=1e-3)


def test_occlusion_is_leave_one_out(sharp_classifier) -> None:
    (exp,) = explain(["quite a good movie"], model=sharp_classifier, method="occlusion",
                     progress=False)
    ids = sharp_classifier.tokenizer("quite a good movie")["input_ids"]
    cls = exp.target_index
    full = _probability(sharp_classifier, ids, cls)
    for t in range(1, len(ids) - 1):
        dropped = ids[:t] + [sharp_classifier.tokenizer.pad_token_id] + ids[t + 1:]
        assert exp.scores[t] == pytest.approx(full - _probability(sharp_classifier, dropped,
                                                                   cls), abs=1e-5)
    assert exp.scores[0] == 0.0 and exp.scores[-1] == 0.0


def test_gradient_x_input_and_loss_match_autograd(sharp_classifier) -> None:
    model = sharp_classifier.model
    ids = torch.tensor([sharp_classifier.tokenizer("quite a good movie")["input_ids"]])
    emb = model.get_input_embeddings()(ids).detach().requires_grad_(True)
    logits = model(inputs_embeds=emb).logits
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor([0]))
    (grad,) = torch.autograd.grad(loss, emb)
    expected = (grad * emb).sum(-1)[0].detach().numpy()
    (exp,) = explain(["quite a good movie"], model=sharp_classifier, method="loss", labels=[0],
                     progress=False)
    assert np.allclose(exp.scores, expected, atol=1e-5, rtol=1e-3)
    assert all(p.requires_grad for p in model.parameters())  # weights unfrozen afterwards
    with pytest.raises(InputError, match="ground truth"):
        explain(["x"], model=sharp_classifier, method="loss", progress=False)


def test_saliency_is_unsigned(sharp_classifier) -> None:
    (exp,) = explain(["quite a good movie"], model=sharp_classifier, method="saliency",
                     progress=False)
    assert min(exp.scores) >= 0 and max(exp.scores) > 0


def test_classification_targets(sharp_classifier) -> None:
    (top2,) = explain(["a good film"], model=sharp_classifier, target="top-2", progress=False)
    assert isinstance(top2, MultiExplanation)
    first = top2.parts[0]
    assert first.label == ("negative", "positive")[first.target_index]  # predicted class first
    assert {p.target_index for p in top2.parts} == {0, 1}
    (neg,) = explain(["a good film"], model=sharp_classifier, target="negative", score="logit",
                     progress=False)
    assert neg.target_index == 0 and "logit" in neg.target
    with pytest.raises(InputError, match="Unknown target"):
        explain(["a good film"], model=sharp_classifier, target="neutral", progress=False)


def test_qa_start_end_and_gold(tiny_qa) -> None:
    pair = ("Who went home?", "Bob went home after the long game.")
    (exp,) = explain([pair], model=tiny_qa, progress=False)
    assert isinstance(exp, QAExplanation)
    assert exp.start is not None and exp.end is not None
    assert exp.answer == pair[1][exp.answer_span[0]:exp.answer_span[1]]
    assert len(exp.start.scores) == len(exp.end.scores) == len(exp.start.tokens)
    (gold,) = explain([pair], model=tiny_qa, target="gold", answers=[(0, 3)], parts="start",
                      progress=False)
    assert gold.end is None and gold.start is not None and "gold" in gold.start.target
    (loss,) = explain([pair], model=tiny_qa, method="loss", answers=[(0, 3)], progress=False)
    assert loss.start.method == "loss" and loss.gold_span == (0, 3)
    d = loss.to_dict()
    assert {"answer", "tokens", "scores", "words", "word_scores"} <= set(d["start"])


def test_methods_live_in_the_methods_package_and_state_their_contract() -> None:
    import importlib
    import pkgutil

    from textlens.attribution import methods
    from textlens.attribution.registry import AttributionMethod, register

    modules = {m.name for m in pkgutil.iter_modules(methods.__path__) if not m.name.startswith("_")}
    built = {name: get_method(name) for name in list_methods()}
    # One method a module, each found through the registry, none registered from elsewhere.
    assert {type(m).__module__.rsplit(".", 1)[-1] for m in built.values()} == modules
    assert all(type(m).__module__.startswith("textlens.attribution.methods.")
               for m in built.values())
    for name, method in built.items():
        assert isinstance(method, AttributionMethod)
        assert isinstance(method.needs_gold, bool)
        assert method.needs_gold == (name == "loss")
    assert importlib.import_module("textlens.attribution.methods.loss_attribution")

    class Incomplete:  # no needs_gold, no attribute()
        name = "incomplete"
        description = "lacks the contract"

    with pytest.raises(TypeError, match="needs_gold, attribute"):
        register("incomplete")(Incomplete)
    assert "incomplete" not in list_methods()
