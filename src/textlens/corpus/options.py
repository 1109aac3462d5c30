"""What a corpus run is asked to do: one frozen value, checked before RUN is touched."""

from __future__ import annotations

from dataclasses import dataclass

from textlens.corpus.engine import EngineOptions
from textlens.corpus.sampling import SamplingOptions
from textlens.errors import InputError


@dataclass(frozen=True)
class CorpusOptions:
    path_pattern: str | None = None  # default: the UNGDC layout
    text_col: str = "text"
    id_col: str | None = None
    where: str | None = None
    group_by: tuple[str, ...] | None = None  # default: country, year when present
    engine: EngineOptions = EngineOptions()
    documents_per_batch: int = 8  # one committed transaction per batch (~700 UNGDC sentences)
    sampling: SamplingOptions = SamplingOptions()
    n_boot: int = 1000
    domain_check: bool = True
    domain_sample: int = 500  # sentences from each side
    export: tuple[str, ...] = ("csv", "parquet")
    report: bool = True
    seed: int = 0
    overwrite: bool = False
    data_dir: str | None = None

    def check(self) -> None:
        self.engine.check()
        self.sampling.check()
        if self.documents_per_batch < 1:
            raise InputError("documents_per_batch must be at least 1.", "pass 8 (the default).")
        bad = [f for f in self.export if f not in ("csv", "parquet")]
        if bad:
            raise InputError(f"Unknown export format(s) {bad}.", "use csv, parquet or both.")
