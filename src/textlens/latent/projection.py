"""2-D maps of the embeddings: UMAP (default), PCA or t-SNE, all seeded.

Reducers share one `Protocol` (as in Phoenix's pointcloud), so the pipeline does not care which
runs. Inputs are L2-normalised first so distances are cosine distances. UMAP and t-SNE first
reduce to `pca_dims` with PCA: the neighbour search is then much cheaper, and the map is
almost unchanged because the top components hold most of the variance of sentence embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from textlens.errors import InputError


@runtime_checkable
class DimensionalityReducer(Protocol):
    def project(self, vectors: np.ndarray) -> np.ndarray:
        """(n, d) -> (n, 2) float32."""
        ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _pca(vectors: np.ndarray, dims: int, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    dims = min(dims, vectors.shape[0], vectors.shape[1])
    return PCA(n_components=dims, random_state=seed).fit_transform(vectors).astype(np.float32)


@dataclass(frozen=True)
class PCAReducer:
    label: ClassVar[str] = "PCA"
    seed: int = 0

    def project(self, vectors: np.ndarray) -> np.ndarray:
        out = _pca(normalise(vectors), 2, self.seed)
        if out.shape[1] < 2:
            out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
        return out


def hnsw_knn(data: np.ndarray, queries: np.ndarray, k: int, seed: int) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Approximate Euclidean k-NN with hnswlib, single-threaded so that it is reproducible."""
    import hnswlib

    index = hnswlib.Index(space="l2", dim=data.shape[1])
    index.init_index(max_elements=len(data), ef_construction=100, M=16, random_seed=seed)
    index.set_num_threads(1)
    index.add_items(data, np.arange(len(data)))
    index.set_ef(max(50, 2 * k))
    labels, sq = index.knn_query(queries, k=k)
    return labels.astype(np.int64), np.sqrt(np.maximum(sq, 0)).astype(np.float32)


@dataclass(frozen=True)
class UMAPReducer:
    """UMAP on the cosine geometry, seeded (so single-threaded in umap-learn: reproducible).

    Neighbours come from an hnswlib index instead of umap's NN-descent (several times faster on
    two cores, same graph quality). Above `max_fit` samples (default 30,000) UMAP is fitted on
    a seeded sample and every other sample is placed at the distance-weighted mean of the map
    positions of its 10 nearest fitted samples: the layout cost stops growing with n, and
    points still land beside their neighbours (local structure inside the fitted regions).
    """

    label: ClassVar[str] = "UMAP"
    n_neighbors: int = 15
    min_dist: float = 0.1
    pca_dims: int = 50
    max_fit: int = 30_000
    seed: int = 0

    def project(self, vectors: np.ndarray) -> np.ndarray:
        import warnings

        if len(vectors) <= self.n_neighbors + 1:
            return PCAReducer(self.seed).project(vectors)
        import umap

        reduced = _pca(normalise(vectors), self.pca_dims, self.seed)
        fit = np.arange(len(reduced))
        if len(reduced) > self.max_fit:
            rng = np.random.default_rng(self.seed)
            fit = np.sort(rng.choice(len(reduced), self.max_fit, replace=False))
        knn = hnsw_knn(reduced[fit], reduced[fit], self.n_neighbors, self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # n_jobs overridden; no search index kept
            model = umap.UMAP(n_neighbors=self.n_neighbors, min_dist=self.min_dist,
                              n_components=2, random_state=self.seed, metric="euclidean",
                              precomputed_knn=(knn[0], knn[1], None))
            placed = model.fit_transform(reduced[fit]).astype(np.float32)
        if len(fit) == len(reduced):
            return placed
        out = np.empty((len(reduced), 2), dtype=np.float32)
        out[fit] = placed
        rest = np.setdiff1d(np.arange(len(reduced)), fit)
        idx, dist = hnsw_knn(reduced[fit], reduced[rest], 10, self.seed)
        weights = 1.0 / (dist + 1e-6)
        out[rest] = (placed[idx] * weights[..., None]).sum(1) / weights.sum(1, keepdims=True)
        return out


@dataclass(frozen=True)
class TSNEReducer:
    label: ClassVar[str] = "t-SNE"
    perplexity: float = 30.0
    pca_dims: int = 50
    seed: int = 0

    def project(self, vectors: np.ndarray) -> np.ndarray:
        from sklearn.manifold import TSNE

        reduced = _pca(normalise(vectors), self.pca_dims, self.seed)
        perplexity = min(self.perplexity, max(2.0, (len(vectors) - 1) / 3))
        tsne = TSNE(n_components=2, perplexity=perplexity, random_state=self.seed, init="pca")
        return tsne.fit_transform(reduced).astype(np.float32)


REDUCERS = {"umap": UMAPReducer, "pca": PCAReducer, "tsne": TSNEReducer}


def make_reducer(name: str, seed: int = 0) -> DimensionalityReducer:
    """The reducer named `name` (umap, pca, tsne); an unknown name is refused with the list."""
    if name not in REDUCERS:
        raise InputError(f"Unknown projection {name!r}.", f"use one of: {', '.join(REDUCERS)}.")
    return REDUCERS[name](seed=seed)


def settings(step: object) -> str:
    """A reducer's or finder's settings for people: "n_neighbors 15, min_dist 0.1, ..."."""
    from dataclasses import fields, is_dataclass

    if is_dataclass(step):
        return ", ".join(f"{f.name} {getattr(step, f.name)}" for f in fields(step))
    return type(step).__name__


def method_label(step: object) -> str:
    """A reducer's or finder's name for people ("UMAP", "Affinity Propagation"); an injected
    implementation without a `label` is named by its class."""
    return str(getattr(step, "label", type(step).__name__))
