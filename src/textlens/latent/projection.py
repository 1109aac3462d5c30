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


BATCH = 65_536  # rows normalised / projected at a time: ~100 MB of float32 at 384-d
PCA_FIT = 100_000  # above this many rows PCA is fitted on a seeded sample of this size


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Unit-length rows as float32, written batch by batch into one output (a memory-mapped
    input is read once and never copied whole; float64 inputs are cast a batch at a time)."""
    out = np.empty(vectors.shape, dtype=np.float32)
    for start in range(0, len(vectors), BATCH):
        block = np.asarray(vectors[start:start + BATCH], dtype=np.float32)
        norms = np.linalg.norm(block, axis=-1, keepdims=True)
        np.divide(block, np.maximum(norms, 1e-12), out=out[start:start + BATCH])
    return out


def reduce_pca(vectors: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """The L2-normalised vectors reduced by PCA to `dims`, float32.

    Above `PCA_FIT` rows PCA is fitted on a seeded sample and every row is normalised and
    projected in batches: peak memory is the (n, dims) output plus one batch, not a normalised
    copy of all n x d vectors (1.5 GB at 1M x 384); 100k rows estimate 50 components of
    384-d sentence vectors as well as 1M do."""
    from sklearn.decomposition import PCA

    n = len(vectors)
    dims = min(dims, n, vectors.shape[1])
    if n <= PCA_FIT:
        return PCA(n_components=dims, random_state=seed).fit_transform(
            normalise(vectors)).astype(np.float32, copy=False)
    rows = np.sort(np.random.default_rng(seed).choice(n, PCA_FIT, replace=False))
    pca = PCA(n_components=dims, random_state=seed).fit(normalise(vectors[rows]))
    mean, components = pca.mean_.astype(np.float32), pca.components_.T.astype(np.float32)
    out = np.empty((n, dims), dtype=np.float32)
    for start in range(0, n, BATCH):
        np.matmul(normalise(vectors[start:start + BATCH]) - mean, components,
                  out=out[start:start + BATCH])
    return out


@dataclass(frozen=True)
class PCAReducer:
    label: ClassVar[str] = "PCA"
    seed: int = 0

    def project(self, vectors: np.ndarray) -> np.ndarray:
        out = reduce_pca(vectors, 2, self.seed)
        if out.shape[1] < 2:
            out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
        return out


def hnsw_knn(data: np.ndarray, queries: np.ndarray, k: int, seed: int) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """Approximate Euclidean k-NN with hnswlib: built single-threaded so that the graph (and so
    every answer) is reproducible; queried on every core (each query reads the fixed graph, so
    the answers do not depend on the threads: 970k placements at 1M rows)."""
    import os

    import hnswlib

    index = hnswlib.Index(space="l2", dim=data.shape[1])
    index.init_index(max_elements=len(data), ef_construction=100, M=16, random_seed=seed)
    index.set_num_threads(1)
    index.add_items(data, np.arange(len(data)))
    index.set_ef(max(50, 2 * k))
    index.set_num_threads(os.cpu_count() or 1)
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

        reduced = reduce_pca(vectors, self.pca_dims, self.seed)
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

        reduced = reduce_pca(vectors, self.pca_dims, self.seed)
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
