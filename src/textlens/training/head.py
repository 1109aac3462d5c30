"""Fit a classifier's head to the classes a corpus is labelled with.

The classes the researcher labels with may add one the model lacks (neutral, for a binary
sentiment model; about 40% of UN sentences). The head then grows by one row per new class,
initialised as the MEAN of the existing rows (weights and bias): the new logit is the average of
the old ones, so it is never the argmax except where all old logits are equal (on the old
decision boundary, where it ties them). A binary model thus starts with "neutral = as
undecided as the model gets", the neutral-band reading of its score, and fine-tuning moves it
from there; the old classes' rows are kept as they are, so the model's knowledge is not reset.
A model whose classes are not all among the run's (other names, or a class the run drops) is
refused: its head would have to be mapped by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from textlens.errors import ModelError
from textlens.models.loading import LoadedModel


def check_classes(model_classes: Sequence[str], run_classes: Sequence[str], model: str,
                  run: str) -> tuple[str, ...]:
    """The classes the fine-tuned model will have: the model's, then the run's new ones."""
    missing = [c for c in model_classes if c not in run_classes]
    if missing or not run_classes:
        raise ModelError(
            f"The model {model} has classes {list(model_classes)}, but the run {run} is labelled "
            f"with {list(run_classes)}: {missing or 'none'} of the model's are not among them.",
            "fine-tune a model whose classes are all among the run's labels (the run may add "
            "classes, e.g. neutral), or label the run with the model's classes "
            "(`textlens validate sample RUN --classes ...`).")
    return (*model_classes, *(c for c in run_classes if c not in model_classes))


def classifier_layer(model) -> tuple[str, object]:
    """The head's output layer: the last Linear whose outputs are the class logits."""
    import torch

    n = int(model.config.num_labels)
    found = [(name, m) for name, m in model.named_modules()
             if isinstance(m, torch.nn.Linear) and m.out_features == n
             and any(k in name for k in ("classifier", "score", "out_proj"))]
    if not found:
        raise ModelError(f"Cannot find the classification layer of {type(model).__name__}.",
                         "fine-tune a BERT-style sequence classifier (a `classifier` layer).")
    return found[-1]


def grow_head(loaded: LoadedModel, classes: Sequence[str]) -> LoadedModel:
    """`loaded` with a head over `classes` (its own first, new ones appended; see the module
    docstring for the initialisation). Returns `loaded` itself when nothing is added."""
    import torch

    old = list(loaded.label_names)
    if list(classes) == old:
        return loaded
    if list(classes[:len(old)]) != old:
        raise ValueError("classes must start with the model's own, in its order")
    model = loaded.model
    name, layer = classifier_layer(model)
    grown = torch.nn.Linear(layer.in_features, len(classes), bias=layer.bias is not None,
                            device=layer.weight.device, dtype=layer.weight.dtype)
    with torch.no_grad():
        grown.weight[:len(old)] = layer.weight
        grown.weight[len(old):] = layer.weight.mean(dim=0, keepdim=True)
        if layer.bias is not None:
            grown.bias[:len(old)] = layer.bias
            grown.bias[len(old):] = layer.bias.mean()
    parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
    setattr(parent, name.rsplit(".", 1)[-1], grown)
    model.config.num_labels = len(classes)
    model.config.id2label = dict(enumerate(classes))
    model.config.label2id = {c: i for i, c in enumerate(classes)}
    if hasattr(model, "num_labels"):
        model.num_labels = len(classes)
    return replace(loaded, label_names=tuple(classes))
