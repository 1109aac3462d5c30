"""Where textlens reads data and caches models: one place so every command agrees."""

from __future__ import annotations

import os
import random
from pathlib import Path

DATA_ENV = "TEXTLENS_DATA"
CACHE_ENV = "TEXTLENS_CACHE"


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory: `--data-dir`, else `$TEXTLENS_DATA`, else `~/.cache/textlens/data`."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    return cache_dir() / "data"


def cache_dir() -> Path:
    """Root of textlens's cache: `$TEXTLENS_CACHE`, else `~/.cache/textlens`."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "textlens"


def models_cache_dir() -> Path:
    return cache_dir() / "models"


DEMO_MODEL = "sentiment-minilm"


def demo_model_dir() -> Path:
    """Where `textlens demo` keeps its sentiment model (`$TEXTLENS_CACHE/models/sentiment-minilm`)."""
    return models_cache_dir() / DEMO_MODEL


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so runs repeat."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
