"""Scores per classification head: one logit (sigmoid), multi-label (a sigmoid per class),
regression (raw output only). Every expected value is computed here from the model's own logits
with torch.sigmoid / torch.softmax, not read back from the engine."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from textlens.attribution import explain
from textlens.attribution.targets import (
    Target,
    TargetTable,
    check_request,
    classification_targets,
    score_rows,
)
from textlens.errors import InputError
from textlens.models.heads import class_names, head_kind, prediction
from textlens.models.predict import predict_classification

TEXTS = ["a truly wonderful film", "dull and far too long", "it was fine"]


def _sharp(loaded, problem_type: str | None = None, seed: int = 0):
    """A tiny random BERT's logits barely move between texts (by ~0.001): give its pooler and
    head large random weights (seeded) and centre the head's bias on TEXTS, so outputs differ
    by whole units between texts and baselines and take both signs (real IG work)."""
    g = torch.Generator().manual_seed(seed)
    pooler, head = loaded.model.bert.pooler.dense, loaded.model.classifier
    with torch.no_grad():
        pooler.weight.copy_(torch.randn(pooler.weight.shape, generator=g))
        head.weight.copy_(40.0 * torch.randn(head.weight.shape, generator=g))
        head.bias.zero_()
        z = torch.stack([_logits(loaded, loaded.tokenizer(t)["input_ids"]) for t in TEXTS])
        head.bias.copy_(-z.mean(0))
    loaded.model.config.problem_type = problem_type
    return loaded


def _logits(loaded, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return loaded.model(input_ids=torch.tensor([ids])).logits[0].double()


def _ids_and_baseline(loaded, text: str) -> tuple[list[int], list[int]]:
    tok = loaded.tokenizer
    ids = tok(text)["input_ids"]
    special = tok.get_special_tokens_mask(ids, already_has_special_tokens=True)
    return ids, [i if s else tok.pad_token_id for i, s in zip(ids, special, strict=True)]


def _complete(exp, f_input: float, f_baseline: float) -> None:
    """Scores are nonzero and add up to F(x) - F(baseline) (F computed here) within IG's 1%."""
    assert exp.output == pytest.approx(f_input, abs=1e-4)
    assert exp.baseline_output == pytest.approx(f_baseline, abs=1e-4)
    diff = f_input - f_baseline
    assert abs(diff) > 1e-3  # a real difference to explain, not two equal constants
    assert max(abs(s) for s in exp.scores) > 1e-4
    assert abs(exp.attribution_score - diff) <= 0.011 * abs(diff) + 1e-6


def test_head_kind_reads_problem_type_then_logit_count(make_tiny) -> None:
    assert head_kind(make_tiny("classification").model.config) == "softmax"
    one = make_tiny("classification", ("toxic",))
    assert head_kind(one.model.config) == "binary"
    assert class_names("binary", one.label_names) == ("not toxic", "toxic")
    one.model.config.problem_type = "regression"
    assert head_kind(one.model.config) == "regression"
    many = make_tiny("classification", ("a", "b", "c"))
    many.model.config.problem_type = "multi_label_classification"
    assert head_kind(many.model.config) == "multi_label"


def test_one_logit_model_explains_the_sigmoid(make_tiny) -> None:
    model = _sharp(make_tiny("classification", ("toxic",)))
    results = explain(TEXTS, model=model, progress=False)
    signs = set()
    for text, exp in zip(TEXTS, results, strict=True):
        ids, base = _ids_and_baseline(model, text)
        z, z_base = float(_logits(model, ids)[0]), float(_logits(model, base)[0])
        positive = z > 0
        signs.add(positive)
        # "predicted" is the sign of the logit: explain p, or 1 - p for the other class.
        p, p_base = torch.sigmoid(torch.tensor([z, z_base])).tolist()
        if not positive:
            p, p_base = 1 - p, 1 - p_base
        assert exp.label == ("toxic" if positive else "not toxic")
        assert exp.target_index == int(positive)
        assert exp.confidence == pytest.approx(p, abs=1e-4)
        _complete(exp, p, p_base)
    assert len(signs) == 2, "the texts should cover both signs of the logit"


def test_one_logit_classes_are_complements(make_tiny) -> None:
    """Class 0 is 1 - sigmoid(z): its scores are class 1's negated, its output 1 - output."""
    model = _sharp(make_tiny("classification", ("toxic",)))
    (pos,) = explain([TEXTS[0]], model=model, target="toxic", progress=False)
    (neg,) = explain([TEXTS[0]], model=model, target=0, progress=False)
    assert pos.target_index == 1 and neg.target_index == 0
    assert neg.output == pytest.approx(1 - pos.output, abs=1e-6)
    assert np.allclose(neg.scores, -np.array(pos.scores), atol=1e-3 * max(map(abs, pos.scores)))
    (logit,) = explain([TEXTS[0]], model=model, target=1, score="logit", progress=False)
    ids, _ = _ids_and_baseline(model, TEXTS[0])
    assert logit.output == pytest.approx(float(_logits(model, ids)[0]), abs=1e-4)


def test_multi_label_uses_a_sigmoid_per_class(make_tiny) -> None:
    model = _sharp(make_tiny("classification", ("a", "b", "c")), "multi_label_classification")
    (multi,) = explain([TEXTS[1]], model=model, target="top-3", progress=False)
    ids, base = _ids_and_baseline(model, TEXTS[1])
    p, p_base = torch.sigmoid(_logits(model, ids)), torch.sigmoid(_logits(model, base))
    assert abs(float(p.sum()) - 1.0) > 0.05  # not a softmax: these need not add up to 1
    assert [e.target_index for e in multi.parts] == p.argsort(descending=True).tolist()
    for exp in multi.parts:
        k = exp.target_index
        assert exp.label == "abc"[int(p.argmax())]
        assert exp.confidence == pytest.approx(float(p.max()), abs=1e-4)
        _complete(exp, float(p[k]), float(p_base[k]))


def test_regression_refuses_probability_and_explains_the_output(make_tiny) -> None:
    model = _sharp(make_tiny("classification", ("score",), seed=2), "regression", seed=2)
    with pytest.raises(InputError) as refused:
        explain(TEXTS, model=model, score="probability", progress=False)
    assert 'score="logit"' in str(refused.value.fix)
    with pytest.raises(InputError, match="regression"):
        check_request("classification", model.label_names, None, "probability", "both",
                      "regression")
    with pytest.raises(InputError, match="regression"):
        explain(TEXTS, model=model, method="loss", labels=[0, 0, 0], progress=False)
    (exp,) = explain([TEXTS[0]], model=model, progress=False)
    ids, base = _ids_and_baseline(model, TEXTS[0])
    value = float(_logits(model, ids)[0])
    assert exp.target == "output of score"
    assert exp.confidence == pytest.approx(value, abs=1e-4)
    name, shown = exp.label.split(" = ")
    assert name == "score" and float(shown) == pytest.approx(value, rel=1e-3)
    _complete(exp, value, float(_logits(model, base)[0]))


def test_two_class_softmax_path_is_unchanged() -> None:
    """Softmax targets take no sigmoid path: the table has no link column and the values are
    torch's own log_softmax, as before."""
    logits = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    targets = [Target("logits", i % 2, kind, "t")
               for i, kind in enumerate(("probability", "logit", "loss", "probability"))]
    table = TargetTable.of(targets)
    assert table.link is None
    got = score_rows({"logits": logits}, table)
    log_p = torch.log_softmax(logits, -1)
    want = torch.stack([log_p[0, 0].exp(), logits[1, 1], -log_p[2, 0], log_p[3, 1].exp()])
    assert torch.allclose(got, want)


def test_score_rows_sigmoid_links() -> None:
    z = torch.randn(4, 1, generator=torch.Generator().manual_seed(1))
    rows = [Target("logits", k, kind, "t", "binary") for k, kind in
            ((1, "probability"), (0, "probability"), (0, "logit"), (1, "loss"))]
    got = score_rows({"logits": z}, rows)
    s = torch.sigmoid(z[:, 0])
    want = torch.stack([s[0], 1 - s[1], -z[2, 0], -torch.log(s[3])])
    assert torch.allclose(got, want, atol=1e-6)
    many = torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    rows = [Target("logits", k, kind, "t", "sigmoid") for k, kind in
            ((3, "probability"), (1, "loss"), (2, "logit"))]
    got = score_rows({"logits": many}, rows)
    s = torch.sigmoid(many)
    assert torch.allclose(got, torch.stack([s[0, 3], -torch.log(s[1, 1]), many[2, 2]]),
                          atol=1e-6)


def test_targets_name_the_classes_of_a_one_logit_head() -> None:
    names = class_names("binary", ("toxic",))
    (t,) = classification_targets("predicted", [0.3, 0.7], names, "probability", "binary")
    assert (t.index, t.link, t.name) == (1, "binary", "probability of toxic")
    (t,) = classification_targets("not toxic", [0.3, 0.7], names, "probability", "binary")
    assert t.index == 0
    with pytest.raises(InputError, match="not toxic"):
        check_request("classification", ("toxic",), "nontoxic", None, "both", "binary")
    assert prediction(np.array([-2.0]), "binary", ("toxic",))[:2] == (0, "not toxic")


def test_predictions_follow_the_head(make_tiny) -> None:
    model = _sharp(make_tiny("classification", ("toxic",)))
    preds = predict_classification(model, TEXTS, gold=[1, 0, 1], progress=False)
    assert preds.label_names == ("not toxic", "toxic")
    for text, row, gold, loss in zip(TEXTS, preds.probabilities, (1, 0, 1), preds.loss,
                                     strict=True):
        p = float(torch.sigmoid(_logits(model, model.tokenizer(text)["input_ids"])[0]))
        assert row == pytest.approx([1 - p, p], abs=1e-5)
        assert loss == pytest.approx(-np.log(p if gold else 1 - p), rel=1e-4, abs=1e-5)


def test_cli_one_logit_and_regression_heads(make_tiny, tmp_path) -> None:
    from typer.testing import CliRunner

    from textlens.cli.main import app
    from textlens.models.loading import save_model

    model = _sharp(make_tiny("classification", ("toxic",)))
    binary = save_model(model, tmp_path / "binary")
    result = CliRunner().invoke(app, ["explain", TEXTS[1], "--model", str(binary), "--method",
                                      "loss", "--label", "not toxic", "--json", "-"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    z = float(_logits(model, model.tokenizer(TEXTS[1])["input_ids"])[0])
    assert data["target_index"] == 0 and data["target"] == "loss of not toxic"
    assert data["output"] == pytest.approx(-np.log(1 - 1 / (1 + np.exp(-z))), abs=1e-4)
    model.model.config.problem_type = "regression"
    regression = save_model(model, tmp_path / "regression")
    result = CliRunner().invoke(app, ["explain", TEXTS[1], "--model", str(regression),
                                      "--score", "probability"])
    # `textlens.cli.main.main` prints a TextlensError's problem and fix and exits 2.
    assert isinstance(result.exception, InputError)
    assert "regression head" in result.exception.problem
    assert "--score logit" in str(result.exception.fix)


def test_latent_tables_name_both_classes_of_a_one_logit_model(make_tiny, tmp_path) -> None:
    from textlens.data.types import Dataset, TextExample
    from textlens.latent.pipeline import label_names
    from textlens.latent.tables import add_predictions, base_frame, predict_chunk

    model = _sharp(make_tiny("classification", ("toxic",)))
    data = Dataset("tiny", "test", tuple(TextExample(str(i), t, i % 2)
                                         for i, t in enumerate(TEXTS)), tmp_path)
    names = label_names(data, model)
    assert names == ("not toxic", "toxic")
    frame = add_predictions(base_frame(data, names), predict_chunk(model, data, slice(0, 3)),
                            names)
    for text, row in zip(TEXTS, frame.itertuples(), strict=True):
        z = float(_logits(model, model.tokenizer(text)["input_ids"])[0])
        assert row.prediction == ("toxic" if z > 0 else "not toxic")
        assert row.confidence == pytest.approx(1 / (1 + np.exp(-abs(z))), abs=1e-4)
