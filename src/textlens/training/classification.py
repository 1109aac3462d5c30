"""Fine-tune a sequence classifier (default: MiniLM + a fresh head) on a labelled dataset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textlens.data.types import Dataset
from textlens.errors import DataError
from textlens.training.loop import TrainConfig, train_loop
from textlens.training.output import finish_training

if TYPE_CHECKING:
    import torch

    from textlens.models.loading import LoadedModel


def train_classification(train: Dataset, validation: Dataset | None, out: str | Path,
                         config: TrainConfig, base: str | None = None,
                         device: str = "auto") -> dict[str, Any]:
    """Train, evaluate on `validation`, write the model directory and `training.json`."""
    from textlens.config import seed_everything
    from textlens.models.loading import new_model

    if train.label_names is None or any(e.label is None for e in train):
        raise DataError(f"'{train.name}/{train.split}' has no labels to train on.",
                        "pass a table with --label-col.")
    seed_everything(config.seed)
    loaded = new_model("classification", base, train.label_names, device)
    texts = [e.text for e in train]
    labels = [int(e.label) for e in train]  # type: ignore[arg-type]
    batch_at = classification_batches(loaded, texts, labels, config)
    out = Path(out)
    stats = train_loop(loaded.model, batch_at, config, _checkpoint_dir(out), "Fine-tuning")
    return finish_training(loaded, out, train, validation, config, stats, base)


def classification_batches(loaded: LoadedModel, texts: Sequence[str], labels: Sequence[int],
                           config: TrainConfig) -> Callable[[int], dict[str, torch.Tensor]]:
    """`batch_at(step)` for `train_loop`: a seeded permutation of the examples (at most the
    steps x batch size that will be used), cycled; deterministic, so a resume repeats it."""
    import numpy as np
    import torch

    needed = min(len(texts), config.max_steps * config.batch_size)
    order = np.random.default_rng(config.seed).permutation(len(texts))[:needed]
    enc = loaded.tokenizer([texts[int(i)] for i in order], truncation=True,
                           max_length=config.max_length)
    ordered = [int(labels[int(i)]) for i in order]

    def batch_at(step: int) -> dict[str, torch.Tensor]:
        start = (step * config.batch_size) % needed
        idx = [(start + j) % needed for j in range(config.batch_size)]
        features = [{k: enc[k][i] for k in enc} for i in idx]
        batch = loaded.tokenizer.pad(features, return_tensors="pt")
        batch["labels"] = torch.tensor([ordered[i] for i in idx])
        return {k: v.to(loaded.device) for k, v in batch.items()}

    return batch_at


def _checkpoint_dir(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoint")
