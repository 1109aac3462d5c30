"""Local engine vs Ray engine (a local Ray runtime) on the shared UNGDC speeches; writes
bench/results/ray_engine.json (key "report", through bench/common.py).

    python bench/ray_engine.py [--countries 20 | --all] [--rounds 2] [--embeddings 872] [--name N]

1. `textlens corpus` (every sentence classified and committed to the run store; explanations,
   domain check, report and exports off, so the timing is the engine's) with the local engine
   and with `--engine ray` on the same documents, interleaved over rounds: wall time,
   sentences/s, and Ray's overhead in percent. The Ray wall time includes starting the local Ray
   runtime and the actors (each loads the model); both are also timed on their own.
2. The embedding step of `textlens analyze`: SST-2 validation sentences embedded locally and on
   Ray, samples/s, and the largest difference between the two (should be < 1e-5).

The local engine runs torch with one thread per core; the Ray engine runs one single-threaded
actor per core (the default sizing). The machine is shared: the load average is recorded before
and after every timed run (bench/common.py's `load_average`, and its machine block around the
whole), and figures from a loaded machine are upper bounds on the overhead's noise, not clean
timings.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from common import load_average, record, timed

MODEL = Path.home() / ".cache" / "textlens" / "models" / "sentiment-minilm"


def countries_where(n: int | None) -> str | None:
    """Every k-th country (sorted ISO3 codes) of the corpus, all five years: a spread subset."""
    if n is None:
        return None
    from textlens.corpus.ingest import ingest

    corpus = ingest("ungdc")
    codes = sorted({str(d.metadata["country"]) for d in corpus.documents})
    step = max(1, len(codes) // n)
    chosen = codes[::step][:n]
    return "country IN (" + ", ".join(f"'{c}'" for c in chosen) + ")"


def corpus_run(engine: str, where: str | None) -> dict:
    import torch

    from textlens.corpus.pipeline import CorpusOptions, run
    from textlens.corpus.sampling import SamplingOptions
    from textlens.engines import EngineChoice
    from textlens.models.loading import load_model

    torch.set_num_threads(os.cpu_count() or 1)
    options = CorpusOptions(where=where, sampling=SamplingOptions(size=0), n_boot=0,
                            domain_check=False, report=False, export=())
    before = load_average()
    with timed() as t:
        loaded = load_model(MODEL)
        sentence_engine = None
        if engine == "ray":
            from textlens.corpus.ray_engine import RayEngine

            sentence_engine = RayEngine(loaded, options.engine, EngineChoice("ray"))
        with tempfile.TemporaryDirectory() as out:
            result = run(loaded, "ungdc", out, options, engine=sentence_engine, progress=False)
    wall = t["seconds"]
    return {"engine": engine, "documents": result.n_documents, "sentences": result.n_sentences,
            "wall_s": round(wall, 1), "sentences_per_s": round(result.n_sentences / wall, 1),
            "load_average_before": before, "load_average_after": load_average()}


def ray_startup() -> dict:
    """Starting a local runtime, and a 2-actor pool that loads the model (one tiny batch)."""
    import ray

    from textlens.corpus.engine import Document
    from textlens.corpus.ray_engine import RayEngine
    from textlens.engines import EngineChoice
    from textlens.models.loading import load_model

    with timed() as runtime:
        ray.init(include_dashboard=False, log_to_driver=False)
    loaded = load_model(MODEL)
    with timed() as actors:
        RayEngine(loaded, choice=EngineChoice("ray")).predict(
            [Document(f"d{i}", "We welcome the agreement.") for i in range(2)])
    ray.shutdown()
    return {"runtime_start_s": round(runtime["seconds"], 1),
            "actor_pool_first_batch_s": round(actors["seconds"], 1),
            "load_average_after": load_average()}


def embeddings(n: int) -> dict:
    import numpy as np
    import pandas as pd
    import torch

    from textlens.data import load_dataset
    from textlens.engines import EngineChoice
    from textlens.latent.embeddings import EmbeddingOptions, embed_texts
    from textlens.latent.ray_embeddings import embed_on_ray
    from textlens.models.loading import load_model

    torch.set_num_threads(os.cpu_count() or 1)
    texts = [e.text for e in load_dataset("sst2", "validation").head(n)]
    loaded, options = load_model(MODEL), EmbeddingOptions()
    before = load_average()
    with timed() as t:
        local = embed_texts(loaded, texts, options, progress=False)
    local_s = t["seconds"]
    with timed() as t:
        on_ray = embed_on_ray(loaded, pd.DataFrame({"text": texts}), options, EngineChoice("ray"))
    ray_s = t["seconds"]
    return {"samples": len(texts), "local_s": round(local_s, 1), "ray_s": round(ray_s, 1),
            "local_per_s": round(len(texts) / local_s, 1),
            "ray_per_s": round(len(texts) / ray_s, 1),
            "ray_overhead_pct": round(100 * (ray_s / local_s - 1), 1),
            "max_abs_difference": float(np.abs(on_ray - local).max()),
            "ray_includes": "runtime start, actor start and model load",
            "load_average_before": before, "load_average_after": load_average()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--countries", type=int, default=20)
    parser.add_argument("--all", action="store_true", help="the whole 2016-2020 corpus")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--embeddings", type=int, default=872)
    parser.add_argument("--name", default="ray_engine", help="results file bench/results/NAME.json")
    args = parser.parse_args()
    os.environ.setdefault("TEXTLENS_PROGRESS", "0")
    if not (MODEL / "training.json").exists():
        raise SystemExit(f"no fine-tuned model at {MODEL}")
    where = None if args.all else countries_where(args.countries)
    runs = []
    for round_ in range(args.rounds):
        order = ("local", "ray") if round_ % 2 == 0 else ("ray", "local")
        for engine in order:
            runs.append({"round": round_, **corpus_run(engine, where)})
            print(json.dumps(runs[-1]), flush=True)
    walls = {e: statistics.median(r["wall_s"] for r in runs if r["engine"] == e)
             for e in ("local", "ray")}
    sentences = runs[0]["sentences"]
    startup = ray_startup()
    workers = os.cpu_count() or 1
    result = {
        "note": "shared by several engineers at once: load averages recorded; timings are "
                "upper bounds",
        "model": str(MODEL), "selection": where or "all 975 speeches, 2016-2020",
        "documents": runs[0]["documents"], "sentences": sentences, "runs": runs,
        "median_wall_s": walls,
        "median_sentences_per_s": {e: round(sentences / w, 1) for e, w in walls.items()},
        "ray_overhead_pct": round(100 * (walls["ray"] / walls["local"] - 1), 1),
        "target_overhead_pct": 25,
        "ray_actors": workers, "ray_per_actor_sentences_per_s": round(
            sentences / walls["ray"] / workers, 1),
        "ray_startup": startup,
        "embeddings": embeddings(args.embeddings) if args.embeddings else None,
    }
    record(args.name, "report", result)
    print(json.dumps({k: result[k] for k in ("median_wall_s", "median_sentences_per_s",
                                             "ray_overhead_pct")}, indent=2))


if __name__ == "__main__":
    main()
