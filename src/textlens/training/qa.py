"""Fine-tune an extractive-QA model on SQuAD-style data (question + context windows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textlens.data.types import Dataset
from textlens.training.classification import _checkpoint_dir
from textlens.training.loop import TrainConfig, train_loop
from textlens.training.output import finish_training


def train_qa(train: Dataset, validation: Dataset | None, out: str | Path, config: TrainConfig,
             base: str | None = None, device: str = "auto", stride: int = 128) -> dict[str, Any]:
    import numpy as np
    import torch

    from textlens.config import seed_everything
    from textlens.models.loading import new_model
    from textlens.models.qa import QAWindowing, encode_qa

    seed_everything(config.seed)
    loaded = new_model("qa", base, (), device)
    feats = encode_qa(loaded.tokenizer, list(train), config.max_length, stride)
    n = len(feats.input_ids)
    order = np.random.default_rng(config.seed).permutation(n)

    def batch_at(step: int) -> dict[str, torch.Tensor]:
        start = (step * config.batch_size) % n
        idx = [int(order[(start + j) % n]) for j in range(config.batch_size)]
        features = []
        for i in idx:
            item = {"input_ids": feats.input_ids[i], "attention_mask": feats.attention_mask[i]}
            if feats.token_type_ids is not None:
                item["token_type_ids"] = feats.token_type_ids[i]
            features.append(item)
        batch = loaded.tokenizer.pad(features, return_tensors="pt")
        batch["start_positions"] = torch.tensor([feats.start_positions[i] for i in idx])
        batch["end_positions"] = torch.tensor([feats.end_positions[i] for i in idx])
        return {k: v.to(loaded.device) for k, v in batch.items()}

    out = Path(out)
    stats = train_loop(loaded.model, batch_at, config, _checkpoint_dir(out), "Fine-tuning QA")
    return finish_training(loaded, out, train, validation, config, stats, base,
                           extra={"stride": stride, "train_features": n},
                           windowing=QAWindowing(config.max_length, stride))
