"""Attribution on the real MiniLM with real data: completeness, agreement with Captum, QA.

Uses the fine-tuned models under $TEXTLENS_CACHE/models (default ~/.cache/textlens/models)
when present (skips otherwise);
the Captum agreement check also runs on the base MiniLM with a seeded fresh head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textlens.attribution import explain
from textlens.config import models_cache_dir

pytestmark = pytest.mark.integration


def _model(name: str):
    from textlens.models.loading import load_model

    path = models_cache_dir() / name
    if not (path / "config.json").exists():
        pytest.skip(f"fine-tuned model not found at {path}")
    return load_model(path, device="cpu")


@pytest.fixture(scope="module")
def sst2_texts(data_dir) -> list[str]:
    from textlens.data import load_dataset

    return [ex.text for ex in load_dataset("sst2", "validation", data_dir=data_dir)][:6]


def test_adaptive_ig_is_complete_on_the_fine_tuned_classifier(sst2_texts) -> None:
    model = _model("sentiment-minilm")
    exps = explain(sst2_texts, model=model, progress=False)
    for exp in exps:
        assert exp.completeness_error <= 0.01, (exp.text, exp.completeness_error, exp.steps)
        assert exp.steps <= 256


def _captum(loaded, text: str, target: int, steps: int = 50) -> np.ndarray:
    from captum.attr import LayerIntegratedGradients

    from textlens.attribution.encoding import encode

    model = loaded.model

    def forward(ids):
        return torch.softmax(model(input_ids=ids).logits, -1)[:, target]

    enc = encode(loaded, text)
    ids = torch.tensor([enc.input_ids])
    base = torch.tensor([enc.baseline_ids(loaded.tokenizer.pad_token_id)])
    lig = LayerIntegratedGradients(forward, model.get_input_embeddings())
    attr = lig.attribute(ids, base, n_steps=steps, method="gausslegendre")
    return attr.sum(-1)[0].detach().numpy()


def test_agrees_with_captum_layer_integrated_gradients(sst2_texts) -> None:
    from textlens.models.loading import new_model

    path = models_cache_dir() / "sentiment-minilm"
    if (path / "config.json").exists():
        loaded = _model("sentiment-minilm")
    else:
        torch.manual_seed(0)
        loaded = new_model("classification", label_names=("negative", "positive"), device="cpu")
        loaded.model.eval()
    texts = sst2_texts[:3]
    fixed = explain(texts, model=loaded, steps=50, progress=False)
    adaptive = explain(texts, model=loaded, progress=False)
    for text, exp, ada in zip(texts, fixed, adaptive, strict=True):
        ref = _captum(loaded, text, exp.target_index)
        assert np.corrcoef(exp.scores, ref)[0, 1] >= 0.99
        assert np.corrcoef(ada.scores, ref)[0, 1] >= 0.99


def test_one_logit_head_agrees_with_captum_on_the_sigmoid(sst2_texts) -> None:
    """A one-logit head on the base MiniLM (seeded fresh head): scores are nonzero, complete,
    and match Captum's LayerIntegratedGradients of sigmoid(z) (1 - sigmoid(z) when z < 0)."""
    from captum.attr import LayerIntegratedGradients

    from textlens.attribution.encoding import encode
    from textlens.models.loading import new_model

    torch.manual_seed(0)
    loaded = new_model("classification", label_names=("positive",), device="cpu")
    loaded.model.eval()
    texts = sst2_texts[:3]
    for text, exp in zip(texts, explain(texts, model=loaded, steps=50, progress=False),
                         strict=True):
        sign = 1.0 if exp.target_index == 1 else -1.0
        enc = encode(loaded, text)
        ids = torch.tensor([enc.input_ids])
        base = torch.tensor([enc.baseline_ids(loaded.tokenizer.pad_token_id)])
        lig = LayerIntegratedGradients(
            lambda x, s=sign: torch.sigmoid(s * loaded.model(input_ids=x).logits[:, 0]),
            loaded.model.get_input_embeddings())
        ref = lig.attribute(ids, base, n_steps=50, method="gausslegendre").sum(-1)[0]
        assert max(abs(v) for v in exp.scores) > 0
        assert np.corrcoef(exp.scores, ref.detach().numpy())[0, 1] >= 0.99
        assert exp.completeness_error <= 0.01


def test_qa_start_and_end_are_complete(data_dir) -> None:
    from textlens.data import load_dataset

    model = _model("squad-minilm")
    examples = list(load_dataset("squad", "validation", data_dir=data_dir))[:3]
    pairs = [(ex.question, ex.context) for ex in examples]
    answers = [(ex.answers[0].start, ex.answers[0].end) for ex in examples]
    exps = explain(pairs, model=model, target="gold", answers=answers, truncate=True,
                   progress=False)
    for exp in exps:
        for part in exp.parts:
            assert part.completeness_error <= 0.01
        assert exp.gold_span is not None


def test_qa_long_context_explains_the_answer_window(data_dir) -> None:
    """Other paragraphs put before the real one push the gold answer past the first window."""
    from textlens.data import load_dataset
    from textlens.data.types import QAExample
    from textlens.models.predict import predict_qa

    model = _model("squad-minilm")
    examples = list(load_dataset("squad", "validation", data_dir=data_dir))
    ex = examples[0]
    others = list(dict.fromkeys(e.context for e in examples if e.context != ex.context))
    prefix = ""
    while len(model.tokenizer(prefix)["input_ids"]) < model.max_length:
        prefix += others.pop(0) + "\n\n"
    context = prefix + ex.context
    gold = (len(prefix) + ex.answers[0].start, len(prefix) + ex.answers[0].end)
    (loss,) = explain([(ex.question, context)], model=model, method="loss", answers=[gold],
                      progress=False)
    assert loss.window is not None and loss.windows > 1 and loss.window_index > 0
    assert loss.window[0] <= gold[0] < gold[1] <= loss.window[1]
    assert len(loss.start.char_scores) == len(context) and not any(loss.start.char_scores[:10])
    (pred,) = explain([(ex.question, context)], model=model, method="gxi", progress=False)
    (ref,) = predict_qa(model, [QAExample("q", "t", context, ex.question, ())],
                        max_length=model.max_length, progress=False)
    assert (pred.answer, pred.answer_span) == (ref.answer, (ref.start_char, ref.end_char))
    assert pred.window[0] <= pred.answer_span[0] < pred.answer_span[1] <= pred.window[1]


def test_readme_snippet_explains_the_demo_model_by_path() -> None:
    """The README's Python lines, with the demo's model given as a path string."""
    import textlens

    path = models_cache_dir() / "sentiment-minilm"
    if not (path / "config.json").exists():
        pytest.skip(f"fine-tuned model not found at {path}")
    [exp] = textlens.explain(["a gripping, funny film"], model=str(path), method="ig")
    assert exp.label == "positive" and exp.completeness_error <= 0.01
    assert exp.output_difference == pytest.approx(exp.attribution_score, abs=0.01)
    assert f"{exp.baseline_output:.4f}" in exp.to_html()
