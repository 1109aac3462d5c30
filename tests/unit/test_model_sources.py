"""A model is a path, a hub id or a LoadedModel wherever one is taken; a missing local path fails
at once naming the demo's model; an unreachable hub fails fast; transformers stays quiet."""

from __future__ import annotations

import time

import numpy as np
import pytest

import textlens
from textlens.errors import ModelError
from textlens.models import loading
from textlens.models.loading import ensure_loaded, looks_local, save_model


@pytest.fixture
def clf_dir(tiny_classifier, tmp_path):
    return save_model(tiny_classifier, tmp_path / "clf")


def test_explain_takes_a_path_string_and_matches_the_loaded_model(tiny_classifier, clf_dir):
    (by_path,) = textlens.explain(["a gripping film"], model=str(clf_dir), method="gxi",
                                  progress=False)
    (by_model,) = textlens.explain(["a gripping film"], model=tiny_classifier, method="gxi",
                                   progress=False)
    np.testing.assert_allclose(by_path.scores, by_model.scores, rtol=1e-5, atol=1e-7)
    assert textlens.load_model(clf_dir).label_names == ("negative", "positive")


def test_predict_and_evaluate_take_a_path(tiny_classifier, clf_dir):
    from textlens.data import Dataset, TextExample
    from textlens.models.evaluate import evaluate_classification
    from textlens.models.predict import predict_classification

    texts = ["a fine film", "a dull plot"]
    by_path = predict_classification(str(clf_dir), texts, progress=False)
    by_model = predict_classification(tiny_classifier, texts, progress=False)
    np.testing.assert_allclose(by_path.probabilities, by_model.probabilities, atol=1e-6)
    data = Dataset("d", "validation", tuple(TextExample(str(i), t, i) for i, t in
                                             enumerate(texts)), clf_dir)
    assert evaluate_classification(str(clf_dir), data)["n"] == 2


def test_faithfulness_takes_a_path(clf_dir):
    from textlens.attribution.faithfulness import run_faithfulness

    result = run_faithfulness(str(clf_dir), ["a fine film", "a dull plot twist"], ["gxi"],
                              fractions=(0.5,))
    assert [row["method"] for row in result["methods"]] == ["gxi", "random"]


@pytest.mark.parametrize("source", ["./nope", "~/no/such/model", "models/sst2x/deeper",
                                    "/tmp/textlens-no-such-dir"])
def test_missing_local_path_fails_at_once_naming_the_demo_model(source, tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLENS_CACHE", str(tmp_path / "cache"))

    def no_hub(*args, **kwargs):
        raise AssertionError("a local-looking path must never consult the hub")

    monkeypatch.setattr(loading, "hub_reachable", no_hub)
    start = time.perf_counter()
    with pytest.raises(ModelError) as info:
        textlens.explain(["a film"], model=source)
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert "does not exist" in message
    assert str(tmp_path / "cache" / "models" / "sentiment-minilm") in message


def test_path_object_and_existing_first_part_are_local(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    assert looks_local("models/sst2") and looks_local("./m") and looks_local("~/m")
    assert not looks_local("bert-base-uncased") and not looks_local("someorg/somemodel")
    with pytest.raises(ModelError, match="does not exist"):
        loading.load_model(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no config.json"):
        loading.load_model(tmp_path / "empty")


def test_hub_id_offline_fails_fast_and_clearly(monkeypatch):
    monkeypatch.setattr(loading, "hub_reachable", lambda *a, **k: False)
    start = time.perf_counter()
    with pytest.raises(ModelError) as info:
        loading.load_model("someorg/no-such-model-xyz")
    assert time.perf_counter() - start < 5.0
    assert "no network" in str(info.value) and "sentiment-minilm" in str(info.value)


def test_hub_reachable_honours_hf_hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert loading.hub_reachable() is False


def test_ensure_loaded_refuses_other_types_and_wrong_task(tiny_qa):
    with pytest.raises(ModelError, match="neither a path"):
        ensure_loaded(42)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="not a classification model"):
        ensure_loaded(tiny_qa, task="classification")


def test_default_model_is_the_demo_model_or_a_clear_error(tmp_path, monkeypatch, clf_dir):
    import shutil

    monkeypatch.setenv("TEXTLENS_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ModelError, match="No --model given"):
        loading.default_model()
    shutil.copytree(clf_dir, tmp_path / "cache" / "models" / "sentiment-minilm")
    assert loading.default_model() == tmp_path / "cache" / "models" / "sentiment-minilm"


def test_bad_device_and_task_refused_before_loading(clf_dir):
    with pytest.raises(ModelError, match="auto, cpu, cuda"):
        loading.load_model(clf_dir, device="gpu")
    with pytest.raises(ModelError, match="classification, qa"):
        loading.load_model(clf_dir, task="qna")  # type: ignore[arg-type]


def test_loading_prints_nothing_from_transformers(clf_dir, tmp_path):
    """No 'Loading weights' bars, no warnings: stderr and stdout of a load in a fresh process
    are empty (a head-less encoder would warn about newly initialised weights)."""
    import subprocess
    import sys

    from textlens.models.loading import encoder_path

    code = ("import textlens; from textlens.models.loading import load_model, new_model; "
            f"load_model({str(clf_dir)!r}); new_model('classification', {encoder_path()!r}, "
            "('a', 'b'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stderr == "" and out.stdout == ""


def test_unknown_hub_id_is_quiet_and_quick(tmp_path):
    """Offline, huggingface_hub used to retry for ~26 s, printing 'Retrying' blocks; with a
    network the hub answers 404 at once. Either way: one clear error, nothing else."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    code = ("from textlens.errors import ModelError\nfrom textlens.models import load_model\n"
            "try:\n    load_model('someorg/no-such-model-xyz')\nexcept ModelError as e:\n"
            "    print('refused:', e.problem)\n")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=60)
    assert time.perf_counter() - start < 15
    assert out.stdout.startswith("refused:") and out.stderr == ""
