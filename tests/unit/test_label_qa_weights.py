"""The QA models read their features by name: the scores equal those of the positional arrays
they replaced, no column order can change them, and a missing or unknown name is refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

from textlens.errors import InputError
from textlens.latent.issues import qa_weights
from textlens.latent.issues.qa import QAEvidence, noisy_or
from textlens.latent.issues.qa_signals import FEATURE_NAMES, QASignals, feature_table
from textlens.latent.issues.registry import get_issue_type, list_issue_types

# The positional detector as it was before the registry (label_qa.py at 774c5ed), kept here
# only to prove the named one equal: 25 features in this order, each model a column list.
OLD_FEATURES = ("loss", "log_mass_text", "log_mass_overlap", "boundary_mass", "p_top",
                "relatedness_gap", "claimed", "gap_unsupported", "rival_mass", "one_end_mass",
                "idf_gap", "gold_rank", "idf_gold", "log_gold_sentence_mass", "type_mismatch",
                "type_mismatch_top_ok", "mutual_claim", "starts_function", "ends_function",
                "log_gold_words", "end_loss_gap", "max_end_loss", "min_end_loss", "abs_size_gap",
                "local_loss")
OLD_MODELS = {
    "wrong span": (("loss", "ends_function", "gold_rank", "type_mismatch", "log_gold_words",
                    "min_end_loss", "max_end_loss"), np.array([
        0.2367, 2.4396, 3.8101, 0.3588, -0.7730, 0.4058, 0.4448]), -10.2529),
    "swapped": (OLD_FEATURES[:20], np.array([
        0.2719, -0.0585, -0.1460, -0.4045, -1.6046, 0.1539, 4.1625, 0.4967, 3.9907, -0.7754,
        -0.0413, 1.6156, 0.3854, -0.0144, -0.6244, -0.4078, 6.2036, -0.6775, -2.3230, -0.1871]),
        -8.0461),
    "wrong boundary": (OLD_FEATURES, np.array([
        0.0355, -0.1644, 0.1381, 0.7303, -0.4852, 1.5765, 1.1687, -3.5139, 0.0544, 0.3454,
        1.8612, -1.7284, 0.6651, -0.1211, -0.3569, -0.6992, 1.3577, 0.6875, 3.1374, -0.1911,
        0.1076, 0.0692, 0.0345, -0.0345, 0.4554]), -7.1177),
}
OLD_OFFSETS = {"wrong span": 0.0, "swapped": 2.0, "wrong boundary": 2.0}


def old_combine(x: np.ndarray) -> np.ndarray:
    keep = np.ones(x.shape[0])
    for kind, (names, weights, intercept) in OLD_MODELS.items():
        z = x[:, [OLD_FEATURES.index(n) for n in names]] @ weights + intercept - OLD_OFFSETS[kind]
        keep = keep * (1.0 - 1.0 / (1.0 + np.exp(-z)))
    return 1.0 - keep


def old_features(s: QASignals) -> np.ndarray:
    eps = 1e-4
    return np.array([s.loss, math.log(s.mass_text + eps), math.log(s.mass_overlap + eps),
                     s.mass_overlap - s.mass_exact, s.p_top, s.relatedness_gap, s.claimed,
                     s.relatedness_gap * (1.0 - s.mass_overlap), s.rival_mass, s.one_end_mass,
                     s.idf_gap, s.gold_rank, s.idf_gold, math.log(s.gold_sentence_mass + eps),
                     float(s.type_mismatch), float(s.type_mismatch and s.top_has_type),
                     s.mutual_claim, float(s.starts_function), float(s.ends_function),
                     math.log(max(1, s.gold_words)), abs(s.start_loss - s.end_loss),
                     max(s.start_loss, s.end_loss), min(s.start_loss, s.end_loss),
                     abs(s.size_gap), s.local_loss])


def random_matrix(n: int = 500, seed: int = 0) -> np.ndarray:
    """Feature rows on the scales the models see: losses 0-20, masses' logs, shares, flags."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n, len(OLD_FEATURES))) * rng.uniform(0.5, 6.0, len(OLD_FEATURES))
    x[:, 0] = rng.gamma(2.0, 3.0, n)
    return x


def named(x: np.ndarray, order: list[int] | None = None) -> dict[str, np.ndarray]:
    order = list(range(x.shape[1])) if order is None else order
    return {OLD_FEATURES[k]: x[:, k] for k in order}


def random_signals(n: int = 200, seed: int = 1) -> list[QASignals]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        mass = rng.dirichlet(np.ones(4))
        loss = float(rng.gamma(2.0, 3.0))
        start = float(rng.uniform(0, loss))
        out.append(QASignals(
            loss, float(mass[0]), float(mass[0] + mass[1]), float(mass[0] + mass[1] + mass[2]),
            float(rng.uniform()), float(rng.uniform(-0.5, 1)), float(rng.uniform()),
            float(rng.uniform()), float(rng.uniform()), "b", float(rng.uniform()),
            float(rng.uniform()), bool(rng.integers(2)), float(rng.uniform()),
            float(rng.uniform()), float(rng.uniform()), float(rng.uniform()), "date",
            bool(rng.integers(2)), bool(rng.integers(2)), float(rng.uniform()), "c",
            bool(rng.integers(2)), bool(rng.integers(2)), "x", int(rng.integers(1, 12)),
            start, loss - start, int(rng.integers(-4, 5)), float(rng.gamma(1.0, 2.0))))
    return out


def test_named_scores_equal_the_positional_ones_on_random_matrices() -> None:
    for seed in range(3):
        x = random_matrix(seed=seed)
        ours, _ = noisy_or(QAEvidence((), named(x)))
        # equal up to BLAS summation order (a copied column block may take another kernel)
        np.testing.assert_allclose(ours, old_combine(x), rtol=1e-12, atol=1e-15)
        assert 0.01 < ours.mean() < 0.99  # the matrices reach both ends of the models


def test_named_features_equal_the_positional_ones() -> None:
    sig = random_signals()
    table = feature_table(sig)
    assert list(sig[0].features()) == list(FEATURE_NAMES)
    old = np.stack([old_features(s) for s in sig])
    for k, name in enumerate(OLD_FEATURES):
        np.testing.assert_array_equal(table[name], old[:, k], err_msg=name)
    np.testing.assert_allclose(noisy_or(QAEvidence.of(sig))[0], old_combine(old), rtol=1e-12,
                               atol=1e-15)


def test_column_and_weight_order_cannot_change_scores() -> None:
    x = random_matrix(seed=4)
    base, _ = noisy_or(QAEvidence((), named(x)))
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(OLD_FEATURES)).tolist()
        shuffled, _ = noisy_or(QAEvidence((), named(x, order)))
        np.testing.assert_array_equal(shuffled, base)  # read by name: the very same columns
    model = qa_weights.WRONG_BOUNDARY
    reversed_weights = qa_weights.LogisticModel(dict(reversed(model.weights.items())),
                                                model.intercept, model.offset)
    table = named(x)
    # summation order moves the last bits only
    np.testing.assert_allclose(reversed_weights.logit(table), model.logit(table), rtol=1e-12,
                               atol=1e-12)


def test_a_missing_or_unknown_feature_is_refused() -> None:
    table = named(random_matrix(n=5))
    missing = {k: v for k, v in table.items() if k != "local_loss"}
    with pytest.raises(ValueError, match="missing \\['local_loss'\\]"):
        qa_weights.WRONG_SPAN.logit(missing)  # even a model that does not read it
    with pytest.raises(ValueError, match="unknown \\['new_signal'\\]"):
        noisy_or(QAEvidence((), {**table, "new_signal": np.zeros(5)}))
    with pytest.raises(ValueError, match="unknown QA features"):
        qa_weights.LogisticModel({"loss": 1.0, "l0ss": 2.0}, 0.0)


def test_registry_lists_each_issue_type_and_refuses_unknown_names() -> None:
    assert set(list_issue_types("qa")) == {"wrong span", "swapped answer", "wrong boundary",
                                           "ambiguous"}
    assert set(list_issue_types("classification")) == {"wrong class",
                                                       "near-duplicate conflict"}
    assert get_issue_type("wrong span").issue_name == "wrong span"
    with pytest.raises(InputError) as err:
        get_issue_type("wrong spam")
    assert "wrong span" in (err.value.fix or "") and "near-duplicate conflict" in err.value.fix
