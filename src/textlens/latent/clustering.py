"""Clusters of the embeddings (not of the 2-D map, which distorts distances).

Affinity Propagation (the seed's choice) needs an n x n similarity matrix, so it is quadratic
in memory and time: above `max_fit` samples (default 3,000) it is fitted on a seeded random
sample and every other sample joins the cluster of its most similar exemplar. k-means and
HDBSCAN follow the same sample-and-assign rule above their own (larger) limits. All clusterers
work on L2-normalised vectors reduced by PCA to `pca_dims`, so Euclidean distance tracks cosine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from textlens.errors import InputError
from textlens.latent.projection import method_label, normalise, reduce_pca


@runtime_checkable
class ClustersFinder(Protocol):
    def find(self, vectors: np.ndarray) -> np.ndarray:
        """(n, d) -> (n,) int cluster ids; -1 is noise (HDBSCAN only)."""
        ...


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray
    fitted_on: int  # how many samples the clusterer was fitted on (the rest were assigned)
    method: str  # for people: "Affinity Propagation", "k-means", "HDBSCAN" or the class name

    @property
    def clusters(self) -> int:
        """How many clusters, noise (-1) not counted."""
        return int(len(np.setdiff1d(np.unique(self.labels), [-1])))

    @property
    def noise(self) -> int:
        return int((self.labels == -1).sum())


def _prepare(vectors: np.ndarray, pca_dims: int, seed: int) -> np.ndarray:
    return normalise(reduce_pca(vectors, pca_dims, seed))


def _sample(n: int, max_fit: int, seed: int) -> np.ndarray:
    if n <= max_fit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_fit, replace=False))


def assign_nearest(vectors: np.ndarray, centres: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Index of the most cosine-similar centre for each (normalised) vector, in chunks."""
    centres = normalise(centres)
    out = np.empty(len(vectors), dtype=np.int64)
    for start in range(0, len(vectors), chunk):
        out[start:start + chunk] = (vectors[start:start + chunk] @ centres.T).argmax(axis=1)
    return out


@dataclass(frozen=True)
class AffinityPropagationFinder:
    """Preference = min - `preference_factor` x (median - min) of the similarities.

    scikit-learn's default (the median) gives hundreds of clusters on sentence embeddings and the
    minimum still gives ~50 on 1k samples; a factor of 3 gives ~20-40, a readable table.
    Lower factors give more clusters.
    """

    label: ClassVar[str] = "Affinity Propagation"
    max_fit: int = 3000
    damping: float = 0.9
    preference_factor: float = 3.0
    pca_dims: int = 50
    seed: int = 0

    def find(self, vectors: np.ndarray) -> np.ndarray:
        from sklearn.cluster import AffinityPropagation

        x = _prepare(vectors, self.pca_dims, self.seed)
        fit = _sample(len(x), self.max_fit, self.seed)
        sim = x[fit] @ x[fit].T
        low, mid = float(sim.min()), float(np.median(sim))
        preference = low - self.preference_factor * (mid - low)
        ap = AffinityPropagation(affinity="precomputed", damping=self.damping,
                                 preference=preference, random_state=self.seed, max_iter=300)
        ap.fit(sim.astype(np.float64))
        exemplars = ap.cluster_centers_indices_
        if exemplars is None or len(exemplars) == 0:  # did not converge: one cluster
            return np.zeros(len(x), dtype=np.int64)
        return assign_nearest(x, x[fit][exemplars])


@dataclass(frozen=True)
class KMeansFinder:
    label: ClassVar[str] = "k-means"
    k: int = 20
    max_fit: int = 50_000
    pca_dims: int = 50
    seed: int = 0

    def find(self, vectors: np.ndarray) -> np.ndarray:
        from sklearn.cluster import KMeans

        x = _prepare(vectors, self.pca_dims, self.seed)
        fit = _sample(len(x), self.max_fit, self.seed)
        k = min(self.k, len(fit))
        km = KMeans(n_clusters=k, n_init=3, random_state=self.seed).fit(x[fit])
        return assign_nearest(x, km.cluster_centers_)


@dataclass(frozen=True)
class HDBSCANFinder:
    """Density clusters with noise (-1); on 10 PCA dims, where HDBSCAN's tree search is fast."""

    label: ClassVar[str] = "HDBSCAN"
    min_cluster_size: int = 15
    max_fit: int = 20_000
    pca_dims: int = 10
    seed: int = 0

    def find(self, vectors: np.ndarray) -> np.ndarray:
        import hdbscan

        x = _prepare(vectors, self.pca_dims, self.seed)
        fit = _sample(len(x), self.max_fit, self.seed)
        model = hdbscan.HDBSCAN(min_cluster_size=min(self.min_cluster_size, max(2, len(fit) // 2)),
                                prediction_data=len(fit) < len(x))
        labels = model.fit_predict(x[fit]).astype(np.int64)
        if len(fit) == len(x):
            return labels
        out, _ = hdbscan.approximate_predict(model, x)
        out = np.asarray(out, dtype=np.int64)
        out[fit] = labels
        return out


FINDERS = {"affinity": AffinityPropagationFinder, "kmeans": KMeansFinder,
           "hdbscan": HDBSCANFinder}


def make_finder(name: str, seed: int = 0) -> ClustersFinder:
    """The finder named `name` (affinity, kmeans, hdbscan); an unknown name is refused with the
    list."""
    if name not in FINDERS:
        raise InputError(f"Unknown clustering {name!r}.", f"use one of: {', '.join(FINDERS)}.")
    return FINDERS[name](seed=seed)


def cluster(finder: ClustersFinder, vectors: np.ndarray) -> Clustering:
    """Run a finder and record how many samples it was fitted on (for the report)."""
    labels = np.asarray(finder.find(vectors), dtype=np.int64)
    limit = getattr(finder, "max_fit", len(vectors))
    return Clustering(labels, min(len(vectors), int(limit)), method_label(finder))
