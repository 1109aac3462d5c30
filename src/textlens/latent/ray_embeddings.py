"""The embedding step of `textlens analyze` on Ray: rows in, one vector a row out, same numbers.

Each actor of the pool loads the model once, from its directory, and runs the very functions the
local engine runs (`embed_texts`, `embed_qa`) on its batch of rows, so the vectors agree with the
local engine's within float rounding (padding differs by batch; measured <1e-6). Results come
back in any order and are put back in row order by their row index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from textlens.engines import EngineChoice
from textlens.engines.ray_runtime import model_directory, ray_session, size_actors, stream_batches
from textlens.latent.embeddings import EmbeddingOptions

if TYPE_CHECKING:
    from textlens.models.loading import LoadedModel
    from textlens.store.run_db import RunCache

ROW = "_row"
BATCHES_PER_ACTOR = 4  # enough batches that a slow actor does not hold up the others at the end


class EmbedActor:
    """Ray Data callable class: the model is loaded once per actor, in `__init__`."""

    def __init__(self, source: str, task: str, options: dict[str, Any], device: str,
                 threads: int) -> None:
        import torch

        from textlens.models.loading import load_model

        torch.set_num_threads(threads)
        self.loaded = load_model(source, task=task, device=device)  # type: ignore[arg-type]
        self.options = EmbeddingOptions(**options)

    def __call__(self, batch: pd.DataFrame) -> dict[str, np.ndarray]:
        from textlens.latent.embeddings import embed_qa, embed_texts

        if self.loaded.task == "qa":
            from textlens.data.types import QAExample

            examples = [QAExample(str(i), "", c, q, ()) for i, q, c in
                        zip(batch[ROW], batch["question"], batch["context"], strict=True)]
            spans = (list(zip(batch["pred_start"].astype(int), batch["pred_end"].astype(int),
                              strict=True)) if "pred_start" in batch else None)
            vectors = embed_qa(self.loaded, examples, spans, self.options, progress=False)
        else:
            vectors = embed_texts(self.loaded, list(batch["text"]), self.options, progress=False)
        return {ROW: batch[ROW].to_numpy(), "vector": vectors}


def embed_on_ray(loaded: LoadedModel, rows: pd.DataFrame, options: EmbeddingOptions,
                 engine: EngineChoice | None = None) -> np.ndarray:
    """(len(rows), hidden) float32 embeddings; `rows` holds `text` (classification) or
    `question`, `context` and, for span pooling, `pred_start`/`pred_end` (QA)."""
    import ray.data

    engine = engine or EngineChoice("ray")
    source = model_directory(loaded)
    columns = ["question", "context"] if loaded.task == "qa" else ["text"]
    if loaded.task == "qa" and options.pooling_for("qa") == "span":
        columns += ["pred_start", "pred_end"]
    table = rows[columns].reset_index(drop=True)
    table[ROW] = np.arange(len(table))
    dim = int(loaded.model.config.hidden_size)
    out = np.zeros((len(table), dim), dtype=np.float32)
    if not len(table):
        return out
    with ray_session(engine.ray_address) as cluster:
        sizing = size_actors(cluster, engine.workers)  # GPU actors where the cluster has GPUs
        per_batch = _rows_per_batch(len(table), sizing.actors, options.batch_size)
        blocks = [table.iloc[i:i + per_batch] for i in range(0, len(table), per_batch)]
        dataset = ray.data.from_pandas(blocks).map_batches(
            EmbedActor, batch_size=None, batch_format="pandas",
            fn_constructor_kwargs={"source": source, "task": loaded.task,
                                   "options": asdict(options), "device": sizing.device,
                                   "threads": sizing.threads},
            **sizing.map_batches_args())
        seen = 0
        for batch in stream_batches(dataset, len(table), "Embedding (Ray)", "numpy",
                                    lambda batch: len(batch[ROW])):
            out[batch[ROW]] = batch["vector"]
            seen += len(batch[ROW])
    if seen != len(table):  # each block is one task: a retried task is returned once
        raise RuntimeError(f"Ray returned {seen} embeddings for {len(table)} rows")
    return out


def _rows_per_batch(n: int, actors: int, batch_size: int) -> int:
    """Large enough for full length-sorted model batches, small enough to spread the work."""
    return max(batch_size, min(batch_size * 8, math.ceil(n / (actors * BATCHES_PER_ACTOR))))


def prefill_embedding_cache(cache: RunCache, loaded: LoadedModel, frame: pd.DataFrame,
                            parts: Sequence[slice], keys: Sequence[str],
                            options: EmbeddingOptions, engine: EngineChoice) -> int:
    """Embed on Ray, in one pass, every chunk whose cache entry is missing, and cache it, so the
    pipeline's chunk loop then finds every chunk cached (resume works as with the local engine).
    Returns the number of rows embedded."""
    missing = [(p, k) for p, k in zip(parts, keys, strict=True) if not cache.has("embeddings", k)]
    if not missing:
        return 0
    rows = pd.concat([frame.iloc[p] for p, _ in missing])
    vectors = embed_on_ray(loaded, rows, options, engine)
    start = 0
    for part, key in missing:
        size = len(frame.iloc[part])
        chunk = vectors[start:start + size]
        cache.array("embeddings", key, lambda chunk=chunk: chunk)
        start += size
    return len(rows)
