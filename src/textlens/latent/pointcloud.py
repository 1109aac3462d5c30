"""`PointCloud`: a `DimensionalityReducer` and a `ClustersFinder` composed, as in Phoenix.

Phoenix's `pointcloud.PointCloud` holds the two Protocol objects and `generate` runs one after
the other; textlens does the same, with one difference that matters: clusters are found on the
embeddings, not on the 2-D map, whose distances UMAP and t-SNE distort. Either object can be any
implementation (a test injects its own), so the pipeline never chooses by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from textlens.latent.clustering import Clustering, ClustersFinder, cluster
from textlens.latent.projection import DimensionalityReducer, method_label


@dataclass(frozen=True)
class Cloud:
    """The 2-D map, the clusters, and how long each took."""

    xy: np.ndarray  # (n, 2) float32
    clustering: Clustering
    projection: str  # the reducer, for people ("UMAP")
    project_s: float
    cluster_s: float


def _computed(compute: Callable[[], np.ndarray]) -> np.ndarray:
    return compute()


@dataclass(frozen=True)
class PointCloud:
    reducer: DimensionalityReducer
    finder: ClustersFinder

    def generate(self, vectors: np.ndarray,
                 cached: Callable[[Callable[[], np.ndarray]], np.ndarray] = _computed) -> Cloud:
        """Project `vectors` to 2-D (through `cached`, e.g. the run cache) and cluster them."""
        start = time.perf_counter()
        xy = np.asarray(cached(lambda: self.reducer.project(vectors)), dtype=np.float32)
        if xy.shape != (len(vectors), 2):
            raise ValueError(f"{type(self.reducer).__name__}.project returned shape {xy.shape}, "
                             f"not ({len(vectors)}, 2)")
        middle = time.perf_counter()
        clustering = cluster(self.finder, vectors)
        return Cloud(xy, clustering, method_label(self.reducer), middle - start,
                     time.perf_counter() - middle)
