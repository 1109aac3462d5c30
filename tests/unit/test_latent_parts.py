"""Unit tests of the latent-analysis parts on synthetic vectors and hand-made samples."""

from __future__ import annotations

import numpy as np
import pytest

from textlens.latent.clustering import (
    AffinityPropagationFinder,
    HDBSCANFinder,
    KMeansFinder,
    cluster,
)
from textlens.latent.issues.classification import (
    classification_issues,
    cleanlab_ranking,
    crossval_probabilities,
)
from textlens.latent.neighbours import NeighbourIndex
from textlens.latent.projection import PCAReducer, TSNEReducer
from textlens.latent.shift import classifier_accuracy, mixing_score
from textlens.latent.slices import high_loss_slices, is_near_miss
from textlens.latent.summaries import answer_type, class_tfidf_terms, question_type


def blobs(n_per: int = 100, centres: int = 3, dim: int = 32, spread: float = 0.3, seed: int = 0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centres, dim)) * 3
    labels = np.repeat(np.arange(centres), n_per)
    return (means[labels] + rng.normal(scale=spread, size=(len(labels), dim))).astype(
        np.float32), labels


def agreement(found: np.ndarray, truth: np.ndarray) -> float:
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(truth, found)


@pytest.mark.parametrize("finder", [AffinityPropagationFinder(), KMeansFinder(k=3),
                                    HDBSCANFinder(min_cluster_size=20)])
def test_clusterers_recover_separated_blobs(finder) -> None:
    x, truth = blobs()
    assert agreement(cluster(finder, x).labels, truth) > 0.9


def test_affinity_propagation_fits_on_a_sample_and_assigns_the_rest() -> None:
    x, truth = blobs(n_per=300)
    result = cluster(AffinityPropagationFinder(max_fit=120), x)
    assert result.fitted_on == 120 and len(result.labels) == 900
    assert agreement(result.labels, truth) > 0.9


def test_reducers_give_seeded_two_dimensional_maps() -> None:
    x, _ = blobs(n_per=40)
    for reducer in (PCAReducer(seed=1), TSNEReducer(seed=1)):
        a, b = reducer.project(x), reducer.project(x)
        assert a.shape == (120, 2) and np.allclose(a, b)


def test_hnsw_and_exact_neighbours_agree() -> None:
    x, _ = blobs(n_per=700, centres=10, spread=1.0)
    exact, approx = NeighbourIndex(x), NeighbourIndex.build(x, exact_limit=100)
    assert exact.exact and not approx.exact
    recall = np.mean([len(set(exact.query(i, 10).indices) & set(approx.query(i, 10).indices))
                      / 10 for i in range(0, 7000 // 10, 7)])
    assert recall > 0.9
    hit = exact.query(5, 3)
    assert 5 not in hit.indices and np.all(np.diff(hit.similarities) <= 0)
    assert (x[hit.indices[0]] @ x[5]) / np.linalg.norm(x[hit.indices[0]]) > 0
    assert exact.knn_all(4).shape == (7000, 4)


def test_flipped_labels_rank_first() -> None:
    """Would fail on a random ranking: 15 flipped labels out of 300 (expected precision 5%)."""
    x, y = blobs(n_per=150, centres=2, spread=1.5, seed=3)
    rng = np.random.default_rng(0)
    flipped = rng.choice(len(y), 15, replace=False)
    noisy = y.copy()
    noisy[flipped] = 1 - noisy[flipped]
    probs = crossval_probabilities(x, noisy)
    ids = [str(i) for i in range(len(y))]
    issues = classification_issues(ids, noisy, probs, ("a", "b"))
    top = {int(i.id) for i in issues[:15]}
    assert len(top & set(flipped.tolist())) >= 13
    assert {int(i.id) for i in issues if i.flagged} >= set(flipped.tolist())
    ranked = cleanlab_ranking(noisy, probs)
    if ranked is not None:
        assert len(set(ranked[:15].tolist()) & set(flipped.tolist())) >= 13


def test_near_miss_is_punctuation_only() -> None:
    assert is_near_miss('"Hey Jude"', ["Hey Jude"])
    assert is_near_miss("Denver Broncos.", ["Denver Broncos"])
    assert not is_near_miss("Denver Broncos", ["Denver Broncos"])
    assert not is_near_miss("Broncos", ["Denver Broncos"])


def test_question_and_answer_types() -> None:
    assert question_type("How many people live in Warsaw?") == "how many"
    assert question_type("In what year did it open?") == "what year"
    assert question_type("Who wrote it?") == "who"
    assert question_type("Name the river.") == "other"
    assert answer_type("1856") == "year"
    assert answer_type("10 July 1856") == "date"
    assert answer_type("45%") == "percentage"
    assert answer_type("3,000") == "number"
    assert answer_type("Nikola Tesla") == "proper name"
    assert answer_type("a cold winter") == "other"


def test_class_tfidf_picks_distinctive_terms() -> None:
    texts = ["the rocket launched into orbit", "orbit and rocket fuel", "rocket orbit moon",
             "the football match ended", "football goal scored", "a football team won"]
    terms = class_tfidf_terms(texts, [0, 0, 0, 1, 1, 1], top=2)
    assert set(terms[0]) <= {"rocket", "orbit"} and set(terms[1]) <= {"football"} | set(
        ["match", "goal", "scored", "team", "won", "ended"])
    assert terms[0] and terms[1] and "football" in terms[1]


def planted_corpus(seed: int = 0) -> tuple[list[str], list[int], dict[int, set[str]]]:
    """Four clusters of random-word samples, each with three planted terms (in ~35% of its
    samples), stop words everywhere, and corpus-wide words ("film", "movie", ...) in 60-80% of
    every cluster's samples, more often in the biggest cluster (as on SST-2)."""
    rng = np.random.default_rng(seed)
    planted = {0: {"rocket", "orbit", "launch"}, 1: {"goal", "striker", "league"},
               2: {"violin", "concerto", "orchestra"}, 3: {"recipe", "oven", "flour"}}
    shared = ["film", "movie", "story", "characters", "really"]
    noise = [f"w{i}x" for i in range(300)]
    stop = ["the", "a", "is", "and", "it", "of", "n't"]
    texts, labels = [], []
    for c, n in {0: 150, 1: 60, 2: 60, 3: 60}.items():
        for _ in range(n):
            words = [*rng.choice(stop, 4), *rng.choice(noise, 5)]
            words += [w for w in shared if rng.random() < (0.8 if c == 0 else 0.6)]
            words += [w for w in sorted(planted[c]) if rng.random() < 0.35]
            rng.shuffle(words)
            texts.append(" ".join(words))
            labels.append(c)
    return texts, labels, planted


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_summaries_are_the_planted_terms(seed: int) -> None:
    texts, labels, planted = planted_corpus(seed)
    terms = class_tfidf_terms(texts, labels, top=3)
    assert {c: set(t) for c, t in terms.items()} == planted
    everywhere = {"film", "movie", "story", "characters", "really"}
    assert not everywhere & {t for ts in class_tfidf_terms(texts, labels, top=5).values()
                             for t in ts}


def test_high_loss_slice_is_significant() -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"title": ["hard"] * 30 + ["easy"] * 170,
                          "loss": np.r_[rng.normal(3, 0.5, 30), rng.normal(1, 0.5, 170)],
                          "correct": [0.0] * 30 + [1.0] * 170})
    top = high_loss_slices(frame, ["title"])[0]
    assert top.value == "hard" and top.p_value < 1e-6 and top.loss_ratio > 2


def test_shift_scores_separate_and_mixed_groups() -> None:
    x, labels = blobs(n_per=100, centres=2)
    index = NeighbourIndex(x)
    knn = index.knn_all(10)
    assert mixing_score(knn, labels.astype(str)) > 0.9
    assert classifier_accuracy(x, labels.astype(str)) > 0.95
    shuffled = np.random.default_rng(0).permutation(labels).astype(str)
    assert abs(mixing_score(knn, shuffled)) < 0.2


def test_split_separation_explained_by_title_or_not() -> None:
    """Titles split by title: topic-only separation vanishes across titles; regional does not."""
    from textlens.latent.shift import mixing_across_groups

    rng = np.random.default_rng(0)
    titles = np.repeat(np.arange(40), 10)
    split = np.where(titles % 2 == 0, "train", "validation")
    for regional in (False, True):
        region = np.where(titles % 2 == 0, 4.0, -4.0)[:, None] if regional else 0.0
        centres = rng.normal(size=(40, 32)) * 3
        x = centres[titles] + region + rng.normal(scale=0.5, size=(400, 32))
        knn = NeighbourIndex(x.astype(np.float32)).knn_all(15)
        assert mixing_score(knn, split) > 0.3
        across = mixing_across_groups(knn, split, titles.astype(str))
        assert (across > 0.5) if regional else (abs(across) < 0.2)
