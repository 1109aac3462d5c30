"""Domain warning: does the corpus look like the text the model was trained on?

A seeded sample of the training data (named in the model's `training.json`) and one of the
corpus's sentences are embedded with the model ([CLS] of the last layer, what the classifier
head reads) and compared with the latent-space shift measures of `textlens.latent.shift`:
k-NN mixing (0 = as mixed as chance, 1 = every neighbour from the same source) and the
balanced accuracy of a classifier telling the two apart (0.5 = indistinguishable).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FAR_MIXING = 0.5  # above: most neighbours come from the sample's own source
FAR_ACCURACY = 0.9
# Fewer corpus sentences than this and k-NN mixing says nothing: with 2 sentences beside 500
# reference ones, the rescaling by 1 - expected share blew up to -2.05, outside its 0..1 scale.
MIN_SENTENCES = 20


@dataclass(frozen=True)
class DomainCheck:
    reference: str  # what the corpus was compared with, e.g. "sst2/train"
    mixing: float
    classifier_balanced_accuracy: float | None
    far: bool
    message: str
    points: np.ndarray  # (n, 2) PCA of the embeddings, for the figure
    sources: tuple[str, ...]  # "training data" / "corpus" per point
    reference_confidence: np.ndarray  # the model's confidence on the reference sample


def training_reference(model_source: str) -> tuple[str, str] | None:
    """(dataset, split) the model was trained on, from its training.json, if recorded."""
    record = Path(model_source) / "training.json"
    if not record.is_file():
        return None
    info = json.loads(record.read_text(encoding="utf-8"))
    data = info.get("data")
    return (str(data), str(info.get("train_split", "train"))) if data else None


def verdict(mixing: float, accuracy: float | None, reference: str,
            corpus_n: int | None = None) -> tuple[bool, str]:
    if corpus_n is not None and corpus_n < MIN_SENTENCES:
        return False, (f"Too few corpus sentences ({corpus_n}) to say whether the corpus is "
                       f"close to the model's training data ({reference}): the check needs at "
                       f"least {MIN_SENTENCES}.")
    if not np.isfinite(mixing):
        return False, (f"The corpus could not be compared with the model's training data "
                       f"({reference}): one of the two samples is empty.")
    mixing = min(1.0, max(0.0, mixing))  # below 0: more mixed than chance, shown as 0
    far = mixing >= FAR_MIXING or (accuracy is not None and accuracy >= FAR_ACCURACY)
    acc = "n/a" if accuracy is None else f"{accuracy:.2f}"
    if far:
        return True, (f"The corpus lies far from the model's training data ({reference}) in the "
                      f"model's own latent space (k-NN mixing {mixing:.2f}, where 0 is fully "
                      f"mixed and 1 fully separated; a classifier tells the two apart with "
                      f"balanced accuracy {acc}). The model is applied outside the kind of text "
                      "it learned from: treat its labels, and every count and share built on "
                      "them, as uncalibrated until checked against hand-labelled corpus "
                      "sentences.")
    return False, (f"The corpus is close to the model's training data ({reference}) in its "
                   f"latent space (k-NN mixing {mixing:.2f}, classifier balanced accuracy {acc}).")


def check_domain(loaded, corpus_texts: Sequence[str], reference_texts: Sequence[str],
                 reference: str, k: int = 10, seed: int = 0,
                 progress: bool = True) -> DomainCheck:
    """Embed both samples and measure how separated they are."""
    from sklearn.decomposition import PCA

    from textlens.latent.embeddings import EmbeddingOptions, embed_texts
    from textlens.latent.projection import normalise
    from textlens.latent.shift import classifier_accuracy, mixing_score
    from textlens.models.predict import predict_classification

    texts = [*reference_texts, *corpus_texts]
    sources = ("training data",) * len(reference_texts) + ("corpus",) * len(corpus_texts)
    vectors = embed_texts(loaded, texts, EmbeddingOptions(batch_size=64, max_length=128),
                          progress=progress)
    unit = normalise(vectors)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    k = min(k, len(texts) - 1)
    neighbours = np.argsort(-similarity, axis=1)[:, :k]
    mixing = mixing_score(neighbours, sources)
    accuracy = classifier_accuracy(vectors, sources, seed=seed)
    far, message = verdict(mixing, accuracy, reference, len(corpus_texts))
    points = PCA(n_components=2, random_state=seed).fit_transform(unit)
    ref_conf = predict_classification(loaded, list(reference_texts), progress=False).confidence
    return DomainCheck(reference, mixing, accuracy, far, message, points.astype(np.float32),
                       sources, np.asarray(ref_conf))
