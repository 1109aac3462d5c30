"""The speed levers of IG must not change what is computed: the [CLS]-only last layer, worker
threads, and reuse of every model row's output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textlens.attribution import explain
from textlens.attribution import runner as runner_module
from textlens.attribution.cls_fastpath import cls_fast_path
from textlens.attribution.runner import Runner
from textlens.attribution.workers import map_chunks

TEXTS = ["a gripping, unbelievably good film", "dull", "not bad at all, really",
         "the plot is thin but the acting carries it", "why?", "an utter mess from start to end"]


@pytest.fixture
def sharp_classifier(tiny_classifier):
    with torch.no_grad():
        tiny_classifier.model.classifier.weight.mul_(40.0)
    return tiny_classifier


def test_cls_fast_path_matches_the_full_model_with_padding(make_tiny) -> None:
    loaded = make_tiny("classification", seed=3)
    fast = cls_fast_path(loaded.model)
    assert fast is not None
    torch.manual_seed(0)
    x = torch.randn(4, 9, 32, requires_grad=True)
    types = torch.zeros(4, 9, dtype=torch.long)
    mask = torch.ones(4, 9, dtype=torch.long)
    mask[1, 5:] = 0
    mask[3, 2:] = 0
    full = loaded.model(inputs_embeds=x, token_type_ids=types, attention_mask=mask).logits
    ours = fast.logits(x, types, mask)
    assert torch.allclose(full, ours, atol=1e-5)
    (g_full,) = torch.autograd.grad(full[:, 1].sum(), x)
    (g_ours,) = torch.autograd.grad(ours[:, 1].sum(), x)
    assert torch.allclose(g_full, g_ours, atol=1e-5)
    # The view shares weights: the model itself is untouched and still has all its layers.
    assert len(loaded.model.bert.encoder.layer) == 2 and loaded.model.bert.pooler is not None


def test_cls_fast_path_only_for_bert_classifiers(tiny_qa) -> None:
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    assert cls_fast_path(tiny_qa.model) is None
    assert Runner(tiny_qa).fast_path is None
    distil = DistilBertForSequenceClassification(DistilBertConfig(
        vocab_size=100, dim=32, n_layers=2, n_heads=2, hidden_dim=64))
    assert cls_fast_path(distil) is None


def test_map_chunks_keeps_order_and_restores_threads() -> None:
    before = torch.get_num_threads()
    chunks = [list(range(k, k + 3)) for k in range(0, 30, 3)]
    seen_threads: list[int] = []

    def work(chunk: list[int]) -> int:
        seen_threads.append(torch.get_num_threads())
        return sum(chunk)

    assert map_chunks(work, chunks, workers=3) == [sum(c) for c in chunks]
    assert set(seen_threads) == {1}  # each worker is single-threaded
    assert torch.get_num_threads() == before
    assert map_chunks(work, chunks, workers=1) == [sum(c) for c in chunks]


def test_workers_do_not_change_explanations(sharp_classifier) -> None:
    one = explain(TEXTS, model=sharp_classifier, progress=False, workers=1, jobs_per_chunk=2)
    two = explain(TEXTS, model=sharp_classifier, progress=False, workers=2, jobs_per_chunk=2)
    for a, b in zip(one, two, strict=True):
        assert a.steps == b.steps
        assert np.allclose(a.scores, b.scores, atol=1e-6)


def test_every_ig_row_is_a_quadrature_node(sharp_classifier, monkeypatch) -> None:
    """No row is run twice: a node that becomes a segment boundary reuses its output."""
    rows: list[int] = []
    original = runner_module.Runner.gradients

    def counting(self, embeds, *args, **kwargs):
        rows.append(embeds.shape[0])
        return original(self, embeds, *args, **kwargs)

    monkeypatch.setattr(runner_module.Runner, "gradients", counting)
    exps = explain(TEXTS, model=sharp_classifier, progress=False, workers=1, tolerance=1e-4,
                   nodes_per_segment=3, initial_segments=1)
    assert any(e.steps > 3 for e in exps)  # some texts were refined (one 3-node segment first)
    assert sum(rows) == sum(e.steps for e in exps)
