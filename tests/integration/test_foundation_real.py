"""The foundation on the real MiniLM encoder and the real data, on a few samples."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from textlens.cli.main import app
from textlens.data import load_dataset
from textlens.training import TrainConfig, train_classification, train_qa

pytestmark = pytest.mark.integration
runner = CliRunner()


@pytest.fixture(scope="module")
def sentiment_dir(tmp_path_factory, data_dir):
    """MiniLM fine-tuned for 30 short steps: enough to exercise every stage, not to be good."""
    out = tmp_path_factory.mktemp("models") / "sentiment"
    train = load_dataset("sst2", "train", data_dir=data_dir)
    validation = load_dataset("sst2", "validation", data_dir=data_dir).head(64)
    train_classification(train, validation, out, TrainConfig(30, 16, 5e-5, 48, seed=0))
    return out


def test_real_data_sizes(data_dir):
    assert len(load_dataset("sst2", "validation", data_dir=data_dir)) == 872
    squad_all = load_dataset("squad", "all", data_dir=data_dir)
    assert len(squad_all) == 10570 and not squad_all.bad_rows
    train_titles = {e.title for e in squad_all if e.metadata["split"] == "train"}
    assert len(train_titles) == 38 and len({e.title for e in squad_all}) == 48
    ungdc = load_dataset("ungdc", data_dir=data_dir)
    assert len(ungdc) == 974  # 975 files: the corpus's README.txt is named as not a speech
    assert [(b.where, b.reason) for b in ungdc.bad_rows] == [
        ("README.txt", "a README (documentation, not a text)")]
    assert {"EU", "FRA"} <= {e.metadata["country"] for e in ungdc}


def test_classification_training_writes_model_and_record(sentiment_dir):
    names = {p.name for p in sentiment_dir.iterdir()}
    assert {"model.safetensors", "config.json", "training.json"} <= names
    record = json.loads((sentiment_dir / "training.json").read_text())
    assert record["steps"] == 30 and record["validation_examples"] == 64
    assert record["metrics"]["accuracy"] > 0.5  # better than chance after 30 steps


def test_evaluate_cli_on_real_data(sentiment_dir, data_dir, tmp_path):
    out = tmp_path / "metrics.json"
    result = runner.invoke(app, ["evaluate", "--task", "classification", "--model",
                                 str(sentiment_dir), "--data", "sst2", "--split", "validation",
                                 "--limit", "40", "--json", str(out), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["n"] == 40 and {"accuracy", "macro_f1"} <= set(metrics)


def test_demo_reuses_a_cached_model(sentiment_dir, data_dir, tmp_path):
    import pandas as pd

    result = runner.invoke(app, ["demo", "--model-dir", str(sentiment_dir), "--explain", "1",
                                 "--out", str(tmp_path / "demo"), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    groups = pd.read_csv(tmp_path / "demo" / "groups.csv")
    assert len(groups) == 30 and set(groups.country) == {"USA", "FRA", "DEU", "PRK", "PAK", "GBR"}
    assert (tmp_path / "demo" / "report.html").exists() and "report.html" in result.output
    assert "Training" not in result.output


def test_qa_training_and_decoding_on_real_squad(data_dir, tmp_path):
    from textlens.metrics import squad_scores
    from textlens.models import load_model
    from textlens.models.predict import predict_qa

    train = load_dataset("squad", "train", data_dir=data_dir).head(48)
    validation = load_dataset("squad", "validation", data_dir=data_dir).head(8)
    record = train_qa(train, validation, tmp_path / "qa", TrainConfig(6, 8, 1e-4, 192), stride=64)
    assert record["metrics"]["n"] == 8 and "stripped" in record["metrics"]
    loaded = load_model(tmp_path / "qa")
    preds = predict_qa(loaded, list(validation), max_length=192, stride=64, progress=False)
    for pred, example in zip(preds, validation, strict=True):
        assert pred.answer == example.context[pred.start_char:pred.end_char]
        assert pred.loss is not None
    scores = squad_scores({p.id: p.answer for p in preds},
                          {e.id: [a.text for a in e.answers] for e in validation})
    assert scores["n"] == 8
