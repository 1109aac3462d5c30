"""Fine-tune an extractive-QA model on SQuAD-style data (question + context windows), with a
default recipe chosen by device.

Why recipes by device: the QA default of 384-token windows, 312 steps x 16 cost ~9-12 s a step
on the 2-core CPU (about an hour, EM 40.8 / F1 56.6 on the held-out articles), while a GPU runs
it in 12 s and wants more steps and longer windows for its F1. Each recipe is overridable field
by field (`textlens train qa --max-length ...`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textlens.data.types import Dataset
from textlens.training.classification import _checkpoint_dir
from textlens.training.loop import Precision, TrainConfig, train_loop
from textlens.training.output import finish_training

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class QARecipe:
    """Windows and schedule of a QA fine-tune; `evidence` says what it reached, and where."""

    name: str
    max_steps: int
    batch_size: int
    lr: float
    max_length: int
    stride: int
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    precision: Precision = "fp32"
    evidence: str = ""

    def config(self, seed: int = 0, **overrides: Any) -> TrainConfig:
        """The TrainConfig of this recipe, with any field given (not None) overriding it."""
        fields = {"max_steps": self.max_steps, "batch_size": self.batch_size, "lr": self.lr,
                  "max_length": self.max_length, "warmup_ratio": self.warmup_ratio,
                  "weight_decay": self.weight_decay, "precision": self.precision}
        fields.update({k: v for k, v in overrides.items() if v is not None})
        return TrainConfig(seed=seed, **fields)

    def with_overrides(self, **overrides: Any) -> QARecipe:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


# 256-token windows cover most SQuAD contexts with the question (mean feature 172 tokens) at
# about 2/3 of the cost of 384; 400 steps x 16 is ~20 minutes of 2 idle cores at ~3 s a step.
CPU_QA_RECIPE = QARecipe(
    "cpu", max_steps=400, batch_size=16, lr=1e-4, max_length=256, stride=128,
    evidence="aims at F1 >= 55 on the held-out articles in 20 minutes of 2 idle cores. Its "
             "first 312 steps as a whole recipe reached EM 49 / F1 62 in ~15 min (idle) in one "
             "run and EM 38.7 / F1 54.1 in another (loaded); this recipe's step-200 checkpoint "
             "(lr still at half its peak) EM 36.8 / F1 52.4; docs/speed.md")
# An untested proposal (no GPU was lent): steps alone plateau near F1 72 at lr 1e-4 (1,200 x 32:
# 71.5; 3,000 x 32: 71.8 on an H100), so a higher peak lr with a longer warm-up, stronger weight
# decay, and the full 384-token windows with a 128 stride.
GPU_QA_RECIPE = QARecipe(
    "gpu", max_steps=1500, batch_size=32, lr=2e-4, max_length=384, stride=128,
    warmup_ratio=0.1, weight_decay=0.05,
    evidence="untested proposal aiming at F1 >= 75 (not measured: no GPU was lent)")


def qa_recipe(device: torch.device | str) -> QARecipe:
    """The default QA recipe for a device: the CPU one on a CPU, the GPU one elsewhere."""
    kind = device if isinstance(device, str) else device.type
    return CPU_QA_RECIPE if kind == "cpu" else GPU_QA_RECIPE


def train_qa(train: Dataset, validation: Dataset | None, out: str | Path, config: TrainConfig,
             base: str | None = None, device: str = "auto", stride: int = 128,
             recipe: str | None = None) -> dict[str, Any]:
    """Train, evaluate on `validation` (windows as trained), write the model and training.json;
    `recipe` names the default recipe the config came from (recorded)."""
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
                           extra={"stride": stride, "train_features": n,
                                  **({"recipe": recipe} if recipe else {})},
                           windowing=QAWindowing(config.max_length, stride))
