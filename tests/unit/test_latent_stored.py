"""`analyze` from stored embeddings: the same run as with the model, and clear errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.data.types import Dataset, TextExample
from textlens.errors import DataError
from textlens.latent.clustering import KMeansFinder
from textlens.latent.options import AnalysisOptions
from textlens.latent.pipeline import analyze, analyze_stored
from textlens.latent.projection import PCAReducer
from textlens.latent.stored import StoredColumns, read_stored
from textlens.store.run_db import query, run_info

OPTIONS = AnalysisOptions(reducer=PCAReducer(), finder=KMeansFinder(k=4), chunk_size=16,
                          report=False, slice_min_size=3)
WORDS = ("a gripping funny film", "dull and slow", "wonderful acting", "a boring mess",
         "sharp and moving", "flat jokes throughout")


def _examples(n: int = 36) -> Dataset:
    examples = tuple(TextExample(f"s{i}", f"{WORDS[i % 6]} number {i}", i % 2,
                                 {"genre": "drama" if i % 3 else "comedy"}) for i in range(n))
    return Dataset("tiny", "all", examples, Path("tiny.csv"),
                   ("negative", "positive"))


def _table(n: int, dim: int = 8, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = (rng.normal(size=(4, dim))[np.arange(n) % 4] + rng.normal(scale=0.3, size=(n, dim))
               ).astype(np.float32)
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(n)],
                          "text": [f"{WORDS[i % 6]} {i}" for i in range(n)]})
    return frame, vectors


def test_stored_run_equals_the_model_run_on_the_same_vectors(tiny_classifier, tmp_path) -> None:
    model_run = analyze(tiny_classifier, _examples(), tmp_path / "model", OPTIONS)
    samples = model_run.samples
    table = pd.DataFrame({"id": samples["id"], "text": samples["text"],
                          "label": samples["label"], "genre": samples["genre"],
                          "p_negative": samples["p_0"], "p_positive": samples["p_1"],
                          "embedding": list(model_run.embeddings)})
    table.to_parquet(tmp_path / "stored.parquet")
    stored = analyze_stored(read_stored(tmp_path / "stored.parquet"), tmp_path / "stored",
                            OPTIONS)
    got = stored.samples.set_index("id").loc[samples["id"]]
    assert np.allclose(got["x"], samples["x"].to_numpy(), atol=1e-5)
    assert np.allclose(got["y"], samples["y"].to_numpy(), atol=1e-5)
    assert (got["cluster"].to_numpy() == samples["cluster"].to_numpy()).all()
    assert got["neighbours"].tolist() == samples["neighbours"].tolist()
    assert got["prediction"].tolist() == samples["prediction"].tolist()
    # loss: cross-entropy of the gold label from the stored probabilities = the model's loss
    assert np.allclose(got["loss"], samples["loss"].to_numpy(), atol=1e-4)
    assert (stored.label_issues.sort_values("id")["flagged"].to_numpy()
            == model_run.label_issues.sort_values("id")["flagged"].to_numpy()).all()
    tables = set(query(stored.run_dir, "SHOW TABLES")["name"])
    assert {"samples", "clusters", "label_issues", "slices", "run_info"} <= tables
    info = run_info(stored.run_dir)
    assert info["model"].startswith("none (stored embeddings")
    assert stored.explanations.by_id == {} and "no model" in (stored.explanations.note or "")
    assert np.load(stored.run_dir / "embeddings.npy").shape == model_run.embeddings.shape


def test_npy_beside_a_csv_without_labels_has_map_clusters_and_no_issues(tmp_path) -> None:
    frame, vectors = _table(40)
    frame.to_csv(tmp_path / "t.csv", index=False)
    np.save(tmp_path / "v.npy", vectors)
    stored = read_stored(tmp_path / "t.csv", tmp_path / "v.npy")
    assert stored.embeddings.vectors.dtype == np.float32 and not stored.has_labels
    assert isinstance(stored.embeddings.vectors, np.memmap)  # float32 .npy: mapped, not copied
    result = analyze_stored(stored, tmp_path / "run", OPTIONS)
    assert result.label_issues.empty and result.info.issues.probabilities == "none"
    assert result.clusters["size"].sum() == 40 and np.isfinite(result.samples[["x", "y"]]).all(
        axis=None)
    assert result.samples["loss"].isna().all() and result.slices.empty


def test_labels_without_probabilities_use_the_crossvalidated_head(tmp_path) -> None:
    frame, vectors = _table(48)
    frame["label"] = ["pos" if i % 4 < 2 else "neg" for i in range(48)]
    frame["vector"] = [json.dumps(v.tolist()) for v in vectors]  # JSON arrays in a CSV
    frame.to_csv(tmp_path / "t.csv", index=False)
    stored = read_stored(tmp_path / "t.csv")
    assert np.allclose(stored.embeddings.vectors, vectors, atol=1e-6)
    assert stored.label_names == ("neg", "pos")
    result = analyze_stored(stored, tmp_path / "run", OPTIONS)
    assert result.info.issues.probabilities == "crossval"
    assert result.info.issues.crossval_rows == 48 and len(result.label_issues) == 48


def test_numbered_probability_columns_and_given_loss_and_prediction(tmp_path) -> None:
    frame, vectors = _table(12)
    frame["label"] = [i % 2 for i in range(12)]
    frame["p_0"], frame["p_1"] = 0.25, 0.75
    frame["loss"] = np.arange(12, dtype=float)
    frame["prediction"] = [0] * 12
    frame["embedding"] = list(vectors)
    frame.to_parquet(tmp_path / "t.parquet")
    built = read_stored(tmp_path / "t.parquet").predictions.frame
    assert built["loss"].tolist() == list(range(12))  # the table's loss, not re-derived
    assert built["prediction"].tolist() == ["0"] * 12  # the given prediction kept
    assert built["correct"].tolist() == [float(i % 2 == 0) for i in range(12)]
    assert np.allclose(built["confidence"], 0.25)  # probability of the given prediction


def _write_jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.mark.parametrize("case, message", [
    ("mixed", "mixes vector lengths: most have 3, but t.jsonl line 3 has 2"),
    ("nan", "t.jsonl line 2 holds NaN or infinity"),
    ("no_id", "1 rows have no id in column 'id', first at t.jsonl line 4"),
    ("dup_id", "Id 'a' occurs more than once (again at t.jsonl line 2)"),
    ("no_vector", "1 rows have no vector in column 'embedding', first at t.jsonl line 1"),
    ("text_vector", "is not a JSON list of numbers"),
])
def test_bad_vectors_and_ids_are_refused_with_the_line(tmp_path, case, message) -> None:
    rows = [{"id": c, "text": f"text {c}", "embedding": [1.0, 2.0, 3.0]} for c in "abcd"]
    if case == "mixed":
        rows[2]["embedding"] = [1.0, 2.0]
    elif case == "nan":
        rows[1]["embedding"] = [1.0, float("nan"), 3.0]
    elif case == "no_id":
        rows[3]["id"] = None
    elif case == "dup_id":
        rows[1]["id"] = "a"
    elif case == "no_vector":
        rows[0]["embedding"] = None
    else:
        for row in rows:
            row["embedding"] = "oops"
    path = tmp_path / "t.jsonl"
    _write_jsonl(path, rows)
    with pytest.raises(DataError) as info:
        read_stored(path)
    assert message in info.value.problem and info.value.fix


def test_npy_checks(tmp_path) -> None:
    frame, vectors = _table(10)
    frame.to_csv(tmp_path / "t.csv", index=False)
    np.save(tmp_path / "short.npy", vectors[:9])
    with pytest.raises(DataError, match="has 9 vectors but .* has 10 rows"):
        read_stored(tmp_path / "t.csv", tmp_path / "short.npy")
    bad = vectors.copy()
    bad[6, 1] = np.inf
    np.save(tmp_path / "inf.npy", bad)
    with pytest.raises(DataError, match=r"t.csv line 8 holds NaN or infinity"):  # header = 1
        read_stored(tmp_path / "t.csv", tmp_path / "inf.npy")
    np.save(tmp_path / "flat.npy", vectors[:, 0])
    with pytest.raises(DataError, match="1-D"):
        read_stored(tmp_path / "t.csv", tmp_path / "flat.npy")
    np.save(tmp_path / "v64.npy", vectors.astype(np.float64))
    assert read_stored(tmp_path / "t.csv", tmp_path / "v64.npy").embeddings.vectors.dtype == \
        np.float32


def test_unknown_label_and_probability_mismatch_are_refused(tmp_path) -> None:
    frame, vectors = _table(6)
    frame["embedding"] = list(vectors)
    frame["label"] = ["neg", "pos", "neg", "pos", "neg", "meh"]
    frame["p_neg"], frame["p_pos"] = 0.5, 0.5
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match="'meh' at t.parquet row 6 is not a class: neg, pos"):
        read_stored(tmp_path / "t.parquet")
    frame["label"] = "neg"
    frame["p_pos"] = 1.5
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(DataError, match="outside 0..1"):
        read_stored(tmp_path / "t.parquet")


def test_cli_analyze_from_npy_and_errors_without_traceback(tmp_path) -> None:
    frame, vectors = _table(30)
    frame.to_csv(tmp_path / "t.csv", index=False)
    np.save(tmp_path / "v.npy", vectors)
    result = CliRunner().invoke(app, ["analyze", "--embeddings", str(tmp_path / "v.npy"),
                                      "--data", str(tmp_path / "t.csv"), "--out",
                                      str(tmp_path / "run"), "--projection", "pca",
                                      "--clustering", "kmeans", "--no-report"])
    assert result.exit_code == 0, result.output
    assert "30 samples" in result.output and "no labels" in result.output
    assert " serve " in result.output and str(tmp_path / "run") in result.output
    np.save(tmp_path / "short.npy", vectors[:5])
    cmd = [sys.executable, "-m", "textlens.cli.main", "analyze", "--embeddings",
           str(tmp_path / "short.npy"), "--data", str(tmp_path / "t.csv"), "--out",
           str(tmp_path / "run2")]
    out = subprocess.run(cmd, capture_output=True, text=True)
    message = " ".join(out.stderr.split())  # Rich wraps long paths at the terminal width
    assert out.returncode == 2 and "has 5 vectors" in message and "Traceback" not in message


def test_cli_refuses_a_model_with_stored_embeddings(tmp_path) -> None:
    frame, vectors = _table(4)
    frame.to_csv(tmp_path / "t.csv", index=False)
    np.save(tmp_path / "v.npy", vectors)
    result = CliRunner().invoke(app, ["analyze", "--embeddings", str(tmp_path / "v.npy"),
                                      "--data", str(tmp_path / "t.csv"), "--model",
                                      str(tmp_path), "--out", str(tmp_path / "run")])
    assert result.exit_code != 0 and "drop --model" in str(result.exception.fix)


def test_columns_named_like_derived_ones_are_kept_renamed(tmp_path) -> None:
    frame, vectors = _table(5)
    frame["x"] = 1.0
    frame["embedding"] = list(vectors)
    frame.to_parquet(tmp_path / "t.parquet")
    built = read_stored(tmp_path / "t.parquet", columns=StoredColumns()).predictions.frame
    assert "table_x" in built and "x" not in built
