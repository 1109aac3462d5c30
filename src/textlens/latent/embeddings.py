"""Sample embeddings from a model's hidden states: one vector a sample, for maps and neighbours.

Samples go through the model in batches of near-equal length (sorted, padded per batch, no
gradients: `models.predict.length_batches`), so results do not depend on the order or the
batch size (tested) and little compute is spent on padding.

Classification pools the chosen layer with [CLS] (what the classifier head reads) or the mean
over tokens. QA pools the question+context window with [CLS], the mean, or the mean over the
predicted span's tokens (the states the span head scored), for which the window holding the
predicted span is the one embedded; otherwise the first window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from textlens.data.types import QAExample
from textlens.models.loading import LoadedModel
from textlens.models.predict import inference_batching, length_batches
from textlens.models.qa import char_span_to_tokens, encode_qa, qa_windowing
from textlens.progress import track

if TYPE_CHECKING:
    import torch

Pooling = Literal["cls", "mean", "span"]


@dataclass(frozen=True)
class EmbeddingOptions:
    layer: int = -1  # index into hidden_states: -1 = last layer, 0 = the embedding layer
    pooling: Pooling | None = None  # None: cls for classification, mean for QA
    batch_size: int | None = None  # None: by device (models.predict.inference_batching)
    max_length: int = 384
    max_tokens: int | None = None  # padded tokens a batch may hold; None: by device

    def pooling_for(self, task: str) -> Pooling:
        if self.pooling is not None:
            return self.pooling
        return "mean" if task == "qa" else "cls"


def _pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: Pooling,
          spans: Sequence[tuple[int, int] | None] | None) -> torch.Tensor:
    """Pool one batch of hidden states (batch, tokens, dim) to (batch, dim)."""
    import torch

    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.to(hidden.dtype)
    if pooling == "span" and spans is not None:
        weights = weights.clone()
        for row, span in enumerate(spans):
            if span is not None and span[0] > 0:
                weights[row] = 0
                weights[row, span[0]:span[1] + 1] = 1
    weights = weights.unsqueeze(-1)
    return (hidden * weights).sum(1) / torch.clamp(weights.sum(1), min=1.0)


def _run(loaded: LoadedModel, features: list[dict[str, list[int]]], options: EmbeddingOptions,
         pooling: Pooling, spans: list[tuple[int, int] | None] | None,
         progress: bool) -> np.ndarray:
    import torch

    dim = int(loaded.model.config.hidden_size)
    out = np.zeros((len(features), dim), dtype=np.float32)
    rows, tokens = inference_batching(loaded.device, options.batch_size, options.max_tokens)
    batches = length_batches([len(f["input_ids"]) for f in features], rows, tokens)
    many = progress and len(batches) > 1
    iterator = track(batches, "Embedding") if many else batches
    with torch.inference_mode():
        for batch in iterator:
            padded = loaded.tokenizer.pad([features[i] for i in batch], return_tensors="pt")
            padded = padded.to(loaded.device)
            result = loaded.model(**padded, output_hidden_states=True)
            hidden = result.hidden_states[options.layer].float()
            batch_spans = [spans[i] for i in batch] if spans is not None else None
            pooled = _pool(hidden, padded["attention_mask"], pooling, batch_spans)
            out[batch] = pooled.cpu().numpy()
    return out


def embed_texts(loaded: LoadedModel, texts: Sequence[str],
                options: EmbeddingOptions = EmbeddingOptions(),
                progress: bool = True) -> np.ndarray:
    """(n, hidden) float32 embeddings of single texts (classification models)."""
    pooling = options.pooling_for("classification")
    if pooling == "span":
        raise ValueError("span pooling needs QA predictions; use cls or mean for texts")
    max_length = min(options.max_length, loaded.max_length)
    enc = loaded.tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    features = [{k: enc[k][i] for k in enc} for i in range(len(texts))]
    return _run(loaded, features, options, pooling, None, progress)


def embed_qa(loaded: LoadedModel, examples: Sequence[QAExample],
             predicted_spans: Sequence[tuple[int, int]] | None = None,
             options: EmbeddingOptions = EmbeddingOptions(), stride: int | None = None,
             progress: bool = True) -> np.ndarray:
    """(n, hidden) embeddings of question+context windows; `span` pooling needs the predicted
    (start_char, end_char) spans."""
    pooling = options.pooling_for("qa")
    if pooling == "span" and predicted_spans is None:
        raise ValueError("span pooling needs the QA predictions")
    max_length = min(options.max_length, loaded.max_length)
    feats = encode_qa(loaded.tokenizer, examples, max_length,
                      qa_windowing(loaded, max_length, stride).stride)
    chosen: list[int | None] = [None] * len(examples)
    spans: list[tuple[int, int] | None] = [None] * len(examples)
    for i, ex in enumerate(feats.example_index):
        if chosen[ex] is None:
            chosen[ex] = i
        if pooling == "span" and predicted_spans is not None and spans[ex] is None:
            start_char, end_char = predicted_spans[ex]
            tokens = char_span_to_tokens(feats.offsets[i], start_char, end_char)
            if tokens != (0, 0):
                chosen[ex], spans[ex] = i, tokens
    features = []
    for i in chosen:
        assert i is not None
        item = {"input_ids": feats.input_ids[i], "attention_mask": feats.attention_mask[i]}
        if feats.token_type_ids is not None:
            item["token_type_ids"] = feats.token_type_ids[i]
        features.append(item)
    return _run(loaded, features, options, pooling, spans if pooling == "span" else None,
                progress)
