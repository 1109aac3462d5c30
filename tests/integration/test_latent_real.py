"""The latent analysis on the real MiniLM models and real data, a few dozen samples each.

Uses the fine-tuned models from `textlens train` when they exist in the cache, else a fresh
task head on the real MiniLM encoder (the analysis mechanics are the same)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from textlens.config import models_cache_dir
from textlens.data import load_dataset
from textlens.latent.clustering import KMeansFinder
from textlens.latent.options import AnalysisOptions
from textlens.latent.pipeline import analyze
from textlens.latent.projection import PCAReducer
from textlens.store.run_db import query

pytestmark = pytest.mark.integration


def real_model(task: str, name: str):
    from textlens.config import seed_everything
    from textlens.models.loading import load_model, new_model

    path = models_cache_dir() / name
    if (path / "config.json").exists():
        return load_model(path, device="cpu")
    seed_everything(0)
    labels = ("negative", "positive") if task == "classification" else ()
    return new_model(task, label_names=labels, device="cpu")  # type: ignore[arg-type]


def test_sst2_validation_run(tmp_path, data_dir) -> None:
    data = load_dataset("sst2", "validation", data_dir=data_dir).sample(80, seed=0)
    result = analyze(real_model("classification", "sentiment-minilm"), data, tmp_path,
                     AnalysisOptions(report_issues=2))
    assert result.embeddings.shape == (80, 384)
    assert np.isfinite(result.samples[["x", "y"]].to_numpy()).all()
    issues = query(tmp_path, "SELECT * FROM label_issues ORDER BY rank")
    assert len(issues) == 80 and issues["score"].is_monotonic_decreasing
    assert result.info.issues.probabilities == "auto" and result.info.issues.crossval_rows == 0
    assert result.info.issues.cleanlab is not None
    assert len(result.explanations.by_id) == 2
    # plotly.js once beside the page (4.8 MB), not inside it
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000
    assert 10_000 < (tmp_path / "report.html").stat().st_size < 1_000_000


def test_sst2_cluster_summaries_are_distinctive(tmp_path, data_dir) -> None:
    """Plain c-TF-IDF summarised four of five SST-2 clusters as "film, movie, ...": no term may
    lead more than one cluster, or sit in the top five of more than half of them."""
    data = load_dataset("sst2", "validation", data_dir=data_dir).sample(300, seed=0)
    result = analyze(real_model("classification", "sentiment-minilm"), data, tmp_path,
                     AnalysisOptions(reducer=PCAReducer(), finder=KMeansFinder(k=5),
                                     report=False))
    tops = [t.split(", ") for t in result.clusters["top_terms"] if t]
    assert len(tops) == 5
    leaders = [t[0] for t in tops]
    assert len(set(leaders)) == len(leaders), leaders
    for term in {t for top in tops for t in top[:5]}:
        assert sum(term in top[:5] for top in tops) <= len(tops) // 2, (term, tops)


def test_squad_run_with_titles(tmp_path, data_dir) -> None:
    data = load_dataset("squad", "all", data_dir=data_dir).sample(60, seed=0)
    result = analyze(real_model("qa", "squad-minilm"), data, tmp_path,
                     AnalysisOptions(report=False, finder=KMeansFinder(), reducer=PCAReducer()))
    frame = query(tmp_path, "SELECT title, split, question_type, answer_type, f1 FROM samples")
    assert set(frame["split"]) == {"train", "validation"} and frame["title"].nunique() > 10
    assert result.info.shift is not None and -1 <= result.info.shift.mixing <= 1
    purity = query(tmp_path, "SELECT * FROM title_purity")
    assert {"group", "size", "purity", "split"} <= set(purity.columns)
    clusters = query(tmp_path, "SELECT question_types, answer_types FROM clusters")
    assert all("%" in q for q in clusters["question_types"])
    info = query(tmp_path, "SELECT value FROM run_info WHERE key = 'n'")
    assert json.loads(info["value"][0]) == 60
