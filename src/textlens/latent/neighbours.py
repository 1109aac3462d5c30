"""Similar samples: cosine k-nearest neighbours in embedding space.

Below `EXACT_LIMIT` (50,000) samples a query is one matrix-vector product over the normalised
embeddings: exact, and a few milliseconds. Above it an hnswlib HNSW index (approximate, recall
typically > 0.95 at these settings) keeps queries sub-millisecond; it is saved beside the run so
`textlens similar` does not rebuild it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from textlens.latent.projection import BATCH, normalise

if TYPE_CHECKING:
    import pandas as pd

EXACT_LIMIT = 50_000


@dataclass(frozen=True)
class Neighbours:
    indices: np.ndarray  # (k,) positions of the neighbours, most similar first
    similarities: np.ndarray  # (k,) cosine similarities


class NeighbourIndex:
    """Exact or HNSW cosine index over a fixed set of embeddings.

    Exact: a normalised copy (small: at most `EXACT_LIMIT` rows). HNSW: the vectors as given
    (e.g. memory-mapped), since hnswlib's cosine space normalises what it stores and every
    query; a second normalised copy at 1M x 384 would be 1.5 GB more."""

    def __init__(self, vectors: np.ndarray, hnsw: Any | None = None) -> None:
        self.vectors = vectors if hnsw is not None else normalise(vectors)
        self.hnsw = hnsw

    @classmethod
    def build(cls, vectors: np.ndarray, exact_limit: int = EXACT_LIMIT, seed: int = 0,
              ef_construction: int = 100, m: int = 16) -> NeighbourIndex:
        if len(vectors) <= exact_limit:
            return cls(vectors)
        import hnswlib

        hnsw = hnswlib.Index(space="cosine", dim=vectors.shape[1])
        hnsw.init_index(max_elements=len(vectors), ef_construction=ef_construction, M=m,
                        random_seed=seed)
        for start in range(0, len(vectors), BATCH):  # float32 batches: no copy of the whole
            block = np.ascontiguousarray(vectors[start:start + BATCH], dtype=np.float32)
            hnsw.add_items(block, np.arange(start, start + len(block)))
        hnsw.set_ef(64)
        return cls(vectors, hnsw)

    @property
    def exact(self) -> bool:
        return self.hnsw is None

    def save(self, path: str | Path) -> None:
        """Write the HNSW graph (exact indexes have nothing to save)."""
        if self.hnsw is not None:
            self.hnsw.save_index(str(path))

    @classmethod
    def load(cls, vectors: np.ndarray, path: str | Path | None) -> NeighbourIndex:
        if path is None or not Path(path).exists():
            return cls.build(vectors, exact_limit=max(EXACT_LIMIT, len(vectors)))
        import hnswlib

        hnsw = hnswlib.Index(space="cosine", dim=vectors.shape[1])
        hnsw.load_index(str(path), max_elements=len(vectors))
        hnsw.set_ef(64)
        return cls(vectors, hnsw)

    def query(self, position: int, k: int = 10) -> Neighbours:
        """The k samples most similar to sample `position`, itself excluded."""
        return self.query_vector(self.vectors[position], k, exclude=position)

    def query_vector(self, vector: np.ndarray, k: int = 10,
                     exclude: int | None = None) -> Neighbours:
        k = min(k, len(self.vectors) - (exclude is not None))
        vector = normalise(vector.reshape(1, -1))[0]
        if self.hnsw is not None:
            labels, dist = self.hnsw.knn_query(vector, k=k + 1)
            pairs = [(int(i), 1.0 - float(d)) for i, d in zip(labels[0], dist[0], strict=True)
                     if i != exclude][:k]
            idx = np.array([p[0] for p in pairs], dtype=np.int64)
            return Neighbours(idx, np.array([p[1] for p in pairs], dtype=np.float32))
        sims = self.vectors @ vector
        if exclude is not None:
            sims[exclude] = -np.inf
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return Neighbours(top.astype(np.int64), sims[top].astype(np.float32))

    def knn_all(self, k: int = 10) -> np.ndarray:
        """(n, k) neighbour positions of every sample, itself excluded (for shift scores)."""
        n = len(self.vectors)
        k = min(k, n - 1)
        if self.hnsw is not None:
            out = np.empty((n, k), dtype=np.int64)
            for start in range(0, n, BATCH):
                block = np.ascontiguousarray(self.vectors[start:start + BATCH], dtype=np.float32)
                labels, _ = self.hnsw.knn_query(block, k=k + 1)
                keep = labels != np.arange(start, start + len(block))[:, None]
                keep[keep.all(axis=1), -1] = False  # itself not found: drop the farthest
                out[start:start + len(block)] = labels[keep].reshape(len(block), k)
            return out
        out = np.empty((n, k), dtype=np.int64)
        chunk = max(64, (1 << 25) // n)  # at most ~128 MB of similarities at a time
        for start in range(0, n, chunk):
            sims = self.vectors[start:start + chunk] @ self.vectors.T
            rows = np.arange(len(sims))
            sims[rows, rows + start] = -np.inf
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
            out[start:start + chunk] = np.take_along_axis(top, order, axis=1)
        return out


def similar_samples(run_dir: str | Path, sample_id: str, k: int = 10) -> pd.DataFrame:
    """The k nearest samples of `sample_id` in a run, as a frame (id, similarity, text, ...)."""
    from textlens.errors import DataError
    from textlens.store.run_db import query

    run = Path(run_dir)
    cols = query(run, "SELECT column_name FROM (DESCRIBE samples)")["column_name"].tolist()
    shown = [c for c in ("id", "split", "title", "question", "text", "label", "prediction", "loss",
                         "cluster") if c in cols]
    frame = query(run, f"SELECT {', '.join(shown)} FROM samples")
    matches = (frame["id"].astype(str) == str(sample_id)).to_numpy().nonzero()[0]
    if not len(matches):
        raise DataError(f"No sample with id '{sample_id}' in {run}.",
                        "list ids with `textlens query RUN \"SELECT id FROM samples LIMIT 20\"`.")
    vectors = np.load(run / "embeddings.npy", mmap_mode="r")
    hnsw = run / "neighbours.hnsw"
    index = NeighbourIndex.load(np.asarray(vectors), hnsw if hnsw.exists() else None)
    found = index.query(int(matches[0]), k)
    out = frame.iloc[found.indices].reset_index(drop=True)
    out.insert(1, "similarity", found.similarities.astype(np.float64).round(4))
    return out
