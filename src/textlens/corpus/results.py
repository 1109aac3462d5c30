"""What a corpus run returns: a frozen value (the run store holds the same tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class CorpusResult:
    run_dir: Path
    n_documents: int
    n_sentences: int
    resumed_documents: int  # already complete in the store when this call started
    groups: pd.DataFrame
    explanations: pd.DataFrame
    top_words: pd.DataFrame
    bad_files: pd.DataFrame
    domain_message: str | None
    domain_far: bool
    report: Path | None
    exports: tuple[Path, ...] = field(default=())
