"""The two model-running steps of `analyze`: predictions, then embeddings, chunk by chunk.

Each chunk goes through the run cache under a key of the model's files, the chunk's ids and
texts (and gold labels for predictions: the loss depends on them) and the step's options, so a
killed run resumes at the first missing chunk and a rerun recomputes nothing. `embed_step` is a
separate function with a plain signature so that another engine (e.g. Ray) can replace it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from textlens.data.types import Dataset
from textlens.latent import tables
from textlens.latent.embeddings import embed_qa, embed_texts
from textlens.latent.options import AnalysisOptions
from textlens.latent.results import Embeddings, Predictions
from textlens.models.loading import LoadedModel
from textlens.store.run_db import RunCache, digest, fingerprint_data


@dataclass(frozen=True)
class ChunkKeys:
    """Cache keys of the chunks of one model on one dataset."""

    model_fingerprint: str
    frame: pd.DataFrame  # the base samples table (ids, texts, gold)
    text_columns: tuple[str, ...]
    gold_columns: tuple[str, ...]

    @classmethod
    def of(cls, model_fingerprint: str, frame: pd.DataFrame, qa: bool) -> ChunkKeys:
        texts = ("question", "context") if qa else ("text",)
        gold = ("answers", "answer_starts") if qa else ("label_index",)
        return cls(model_fingerprint, frame, texts, gold)

    def key(self, part: slice, step: str, *extra: object) -> str:
        cols = ["id", *self.text_columns, *(self.gold_columns if step == "pred" else ())]
        rows = zip(*(self.frame[c].iloc[part].astype(str) for c in cols), strict=True)
        return digest(self.model_fingerprint, fingerprint_data(rows), step, *extra)


def predict_step(loaded: LoadedModel, dataset: Dataset, keys: ChunkKeys, cache: RunCache,
                 label_names: Sequence[str] | None, chunk_size: int) -> Predictions:
    """Predictions, loss and correctness joined to the base samples table."""
    start = time.perf_counter()
    parts = tables.chunked(len(keys.frame), chunk_size, lambda part, _: cache.frame(
        "predictions", keys.key(part, "pred"),
        lambda: tables.predict_chunk(loaded, dataset, part)), "Predicting")
    frame = tables.add_predictions(keys.frame, pd.concat(parts, ignore_index=True), label_names)
    return Predictions(frame, time.perf_counter() - start)


def embed_step(loaded: LoadedModel, dataset: Dataset, predictions: Predictions, keys: ChunkKeys,
               cache: RunCache, options: AnalysisOptions) -> Embeddings:
    """(n, hidden) embeddings; QA span pooling reads the predicted spans."""
    start, frame, settings = time.perf_counter(), predictions.frame, asdict(options.embedding)

    def embed(part: slice) -> np.ndarray:
        if dataset.task == "qa":
            spans = list(zip(frame["pred_start"].iloc[part], frame["pred_end"].iloc[part],
                             strict=True))
            return embed_qa(loaded, list(dataset.examples[part]), spans, options.embedding,
                            progress=False)
        return embed_texts(loaded, list(frame["text"].iloc[part]), options.embedding,
                           progress=False)

    n, size = len(frame), options.chunk_size
    if options.engine.on_ray:  # embeds the uncached chunks on Ray; the loop below reads the cache
        from textlens.latent.ray_embeddings import prefill_embedding_cache

        parts = tables.chunks(n, size)
        prefill_embedding_cache(cache, loaded, frame, parts,
                                [keys.key(p, "emb", settings) for p in parts],
                                options.embedding, options.engine)
    vectors = np.concatenate(tables.chunked(n, size, lambda part, _: cache.array(
        "embeddings", keys.key(part, "emb", settings), lambda: embed(part)), "Embedding"))
    key = digest(keys.model_fingerprint,
                 [keys.key(p, "emb", settings) for p in tables.chunks(n, size)])
    return Embeddings(vectors, key, time.perf_counter() - start)
