"""How a classification head's logits become probabilities, read from the model's config.

A softmax over the classes is right only for a single-label head with two or more logits. A head
with ONE logit (a binary classifier trained with a sigmoid/BCE, or a cross-encoder) has
probability sigmoid(z) of its class: a softmax over one logit is constantly 1, so every gradient
of it is 0 (this made `explain` return all-zero scores). A multi-label head
(`problem_type="multi_label_classification"`) has one sigmoid per class, and a regression head
(`problem_type="regression"`) has no probability at all, only its raw outputs.

A one-logit binary head is read as two classes, as Hugging Face numbers a binary task:
0 = "not NAME" (probability 1 - sigmoid(z), logit -z) and 1 = NAME (sigmoid(z), logit z).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

HeadKind = Literal["softmax", "binary", "multi_label", "regression"]


def head_kind(config: Any) -> HeadKind:
    """The head's kind from a Hugging Face config: `problem_type` first, then the logit count.
    One logit with no `problem_type` is read as binary (sigmoid): Hugging Face's Trainer writes
    `problem_type="regression"` into the config of a one-logit model it trained with MSE."""
    problem = getattr(config, "problem_type", None)
    if problem == "regression":
        return "regression"
    if problem == "multi_label_classification":
        return "multi_label"
    return "binary" if int(getattr(config, "num_labels", 2)) == 1 else "softmax"


def class_names(kind: HeadKind, label_names: Sequence[str]) -> tuple[str, ...]:
    """The classes a user names as targets: a binary head's two (see the module docstring)."""
    if kind == "binary":
        name = str(label_names[0]) if label_names else "positive"
        return (f"not {name}", name)
    return tuple(str(n) for n in label_names)


def probabilities(logits: np.ndarray, kind: HeadKind) -> np.ndarray:
    """Per-class probabilities of logits (..., C) for the head's kind: softmax; [1 - p, p] with
    p = sigmoid(z) for one logit; a sigmoid per class for multi-label. Regression has none: its
    raw outputs are returned (what "predicted" and "top-k" rank)."""
    z = np.asarray(logits, dtype=np.float64)
    if kind == "regression":
        return z
    if kind == "softmax":
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    p = _sigmoid(z)
    if kind == "binary":
        return np.concatenate([1.0 - p, p], axis=-1)
    return p


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of -|z| only, so no overflow warning at |z| > 709.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def prediction(logits: np.ndarray, kind: HeadKind,
               label_names: Sequence[str]) -> tuple[int, str, float]:
    """(class index, its name, confidence) of one row's logits (C,): the most probable class
    (for a binary head: by the sign of the logit) and its probability. For regression the
    "confidence" is the predicted value itself and the name carries it (`score = 3.14`)."""
    probs = probabilities(np.asarray(logits).reshape(-1), kind)
    names = class_names(kind, label_names)
    k = int(np.argmax(probs))
    name = names[k] if k < len(names) else str(k)
    if kind == "regression":
        return k, f"{name} = {float(probs[k]):.4g}", float(probs[k])
    return k, name, float(probs[k])
