"""Fine-tune a sequence classifier (default: MiniLM + a fresh head) on a labelled dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textlens.data.types import Dataset
from textlens.errors import DataError
from textlens.training.loop import TrainConfig, train_loop
from textlens.training.output import finish_training


def train_classification(train: Dataset, validation: Dataset | None, out: str | Path,
                         config: TrainConfig, base: str | None = None,
                         device: str = "auto") -> dict[str, Any]:
    """Train, evaluate on `validation`, write the model directory and `training.json`."""
    import numpy as np
    import torch

    from textlens.config import seed_everything
    from textlens.models.loading import new_model

    if train.label_names is None or any(e.label is None for e in train):
        raise DataError(f"'{train.name}/{train.split}' has no labels to train on.",
                        "pass a table with --label-col.")
    seed_everything(config.seed)
    loaded = new_model("classification", base, train.label_names, device)
    needed = min(len(train), config.max_steps * config.batch_size)
    order = np.random.default_rng(config.seed).permutation(len(train))[:needed]
    texts = [train[int(i)].text for i in order]
    labels = [int(train[int(i)].label) for i in order]  # type: ignore[arg-type]
    enc = loaded.tokenizer(texts, truncation=True, max_length=config.max_length)

    def batch_at(step: int) -> dict[str, torch.Tensor]:
        start = (step * config.batch_size) % needed
        idx = [(start + j) % needed for j in range(config.batch_size)]
        features = [{k: enc[k][i] for k in enc} for i in idx]
        batch = loaded.tokenizer.pad(features, return_tensors="pt")
        batch["labels"] = torch.tensor([labels[i] for i in idx])
        return {k: v.to(loaded.device) for k, v in batch.items()}

    out = Path(out)
    stats = train_loop(loaded.model, batch_at, config, _checkpoint_dir(out), "Fine-tuning")
    return finish_training(loaded, out, train, validation, config, stats, base)


def _checkpoint_dir(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoint")
