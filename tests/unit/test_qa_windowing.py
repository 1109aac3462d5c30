"""One QAWindowing: stored in training.json, read back by load_model, used by prediction,
evaluation, embedding and explanation; an explicit option overrides it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from textlens.attribution import explain
from textlens.attribution.encoding import encode_windows
from textlens.data import Answer, Dataset, QAExample
from textlens.errors import InputError
from textlens.models import qa as qa_module
from textlens.models.loading import load_model, save_model
from textlens.models.qa import DEFAULT_QA_WINDOWING, QAWindowing, encode_qa, qa_windowing

QUESTION = "Which number comes after the marker?"
CONTEXT = " ".join(f"w{i}" for i in range(300))
TRAINED = QAWindowing(96, 24)


@pytest.fixture
def trained_qa(tiny_qa, tmp_path):
    """A QA model directory whose training.json says it was trained on 96-token windows."""
    out = save_model(tiny_qa, tmp_path / "qa")
    (out / "training.json").write_text(json.dumps({"task": "qa",
                                                   "qa_windowing": TRAINED.to_dict()}))
    return load_model(out, device="cpu")


def test_windowing_is_validated_and_round_trips():
    assert QAWindowing.from_record({"qa_windowing": {"max_length": 96, "stride": 24}}) == TRAINED
    assert QAWindowing.from_record({"max_length": 256, "stride": 128}) == QAWindowing(256, 128)
    assert QAWindowing.from_record({"task": "qa"}) is None
    for bad in ((384, -1), (64, 64), (4, 0)):
        with pytest.raises(InputError):
            QAWindowing(*bad)


def test_load_model_reads_the_trained_windows(trained_qa, tiny_qa):
    assert trained_qa.qa_windowing == TRAINED
    assert qa_windowing(trained_qa) == TRAINED
    assert qa_windowing(trained_qa, stride=8) == QAWindowing(96, 8)  # explicit overrides
    assert qa_windowing(tiny_qa) == DEFAULT_QA_WINDOWING


def test_predict_evaluate_and_embed_use_the_trained_windows(trained_qa, monkeypatch):
    from textlens.latent import embeddings
    from textlens.models import predict
    from textlens.models.evaluate import evaluate_qa

    seen: list[tuple[int, int]] = []

    def spy(tokenizer, examples, max_length=384, stride=128):
        seen.append((max_length, stride))
        return encode_qa(tokenizer, examples, max_length, stride)

    monkeypatch.setattr(predict, "encode_qa", spy)
    monkeypatch.setattr(embeddings, "encode_qa", spy)
    example = QAExample("q", "t", CONTEXT, QUESTION, (Answer("w7", CONTEXT.index("w7 ")),))
    predict.predict_qa(trained_qa, [example], progress=False)
    evaluate_qa(trained_qa, Dataset("d", "validation", (example,), Path(__file__)))
    predict.predict_qa(trained_qa, [example], stride=8, progress=False)
    embeddings.embed_qa(trained_qa, [example], progress=False)
    assert seen[:3] == [(96, 24), (96, 24), (96, 8)]
    assert seen[3][1] == 24  # embedding: the trained stride


def test_explain_reads_long_contexts_in_the_trained_windows(trained_qa):
    (exp,) = explain([(QUESTION, CONTEXT)], model=trained_qa, method="gxi", progress=False)
    trained = encode_windows(trained_qa, CONTEXT, QUESTION, TRAINED.stride, TRAINED.max_length)
    assert max(len(w) for w in trained) <= 96
    assert exp.windows == len(trained) > 1
    (wide,) = explain([(QUESTION, CONTEXT)], model=trained_qa, method="gxi", doc_stride=60,
                      progress=False)
    assert wide.windows == len(encode_windows(trained_qa, CONTEXT, QUESTION, 60, 96))
    assert wide.windows > exp.windows  # more overlap, more windows


def test_training_stores_the_windows(tiny_qa, tmp_path, monkeypatch):
    from textlens.training import output
    from textlens.training.loop import TrainConfig, TrainStats

    monkeypatch.setattr("textlens.models.evaluate.evaluate_qa",
                        lambda loaded, data, **kw: {"windows": qa_windowing(loaded).to_dict()})
    example = QAExample("q", "t", CONTEXT, QUESTION, (Answer("w7", CONTEXT.index("w7 ")),))
    data = Dataset("d", "train", (example,), tmp_path)
    record = output.finish_training(tiny_qa, tmp_path / "m", data, data,
                                    TrainConfig(1, 1, 1e-4, 96), TrainStats(1, 1.0, 0, 0.5),
                                    None, extra={"stride": 24}, windowing=TRAINED)
    stored = json.loads((tmp_path / "m" / "training.json").read_text())
    assert stored["qa_windowing"] == {"max_length": 96, "stride": 24}
    assert record["metrics"]["windows"] == TRAINED.to_dict()  # evaluated with them too
    assert load_model(tmp_path / "m").qa_windowing == TRAINED


def test_qa_module_has_one_default():
    assert qa_module.encode_qa.__defaults__ == (DEFAULT_QA_WINDOWING.max_length,
                                                DEFAULT_QA_WINDOWING.stride)
