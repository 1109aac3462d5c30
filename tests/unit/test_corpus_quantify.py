"""The weighted quantifiers give QuaPy's numbers on unweighted samples, honour weights as
repeated rows, and recover known shares."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.corpus.validation.quantify import adjust, emq, hard_rates, soft_rates

quapy = pytest.importorskip("quapy")


def _sample(seed: int, n: int = 400, k: int = 3):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(0, 1.0, (n, k))
    logits[np.arange(n), y] += 1.5
    post = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, post, post.argmax(axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_numbers_as_quapy_unweighted(seed):
    from quapy.functional import normalize_prevalence
    from quapy.method.aggregative import ACC, EMQ, PACC

    y, post, pred = _sample(seed)
    classes = np.arange(3)
    assert np.allclose(hard_rates(y, pred, 3), ACC.getPteCondEstim(classes, y, pred))
    assert np.allclose(soft_rates(y, post), PACC.getPteCondEstim(classes, y, post))
    _, test_post, test_pred = _sample(seed + 10, n=300)
    q = np.bincount(test_pred, minlength=3) / len(test_pred)
    ours = adjust(hard_rates(y, pred, 3), q)
    theirs = normalize_prevalence(ACC.solve_adjustment(
        ACC.getPteCondEstim(classes, y, pred), q, method="inversion", solver="exact-raise"),
        method="clip")
    assert np.allclose(ours, theirs)
    q_soft = test_post.mean(axis=0)
    theirs = normalize_prevalence(ACC.solve_adjustment(
        PACC.getPteCondEstim(classes, y, post), q_soft, method="inversion",
        solver="exact-raise"), method="clip")
    assert np.allclose(adjust(soft_rates(y, post), q_soft), theirs)
    prior = np.bincount(y, minlength=3) / len(y)
    assert np.allclose(emq(prior, test_post), EMQ.EM(prior, test_post)[0], atol=1e-6)


def test_weights_count_as_repeated_rows():
    y, post, pred = _sample(5, n=200)
    w = np.random.default_rng(0).integers(1, 4, len(y))
    rep = np.repeat(np.arange(len(y)), w)
    assert np.allclose(hard_rates(y, pred, 3, w), hard_rates(y[rep], pred[rep], 3))
    assert np.allclose(soft_rates(y, post, w), soft_rates(y[rep], post[rep]))
    prior = np.array([0.2, 0.3, 0.5])
    assert np.allclose(emq(prior, post, w), emq(prior, post[rep]), atol=1e-9)


def test_acc_recovers_a_known_share_and_clips():
    rates = np.array([[0.8, 0.3], [0.2, 0.7]])  # columns: true class
    truth = np.array([0.25, 0.75])
    assert np.allclose(adjust(rates, rates @ truth), truth)
    assert np.allclose(adjust(rates, np.array([0.95, 0.05])), [1.0, 0.0])  # outside: clipped
    assert np.isnan(adjust(np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([0.5, 0.5]))).all()
