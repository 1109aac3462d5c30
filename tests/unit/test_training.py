"""The training loop: it learns, and an interrupted run resumes to the same weights."""

from __future__ import annotations

import pytest
import torch

from textlens.training.loop import TrainConfig, lr_at, train_loop


def _toy_batches(tokenizer):
    texts = ["good great fine", "bad awful poor"] * 4
    labels = torch.tensor([1, 0] * 4)
    enc = tokenizer(texts, return_tensors="pt", padding=True)

    def batch_at(step: int):
        return {**enc, "labels": labels}

    return batch_at


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_loop_reduces_the_loss(tiny_classifier):
    batch_at = _toy_batches(tiny_classifier.tokenizer)
    model = tiny_classifier.model
    with torch.no_grad():
        before = float(model(**batch_at(0)).loss)
    train_loop(model, batch_at, TrainConfig(30, 8, 3e-3, 16, warmup_ratio=0.1), None)
    with torch.no_grad():
        after = float(model(**batch_at(0)).loss)
    assert after < before * 0.5


def test_interrupted_run_resumes_to_identical_weights(tmp_path, make_tiny):
    config = TrainConfig(6, 8, 1e-3, 16, checkpoint_every=2)
    reference = make_tiny("classification", seed=1)
    batch_at = _toy_batches(reference.tokenizer)
    train_loop(reference.model, batch_at, config, None)

    interrupted = make_tiny("classification", seed=1)

    def failing(step: int):
        if step == 5:
            raise KeyboardInterrupt
        return batch_at(step)

    checkpoint = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        train_loop(interrupted.model, failing, config, checkpoint)
    assert (checkpoint / "state.json").exists()

    resumed = make_tiny("classification", seed=2)  # different init: the checkpoint must win
    stats = train_loop(resumed.model, batch_at, config, checkpoint)
    assert stats.resumed_from == 4
    expected, got = _weights(reference.model), _weights(resumed.model)
    for name, value in expected.items():
        assert torch.allclose(value, got[name], atol=1e-5), name


def test_learning_rate_warms_up_then_decays():
    config = TrainConfig(100, 8, 1.0, 16, warmup_ratio=0.1)
    assert lr_at(0, config) == pytest.approx(0.1)
    assert lr_at(9, config) == pytest.approx(1.0)
    assert lr_at(55, config) == pytest.approx(0.5)
    assert lr_at(99, config) == pytest.approx(1 / 90)
