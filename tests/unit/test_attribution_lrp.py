"""AttnLRP (`method="lrp"`): against a written-out reference on BERT, and on tiny random models
of every supported family (configs built here), for classification and QA."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from textlens.attribution import explain
from textlens.attribution.lrp_rules import SUPPORTED, rules_for
from textlens.errors import InputError, ModelError
from textlens.models.loading import LoadedModel

TEXTS = ["a gripping, unbelievably good film", "not bad at all, really"]


def _divide(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Value x, gradient / factor (the uniform rule), written out."""
    return x / factor + (x - x / factor).detach()


def _identity(fn: Callable, x: torch.Tensor) -> torch.Tensor:
    """Value fn(x), gradient fn(x) / x (the identity rule), written out."""
    return x * (fn(x) / x).detach()


def _reference(loaded: LoadedModel, text: str, cls: int, divide=_divide,
               identity=_identity) -> np.ndarray:
    """AttnLRP relevance of a BERT classifier's logit, its forward written out layer by layer
    from the weights (no hooks, no textlens code)."""
    model, bert = loaded.model, loaded.model.bert
    ids = torch.tensor([loaded.tokenizer(text)["input_ids"]])
    n = ids.shape[1]

    def ln(x: torch.Tensor, mod: torch.nn.LayerNorm) -> torch.Tensor:
        mean = x.mean(-1, keepdim=True)
        std = (x.var(-1, keepdim=True, unbiased=False) + mod.eps).sqrt()
        return (x - mean) / std.detach() * mod.weight + mod.bias

    emb = bert.embeddings
    word = emb.word_embeddings(ids).detach().requires_grad_(True)
    h = ln(word + emb.position_embeddings(torch.arange(n))[None]
           + emb.token_type_embeddings(torch.zeros_like(ids)), emb.LayerNorm)
    for layer in bert.encoder.layer:
        att = layer.attention.self
        heads = att.num_attention_heads
        dim = h.shape[-1] // heads

        def split(x: torch.Tensor, heads: int = heads, dim: int = dim) -> torch.Tensor:
            return x.view(1, n, heads, dim).transpose(1, 2)

        q, k = split(divide(att.query(h), 4)), split(divide(att.key(h), 4))
        v = split(divide(att.value(h), 2))
        probs = torch.softmax(q @ k.transpose(-1, -2) / dim ** 0.5, -1)
        context = (probs @ v).transpose(1, 2).reshape(1, n, -1)
        h1 = ln(layer.attention.output.dense(context) + h, layer.attention.output.LayerNorm)
        mid = identity(layer.intermediate.intermediate_act_fn, layer.intermediate.dense(h1))
        h = ln(layer.output.dense(mid) + h1, layer.output.LayerNorm)
    pooled = identity(torch.tanh, bert.pooler.dense(h[:, 0]))
    logit = model.classifier(pooled)[0, cls]
    logit.backward()
    return (word.grad * word).sum(-1)[0].detach().double().numpy()


@pytest.fixture
def sharp(make_tiny) -> LoadedModel:
    loaded = make_tiny("classification", seed=2)
    with torch.no_grad():
        loaded.model.classifier.weight.mul_(50.0)
    return loaded


def test_lrp_matches_a_written_out_reference_on_bert(sharp) -> None:
    for exp in explain(TEXTS, model=sharp, method="lrp", progress=False):
        ref = _reference(sharp, exp.text, exp.target_index)
        assert np.abs(ref).max() > 1e-3
        np.testing.assert_allclose(exp.scores, ref, rtol=1e-3, atol=1e-5 * np.abs(ref).max())
        # Differs from plain gradient x input: the rules change the backward.
        [gxi] = explain([exp.text], model=sharp, method="gxi", score="logit", progress=False)
        assert not np.allclose(exp.scores, gxi.scores, rtol=0.05)
        assert exp.steps == 1 and exp.target.startswith("logit")
        assert abs(exp.output - sum(exp.scores) - exp.absorbed) < 1e-6
        assert exp.conservation_error == pytest.approx(abs(exp.absorbed) / abs(exp.output))


def _lxt_rules():
    """lxt's own rule functions, loaded from its file: its package __init__ imports a BERT
    module written for transformers 4, which fails under transformers 5."""
    spec = importlib.util.find_spec("lxt")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lxt is not installed (pip install --no-deps lxt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "efficient" / "rules.py"
    rules_spec = importlib.util.spec_from_file_location("lxt_rules", path)
    module = importlib.util.module_from_spec(rules_spec)
    rules_spec.loader.exec_module(module)
    return module


def test_lrp_matches_lxt_rules_on_bert(sharp) -> None:
    lxt = _lxt_rules()
    [exp] = explain(TEXTS[:1], model=sharp, method="lrp", progress=False)
    ref = _reference(sharp, exp.text, exp.target_index, divide=lxt.divide_gradient,
                     identity=lxt.identity_rule_implicit)
    np.testing.assert_allclose(exp.scores, ref, rtol=1e-3, atol=1e-5 * np.abs(ref).max())


def _family(kind: str, task: str, tokenizer) -> LoadedModel:
    import transformers as T

    torch.manual_seed(0)
    small = dict(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                 num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                 pad_token_id=tokenizer.pad_token_id)
    config: object
    if kind == "distilbert":
        config = T.DistilBertConfig(vocab_size=len(tokenizer), dim=32, n_layers=2, n_heads=2,
                                    hidden_dim=64, max_position_embeddings=128,
                                    pad_token_id=tokenizer.pad_token_id)
    elif kind == "modernbert":
        config = T.ModernBertConfig(**small, global_attn_every_n_layers=1,
                                    cls_token_id=tokenizer.cls_token_id,
                                    sep_token_id=tokenizer.sep_token_id,
                                    bos_token_id=tokenizer.cls_token_id,
                                    eos_token_id=tokenizer.sep_token_id)
    else:
        configs = {"bert": T.BertConfig, "roberta": T.RobertaConfig,
                   "xlm-roberta": T.XLMRobertaConfig, "albert": T.AlbertConfig,
                   "deberta-v2": T.DebertaV2Config, "electra": T.ElectraConfig,
                   "mpnet": T.MPNetConfig}
        extra = {"embedding_size": 16} if kind in ("albert", "electra") else {}
        config = configs[kind](**small, **extra)
    config.num_labels = 2
    auto = T.AutoModelForQuestionAnswering if task == "qa" else \
        T.AutoModelForSequenceClassification
    model = auto.from_config(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3.0)  # a random tiny model's outputs barely move otherwise
    labels = () if task == "qa" else ("negative", "positive")
    return LoadedModel(model, tokenizer, task, labels, torch.device("cpu"), f"tiny-{kind}")


@pytest.mark.parametrize("kind", SUPPORTED)
def test_lrp_on_every_supported_family(kind: str, tiny_classifier) -> None:
    loaded = _family(kind, "classification", tiny_classifier.tokenizer)
    rules = rules_for(loaded.model)
    layers = 2
    assert rules.family == kind
    assert rules.layer_norms == sum(isinstance(m, torch.nn.LayerNorm)
                                    for m in loaded.model.modules())
    assert rules.activations >= 1
    # Attention projections hooked in every layer (ALBERT shares one layer's modules).
    expected = {"albert": 3, "modernbert": 2 * layers}.get(kind, 3 * layers)
    assert rules.projections == expected
    exps = explain(TEXTS, model=loaded, method="lrp", progress=False)
    [gxi] = explain(TEXTS[:1], model=loaded, method="gxi", score="logit", progress=False)
    assert not np.allclose(exps[0].scores, gxi.scores, rtol=0.01)
    for exp in exps:
        assert np.all(np.isfinite(exp.scores)) and np.abs(exp.scores).max() > 0
        assert exp.conservation_error is not None and np.isfinite(exp.conservation_error)
    # The rules change gradients only: with them on, the outputs are the same.
    ids = torch.tensor([loaded.tokenizer(TEXTS[0])["input_ids"]])
    with torch.no_grad():
        plain = loaded.model(input_ids=ids).logits
        with rules.active():
            ruled = loaded.model(input_ids=ids).logits
    torch.testing.assert_close(plain, ruled, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", ["bert", "roberta", "distilbert", "modernbert"])
def test_lrp_explains_qa_start_and_end(kind: str, tiny_classifier) -> None:
    loaded = _family(kind, "qa", tiny_classifier.tokenizer)
    [exp] = explain([("who sat?", "the cat sat on the mat")], model=loaded, method="lrp",
                    progress=False)
    assert [p.target.split()[0] for p in exp.parts] == ["start", "end"]
    for part in exp.parts:
        assert np.all(np.isfinite(part.scores)) and part.conservation_error is not None


def test_lrp_refuses_probability_and_unsupported_families(sharp) -> None:
    with pytest.raises(InputError, match="explains a logit"):
        explain(TEXTS, model=sharp, method="lrp", score="probability", progress=False)
    import transformers as T

    gpt2 = T.GPT2ForSequenceClassification(T.GPT2Config(n_layer=1, n_embd=16, n_head=2,
                                                         vocab_size=len(sharp.tokenizer),
                                                         num_labels=2))
    other = LoadedModel(gpt2.eval(), sharp.tokenizer, "classification", ("a", "b"),
                        torch.device("cpu"), "tiny-gpt2")
    with pytest.raises(ModelError, match="no AttnLRP rules for the model family 'gpt2'"):
        explain(TEXTS, model=other, method="lrp", progress=False)


@pytest.mark.parametrize("kind", ["bert", "distilbert", "modernbert"])
def test_lrp_reads_the_prediction_off_its_own_pass(kind: str, tiny_classifier,
                                                   monkeypatch) -> None:
    """The prediction comes from the forward lrp backpropagates through (no separate prediction
    pass), and the results are those of the separate pass: same labels, targets, scores,
    F(input), F(baseline), and the confidence to float32 rounding."""
    import textlens.attribution.api as api
    from textlens.attribution import runner as runner_module

    loaded = _family(kind, "classification", tiny_classifier.tokenizer)
    texts = [*TEXTS, "why?", "an utter mess from start to end, sadly"]
    raw_passes: list[int] = []
    original = runner_module.Runner.raw
    monkeypatch.setattr(runner_module.Runner, "raw", lambda self, e, *a, **k: (
        raw_passes.append(len(e)), original(self, e, *a, **k))[1])
    for target in (None, "positive"):
        raw_passes.clear()
        folded = explain(texts, model=loaded, method="lrp", target=target, progress=False,
                         jobs_per_chunk=3)
        assert raw_passes == []  # no prediction pass
        with monkeypatch.context() as m:
            m.setattr(api, "folds_prediction", lambda model, plan: False)
            separate = explain(texts, model=loaded, method="lrp", target=target,
                               progress=False, jobs_per_chunk=3)
        assert sum(raw_passes) == len(texts)  # the separate path's prediction pass
        for a, b in zip(separate, folded, strict=True):
            assert (a.label, a.target, a.target_index) == (b.label, b.target, b.target_index)
            np.testing.assert_allclose(b.scores, a.scores, rtol=1e-6, atol=1e-9)
            assert b.output == pytest.approx(a.output, rel=1e-6)
            assert b.baseline_output == pytest.approx(a.baseline_output, rel=1e-6)
            assert b.confidence == pytest.approx(a.confidence, abs=1e-5)
    # top-k (several targets a text) keeps the separate prediction pass.
    raw_passes.clear()
    explain(texts[:2], model=loaded, method="lrp", target="top-2", progress=False)
    assert sum(raw_passes) == 2
