"""Every choice option is refused before any work, with a TextlensError listing the valid
values (today: a KeyError, a silent logit, or a failure after all the attribution work)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from textlens.attribution import explain
from textlens.attribution import runner as runner_module
from textlens.cli.main import app
from textlens.errors import TextlensError
from textlens.models.loading import save_model


@pytest.fixture
def no_work(monkeypatch):
    """Any model pass fails the test: the check must come first."""
    def forbidden(*args, **kwargs):
        raise AssertionError("the model ran before the options were checked")

    for name in ("raw", "scores", "gradients"):
        monkeypatch.setattr(runner_module.Runner, name, forbidden)


@pytest.mark.parametrize("task,options,listed", [
    ("classification", {"aggregation": "median"}, "sum, mean, max-abs"),
    ("classification", {"score": "prob"}, "probability, logit"),
    ("classification", {"target": "neutral"}, "negative, positive"),
    ("classification", {"target": 5}, "0..1"),
    ("qa", {"score": "probabilty"}, "logit, probability"),
    ("qa", {"parts": "middle"}, "both, start, end"),
    ("qa", {"target": "best"}, "predicted, gold"),
    ("qa", {"aggregation": "avg"}, "sum, mean, max-abs"),
])
def test_bad_choice_refused_before_any_work(tiny_classifier, tiny_qa, no_work, task, options,
                                            listed):
    model = tiny_classifier if task == "classification" else tiny_qa
    item = "a film" if task == "classification" else ("who?", "Bob went home.")
    with pytest.raises(TextlensError) as info:
        explain([item], model=model, method="gxi", progress=False, **options)
    assert listed in str(info.value)


def test_targets_refuse_an_unknown_score_directly():
    from textlens.attribution.targets import classification_targets, qa_targets

    with pytest.raises(TextlensError, match="probability, logit"):
        classification_targets(None, [0.4, 0.6], ("a", "b"), "prob")  # type: ignore[arg-type]
    with pytest.raises(TextlensError, match="logit, probability"):
        qa_targets(1, 2, "both", "logits", "predicted")  # type: ignore[arg-type]


def test_qa_probability_score_is_a_probability(tiny_qa):
    (exp,) = explain([("who?", "Bob went home.")], model=tiny_qa, method="gxi",
                     score="probability", progress=False)
    assert all(0.0 <= p.output <= 1.0 for p in exp.parts)
    assert all("probability" in p.target for p in exp.parts)


@pytest.fixture
def clf_dir(tiny_classifier, tmp_path):
    return save_model(tiny_classifier, tmp_path / "clf")


@pytest.fixture
def no_loading(monkeypatch):
    from textlens.models import loading

    def forbidden(*args, **kwargs):
        raise AssertionError("the model was loaded before the options were checked")

    monkeypatch.setattr(loading, "load_model", forbidden)
    monkeypatch.setattr("textlens.models.load_model", forbidden)


@pytest.mark.parametrize("args,listed", [
    (["--aggregate", "median"], "sum, mean, max-abs"),
    (["--score", "prob"], "logit, probability"),
    (["--part", "middle"], "both, start, end"),
    (["--method", "deeplift"], "gradient-x-input"),
    (["--device", "gpu"], "auto, cpu, cuda"),
])
def test_explain_cli_checks_options_before_loading(args, listed, clf_dir, no_loading):
    result = CliRunner().invoke(app, ["explain", "a film", "--model", str(clf_dir), *args])
    assert isinstance(result.exception, TextlensError), result.output
    assert listed in str(result.exception)


def test_evaluate_cli_checks_task_and_windows_first(clf_dir, no_loading):
    for args, listed in ((["--task", "ner"], "classification, qa"),
                         (["--doc-stride", "500", "--max-length", "384"], "below max_length"),
                         (["--split", "dev"], "train, validation, all")):
        result = CliRunner().invoke(app, ["evaluate", "--model", str(clf_dir), *args])
        assert isinstance(result.exception, TextlensError)
        assert listed in str(result.exception)


def test_faithfulness_cli_checks_methods_first(clf_dir, no_loading):
    result = CliRunner().invoke(app, ["faithfulness", "--model", str(clf_dir),
                                      "--methods", "ig,deeplift"])
    assert isinstance(result.exception, TextlensError)
    assert "Unknown attribution method 'deeplift'" in str(result.exception)
