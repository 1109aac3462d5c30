"""Fine-tuning: classification and extractive QA on top of a base encoder, with resumable loops."""

from textlens.training.classification import train_classification
from textlens.training.loop import TrainConfig
from textlens.training.qa import train_qa

__all__ = ["TrainConfig", "train_classification", "train_qa"]
