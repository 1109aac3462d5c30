"""Benchmark of the latent analysis at scale; writes bench/results/latent.json.

    python bench/latent.py [--n 100000] [--skip-embed]

1. 100k synthetic 384-dim embeddings (a seeded mixture of 60 Gaussian topics on the sphere,
   the dimension of MiniLM) projected with UMAP and clustered with Affinity Propagation
   (fitted on a 3,000 sample, the rest assigned) -- target < 180 s on 2 cores.
2. Similar-sample queries at 100k (hnswlib above 50k) and at 10k (exact) -- target < 50 ms.
3. Embedding throughput (samples/s) of the MiniLM classifier at SST-2 lengths and of the QA
   model at SQuAD lengths (384-token windows), on the real data.
4. `--flip-check RUN`: flip 5% of a classification run's labels, rank label issues with the
   run's out-of-sample probabilities, report the share of flips in the top k (k = #flips).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
MODELS = Path.home() / ".cache" / "textlens" / "models"


def synthetic(n: int, dim: int = 384, topics: int = 60, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim))
    which = rng.integers(0, topics, size=n)
    return (centres[which] + rng.normal(scale=1.2, size=(n, dim))).astype(np.float32)


def bench_map(n: int) -> dict:
    from textlens.latent.clustering import AffinityPropagationFinder, cluster
    from textlens.latent.projection import UMAPReducer

    x = synthetic(n)
    t0 = time.perf_counter()
    xy = UMAPReducer(seed=0).project(x)
    t1 = time.perf_counter()
    result = cluster(AffinityPropagationFinder(seed=0), x)
    t2 = time.perf_counter()
    return {"n": n, "dim": x.shape[1], "umap_s": round(t1 - t0, 1),
            "affinity_propagation_s": round(t2 - t1, 1), "total_s": round(t2 - t0, 1),
            "clusters": int(len(np.unique(result.labels))), "ap_fitted_on": result.fitted_on,
            "map_finite": bool(np.isfinite(xy).all()), "target_s": 180}


def bench_similar(n: int, queries: int = 200) -> dict:
    from textlens.latent.neighbours import NeighbourIndex

    x = synthetic(n, seed=1)
    t0 = time.perf_counter()
    index = NeighbourIndex.build(x)
    build = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    times = []
    for pos in rng.integers(0, n, size=queries):
        t = time.perf_counter()
        index.query(int(pos), 10)
        times.append((time.perf_counter() - t) * 1000)
    exact = NeighbourIndex(x)
    recall = []
    for pos in rng.integers(0, n, size=50):
        a = set(index.query(int(pos), 10).indices.tolist())
        b = set(exact.query(int(pos), 10).indices.tolist())
        recall.append(len(a & b) / 10)
    return {"n": n, "index": "exact" if index.exact else "hnswlib", "build_s": round(build, 1),
            "query_ms_median": round(float(np.median(times)), 2),
            "query_ms_p95": round(float(np.percentile(times, 95)), 2),
            "recall_at_10_vs_exact": round(float(np.mean(recall)), 3), "target_ms": 50}


def bench_embed(n: int = 256) -> dict:
    from textlens.data import load_dataset
    from textlens.latent.embeddings import EmbeddingOptions, embed_qa, embed_texts
    from textlens.models.loading import load_model, new_model

    out = {}
    sst = load_dataset("sst2", "validation").head(n)
    model_dir = MODELS / "sentiment-minilm"
    clf = (load_model(model_dir, device="cpu") if model_dir.exists()
           else new_model("classification", label_names=("neg", "pos"), device="cpu"))
    texts = [e.text for e in sst]
    embed_texts(clf, texts[:32])  # warm-up
    t = time.perf_counter()
    embed_texts(clf, texts, EmbeddingOptions(batch_size=64))
    out["sst2"] = {"n": len(texts), "samples_per_s": round(len(texts) / (time.perf_counter() - t),
                                                           1), "model": clf.source}
    squad = load_dataset("squad", "validation").head(n // 2)
    qa_dir = MODELS / "squad-minilm"
    qa = load_model(qa_dir, device="cpu") if qa_dir.exists() else new_model("qa", device="cpu")
    t = time.perf_counter()
    embed_qa(qa, list(squad.examples), options=EmbeddingOptions(batch_size=32))
    out["squad"] = {"n": len(squad), "samples_per_s": round(len(squad) / (time.perf_counter() - t),
                                                            1), "model": qa.source}
    return out


def flip_check(run: str, rate: float = 0.05, seeds: int = 5) -> dict:
    """Flip `rate` of a classification run's labels; share of flips in the top-k label issues.

    Uses the run's stored out-of-sample probabilities, so it measures the ranking, not the model.
    """
    from textlens.latent.label_issues import classification_issues
    from textlens.store.run_db import query

    frame = query(run, "SELECT * FROM samples")
    probs = frame[sorted(c for c in frame if c.startswith("p_"))].to_numpy()
    names = tuple(str(i) for i in range(probs.shape[1]))
    precision = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        flip = rng.choice(len(frame), int(rate * len(frame)), replace=False)
        labels = frame["label_index"].to_numpy().copy()
        labels[flip] = (labels[flip] + 1 + rng.integers(0, probs.shape[1] - 1, len(flip))) \
            % probs.shape[1]
        issues = classification_issues(list(frame["id"]), labels, probs, names)
        top = {issue.id for issue in issues[:len(flip)]}
        precision.append(len(top & set(frame["id"].to_numpy()[flip])) / len(flip))
    return {"run": run, "rate": rate, "flipped": int(rate * len(frame)),
            "precision_at_k_per_seed": [round(p, 3) for p in precision],
            "mean": round(float(np.mean(precision)), 3), "random": rate}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--skip-embed", action="store_true")
    parser.add_argument("--out", default=str(RESULTS / "latent.json"))
    parser.add_argument("--flip-check", metavar="RUN", help="only the flipped-label check on RUN")
    args = parser.parse_args()
    if args.flip_check:
        print(json.dumps(flip_check(args.flip_check), indent=2))
        return
    os.environ.setdefault("TEXTLENS_PROGRESS", "0")
    import torch

    result = {"machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "python": sys.version.split()[0], "platform": platform.platform(),
                          "note": "2 cores shared with other jobs; timings are upper bounds"}}
    result["similar_100k"] = bench_similar(args.n)
    print(json.dumps(result["similar_100k"]), flush=True)
    result["similar_10k"] = bench_similar(10_000)
    result["project_and_cluster"] = bench_map(args.n)
    print(json.dumps(result["project_and_cluster"]), flush=True)
    if not args.skip_embed:
        result["embedding_throughput"] = bench_embed()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
