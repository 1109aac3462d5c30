"""Shared fixtures: tiny random BERT models (fast unit tests) and the real data/encoder (integration)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TEXTLENS_PROGRESS", "0")
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _tiny(task: str, label_names: tuple[str, ...] = ("negative", "positive"), seed: int = 0):
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, BertForSequenceClassification

    from textlens.models.loading import LoadedModel, encoder_path, load_tokenizer

    torch.manual_seed(seed)
    tokenizer = load_tokenizer(encoder_path())
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512,
                        num_labels=len(label_names), id2label=dict(enumerate(label_names)),
                        label2id={n: i for i, n in enumerate(label_names)})
    if task == "qa":
        config.architectures = ["BertForQuestionAnswering"]
        model = BertForQuestionAnswering(config)
        labels: tuple[str, ...] = ()
    else:
        config.architectures = ["BertForSequenceClassification"]
        model = BertForSequenceClassification(config)
        labels = label_names
    model.eval()
    return LoadedModel(model, tokenizer, task, labels, torch.device("cpu"), "tiny-random-bert")


@pytest.fixture
def tiny_classifier():
    """A 2-layer, 32-wide random BERT classifier with the real MiniLM tokenizer (built in code)."""
    return _tiny("classification")


@pytest.fixture
def tiny_qa():
    """A 2-layer, 32-wide random BERT extractive-QA model with the real MiniLM tokenizer."""
    return _tiny("qa")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data folder ($TEXTLENS_DATA or ../shared/data); integration tests skip without it."""
    path = Path(os.environ.get("TEXTLENS_DATA", SHARED_DATA))
    if not (path / "sst2").exists():
        pytest.skip(f"real data not found at {path}")
    return path


@pytest.fixture
def make_tiny():
    """Factory for tiny random models with a chosen seed: `make_tiny("classification", seed=1)`."""
    return _tiny
