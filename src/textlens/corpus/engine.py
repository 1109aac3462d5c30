"""The prediction engine seam: documents in, one classified row per sentence out.

`SentenceEngine` is the Protocol the corpus pipeline calls; `LocalEngine` runs in this process.
Every engine must produce its rows with `predict_documents` (segment, then `predict_sentences`)
so that a distributed engine gives exactly the rows a local one gives. Rows come back ordered by
(document order in the call, sentence_id), whatever order the batches ran in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from textlens.corpus.segment import SEGMENTERS, segment
from textlens.errors import InputError
from textlens.models.loading import LoadedModel

NEUTRAL = "neutral"


@dataclass(frozen=True)
class Document:
    """One document of the corpus: its id, its original text and its metadata."""

    doc_id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SentenceSpan:
    """A sentence to classify: cleaned `text`, [start, end) in its document's original text."""

    doc_id: str
    sentence_id: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class SentenceRow:
    """A classified sentence. `probabilities` follow the model's label order; `label` is the
    argmax, or `neutral` inside the neutral band; `confidence` is the top probability."""

    doc_id: str
    sentence_id: int
    text: str
    start: int
    end: int
    label: str
    confidence: float
    probabilities: tuple[float, ...]
    n_tokens: int
    truncated: bool


@dataclass(frozen=True)
class EngineOptions:
    segmenter: str = "rules"
    batch_size: int | None = None  # sentences per pass; None: by device (`inference_batching`)
    neutral_band: tuple[float, float] | None = None  # on p(positive), binary models only
    max_length: int | None = None  # tokens; default the model's limit (longer: truncated, flagged)
    max_tokens: int | None = None  # padded tokens per pass; None: by device

    def check(self) -> None:
        if self.segmenter not in SEGMENTERS:
            raise InputError(f"Unknown segmenter '{self.segmenter}'.",
                             f"use one of {', '.join(SEGMENTERS)}.")
        if self.batch_size is not None and self.batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {self.batch_size}.",
                             "pass a positive --batch-size such as 128.")
        if self.neutral_band is not None:
            low, high = self.neutral_band
            if not 0.0 <= low < high <= 1.0:
                raise InputError(f"Neutral band {low},{high} is not a range inside [0, 1].",
                                 "pass --neutral-band LOW,HIGH with 0 <= LOW < HIGH <= 1, "
                                 "e.g. 0.4,0.6.")


@runtime_checkable
class SentenceEngine(Protocol):
    """Classifies every sentence of a batch of documents."""

    def predict(self, documents: Sequence[Document]) -> list[SentenceRow]:
        """Rows ordered by (position of the document in `documents`, sentence_id)."""
        ...


@dataclass(frozen=True)
class LocalEngine:
    """Runs `predict_documents` in this process, on the model's device."""

    loaded: LoadedModel
    options: EngineOptions = EngineOptions()

    def predict(self, documents: Sequence[Document]) -> list[SentenceRow]:
        return predict_documents(self.loaded, documents, self.options)


def segment_documents(documents: Sequence[Document], segmenter: str = "rules") -> list[SentenceSpan]:
    """Every sentence of every document, in document order; sentence ids count from 0."""
    return [SentenceSpan(doc.doc_id, i, s.text, s.start, s.end)
            for doc in documents for i, s in enumerate(segment(doc.text, segmenter))]


def predict_documents(loaded: LoadedModel, documents: Sequence[Document],
                      options: EngineOptions = EngineOptions()) -> list[SentenceRow]:
    """Segment and classify: the one function every engine runs on its share of documents."""
    return predict_sentences(loaded, segment_documents(documents, options.segmenter),
                             options.batch_size, neutral_band=options.neutral_band,
                             max_length=options.max_length, max_tokens=options.max_tokens)


def predict_sentences(loaded: LoadedModel, sentences: Sequence[SentenceSpan],
                      batch_size: int | None = None, *,
                      neutral_band: tuple[float, float] | None = None,
                      max_length: int | None = None,
                      max_tokens: int | None = None) -> list[SentenceRow]:
    """Classify sentences through the one inference path (`models.predict.predict_classification`:
    the tokenizer's truncation as in training, head-aware probabilities, token-budget batches
    sized by device); rows come back in the order of `sentences`. Pure: same model and input,
    same rows."""
    from textlens.models.predict import predict_classification

    if not sentences:
        return []
    preds = predict_classification(loaded, [s.text for s in sentences], batch_size=batch_size,
                                   max_length=max_length, max_tokens=max_tokens, progress=False,
                                   warn_truncated=False)
    probs, lengths, cut = preds.probabilities, preds.n_tokens, preds.truncated
    labels = assign_labels(probs, preds.label_names, neutral_band)
    return [SentenceRow(s.doc_id, s.sentence_id, s.text, s.start, s.end, labels[i],
                        float(probs[i].max()), tuple(float(p) for p in probs[i]),
                        int(lengths[i]), bool(cut[i]))
            for i, s in enumerate(sentences)]


def assign_labels(probs: np.ndarray, label_names: Sequence[str],
                  neutral_band: tuple[float, float] | None) -> list[str]:
    """Argmax labels; with a band, a binary model's sentences whose p(positive) falls inside
    [low, high] are `neutral`."""
    names = list(label_names)
    labels = [names[int(i)] for i in probs.argmax(axis=1)]
    if neutral_band is None:
        return labels
    signs = polarity(names)
    if signs is None:
        raise InputError(f"The model's labels {names} are not sentiment labels: a neutral band "
                         "lies between a positive and a negative class.", "drop --neutral-band.")
    positive = signs.index(1)
    low, high = neutral_band
    inside = (probs[:, positive] >= low) & (probs[:, positive] <= high)
    return [NEUTRAL if flag else label for flag, label in zip(inside, labels, strict=True)]


def polarity(label_names: Sequence[str]) -> list[int] | None:
    """+1 / 0 / -1 per label name (positive / neutral / negative); None when the names are not
    sentiment (a name it cannot read, or no positive and negative class): the run then counts
    classes, with no net sentiment."""
    signs = []
    for name in label_names:
        low = str(name).lower()
        if low.startswith("pos"):
            signs.append(1)
        elif low.startswith("neg"):
            signs.append(-1)
        elif low.startswith("neu"):
            signs.append(0)
        else:
            return None
    if 1 not in signs or -1 not in signs:
        return None
    return signs
