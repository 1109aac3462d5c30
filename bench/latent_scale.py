"""Projection, clustering and the neighbour index at 100k / 300k / 1M stored vectors.

    python bench/latent_scale.py [--n 100000 300000 1000000] [--dim 384] [--skip-index]

Synthetic clustered Gaussians (60 topics, 384-d float32, MiniLM's width) are written once per n
to an .npy under $TMPDIR, then each n runs in a fresh child process that memory-maps the file as
`textlens analyze --embeddings` does (`read_stored`'s checks included: finiteness and the
content hash) and times UMAP (default reducer) and Affinity Propagation (default finder), then
the hnswlib neighbour index build and every sample's 10 nearest. Peak RSS is the child's
running maximum (VmHWM) after each step; mapped pages of the .npy count in it. Results in
bench/results/latent_scale.json with the machine block (load average: this machine is shared).
Target (#21): projection + clustering of 1M x 384 under 5 minutes and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record, timed  # noqa: E402

TOPICS = 60


def synthetic_file(n: int, dim: int, seed: int = 0) -> Path:
    """A seeded mixture of `TOPICS` Gaussians, written in chunks (never n x dim float64)."""
    path = Path(tempfile.gettempdir()) / f"textlens-scale-{n}x{dim}-{seed}.npy"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(TOPICS, dim)).astype(np.float32)
    out = np.lib.format.open_memmap(path.with_suffix(".tmp.npy"), mode="w+", dtype=np.float32,
                                    shape=(n, dim))
    for start in range(0, n, 100_000):
        rows = min(100_000, n - start)
        which = rng.integers(0, TOPICS, size=rows)
        out[start:start + rows] = centres[which] + rng.normal(
            scale=1.2, size=(rows, dim)).astype(np.float32)
    out.flush()
    del out
    os.replace(path.with_suffix(".tmp.npy"), path)
    return path


def peak_mb() -> float:
    """This process's peak RSS (VmHWM: per address space, unlike ru_maxrss, which a child
    inherits across exec from the parent that wrote the 1.5 GB file)."""
    status = Path("/proc/self/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return round(int(line.split()[1]) / 1024, 1)


def child(path: Path, index: bool) -> dict:
    """One n, in this (fresh) process: every step's seconds and the peak RSS after it."""
    from textlens.latent.clustering import AffinityPropagationFinder, cluster
    from textlens.latent.neighbours import NeighbourIndex
    from textlens.latent.projection import UMAPReducer
    from textlens.latent.stored import _check_finite, _npy_vectors, digest_vectors

    out: dict = {"baseline_rss_mb": peak_mb()}
    with timed() as t:
        vectors = np.load(path, mmap_mode="r")
        vectors = _npy_vectors(path, len(vectors), path)
        _check_finite(vectors, "vector", str)
        digest_vectors(vectors)
    out["load_check_hash_s"], out["after_load_rss_mb"] = round(t["seconds"], 1), peak_mb()
    with timed() as t:
        xy = UMAPReducer(seed=0).project(vectors)
    out["umap_s"], out["after_umap_rss_mb"] = round(t["seconds"], 1), peak_mb()
    with timed() as t:
        clustering = cluster(AffinityPropagationFinder(seed=0), vectors)
    out["affinity_s"], out["after_cluster_rss_mb"] = round(t["seconds"], 1), peak_mb()
    out["projection_and_clustering_s"] = round(out["umap_s"] + out["affinity_s"], 1)
    out["clusters"], out["map_finite"] = clustering.clusters, bool(np.isfinite(xy).all())
    if index:
        with timed() as t:
            built = NeighbourIndex.build(vectors)
        out["index_build_s"], out["index"] = round(t["seconds"], 1), (
            "exact" if built.exact else "hnswlib")
        with timed() as t:
            knn = built.knn_all(10)
        out["knn_all_s"], out["after_index_rss_mb"] = round(t["seconds"], 1), peak_mb()
        rng = np.random.default_rng(1)
        probe = rng.choice(len(vectors), 200, replace=False)
        from textlens.latent.projection import normalise

        unit = normalise(vectors[probe])  # recall of knn_all against brute force, 200 rows
        best_sim = np.full((len(probe), 10), -np.inf, dtype=np.float32)
        best_id = np.zeros((len(probe), 10), dtype=np.int64)
        for s in range(0, len(vectors), 65_536):  # one pass, a running top 10 per probe
            sims = unit @ normalise(vectors[s:s + 65_536]).T  # (200, chunk)
            ids = np.arange(s, s + sims.shape[1])
            sims[ids[None, :] == probe[:, None]] = -np.inf
            all_sim = np.concatenate([best_sim, sims], axis=1)
            all_id = np.concatenate([best_id, np.broadcast_to(ids, sims.shape)], axis=1)
            top = np.argpartition(-all_sim, 9, axis=1)[:, :10]
            best_sim = np.take_along_axis(all_sim, top, axis=1)
            best_id = np.take_along_axis(all_id, top, axis=1)
        hits = sum(len(set(t.tolist()) & set(knn[pos].tolist())) for t, pos in zip(
            best_id, probe, strict=True))
        out["knn_recall_at_10"] = round(hits / (10 * len(probe)), 3)
    out["peak_rss_mb"] = peak_mb()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--child", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, not args.skip_index)))
        return
    for n in args.n:
        path = synthetic_file(n, args.dim)
        cmd = [sys.executable, __file__, "--child", str(path)] + (
            ["--skip-index"] if args.skip_index else [])
        with timed() as t:
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result.update(n=n, dim=args.dim, wall_s=round(t["seconds"], 1), target_s=300,
                      target_rss_mb=4096)
        print(json.dumps(result), flush=True)
        record("latent_scale", f"n{n}", result)


if __name__ == "__main__":
    main()
