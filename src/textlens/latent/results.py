"""The typed values the analysis steps return and the report reads (no string-keyed dicts).

`RunInfo` is what `run_info` in RUN/textlens.duckdb holds, one row per field (JSON values);
`AnalysisResult` is what `analyze` returns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from textlens.attribution.explanation import Explanation, QAExplanation


@dataclass(frozen=True)
class Predictions:
    """The samples table so far: ids, texts, metadata, predictions, loss, correctness."""

    frame: pd.DataFrame
    seconds: float


@dataclass(frozen=True)
class Embeddings:
    """One vector a sample (row i = samples row i), and the cache key of all its chunks."""

    vectors: np.ndarray
    key: str
    seconds: float


@dataclass(frozen=True)
class Timings:
    predict_s: float
    embed_s: float
    project_s: float
    cluster_s: float
    explain_s: float
    neighbours_s: float = 0.0  # the neighbour index and every sample's k nearest


@dataclass(frozen=True)
class CacheUse:
    """Which cached steps were reused (hits) and which were computed (misses), in order."""

    hits: tuple[str, ...]
    misses: tuple[str, ...]


@dataclass(frozen=True)
class ProjectionInfo:
    method: str  # for people: "UMAP"
    settings: str  # the reducer's settings for people: "n_neighbors 15, min_dist 0.1, ..."


@dataclass(frozen=True)
class ClusteringInfo:
    method: str  # for people: "Affinity Propagation"
    settings: str  # the finder's settings for people: "max_fit 3000, damping 0.9, ..."
    fitted_on: int  # samples the finder was fitted on; the rest joined the nearest cluster
    clusters: int
    noise: int  # samples in no cluster (HDBSCAN's -1)


@dataclass(frozen=True)
class CleanlabAgreement:
    """How our flagged label issues compare with cleanlab's `find_label_issues`."""

    ours_flagged: int
    cleanlab_flagged: int
    jaccard: float
    top: int
    top_in_cleanlab: float  # share of our top `top` that cleanlab flags too

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> CleanlabAgreement:
        """From `label_issues.agreement`'s mapping (its `topN_in_cleanlab` key names N)."""
        top_key = next(k for k in values if k.startswith("top") and k.endswith("_in_cleanlab"))
        return cls(int(values["ours_flagged"]), int(values["cleanlab_flagged"]),
                   float(values["jaccard"]), int(top_key[3:-len("_in_cleanlab")]),
                   float(values[top_key]))


@dataclass(frozen=True)
class IssueSummary:
    probabilities: str  # auto, model or crossval: where the class probabilities came from
    crossval_rows: int  # rows whose probabilities came from the cross-validated head
    flagged: int
    cleanlab: CleanlabAgreement | None  # None: QA, or cleanlab not installed


@dataclass(frozen=True)
class ShiftInfo:
    """Train/validation separation (see `shift.py`); absent with one split."""

    mixing: float  # 0 = mixed, 1 = separated
    classifier_balanced_accuracy: float | None
    n: int
    mixing_across_titles: float | None  # QA: counting only neighbours from other titles


@dataclass(frozen=True)
class Purity:
    """Share of a sample's neighbours in its own group (title for QA, label otherwise)."""

    group: str
    observed: float
    expected: float  # the same share under random mixing


@dataclass(frozen=True)
class RunInfo:
    task: str
    dataset: str
    split: str
    n: int
    model: str
    model_fingerprint: str
    label_names: tuple[str, ...]
    projection: ProjectionInfo
    clustering: ClusteringInfo
    neighbour_index: str  # exact or hnswlib
    neighbours_k: int
    issues: IssueSummary
    shift: ShiftInfo | None
    purity: Purity
    near_misses: tuple[str, ...]  # QA ids whose prediction differs from gold by punctuation only
    cache: CacheUse
    timings: Timings
    seed: int

    def to_record(self) -> dict[str, Any]:
        """Field name -> JSON-able value, one `run_info` row each."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_record(), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class IssueExplanations:
    """Loss attributions of the top label issues, by sample id, for the report to show."""

    by_id: Mapping[str, Explanation | QAExplanation]
    note: str | None = None  # why some or all are missing, for the reader


@dataclass(frozen=True)
class AnalysisResult:
    run_dir: Path
    samples: pd.DataFrame
    clusters: pd.DataFrame
    label_issues: pd.DataFrame
    slices: pd.DataFrame
    purity: pd.DataFrame
    info: RunInfo
    embeddings: np.ndarray
    explanations: IssueExplanations
    report: Path | None
