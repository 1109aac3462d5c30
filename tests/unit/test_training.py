"""The training loop: it learns, and an interrupted run resumes to the same weights."""

from __future__ import annotations

import pytest
import torch

from textlens.training.loop import TrainConfig, lr_at, train_loop


def _toy_batches(tokenizer):
    texts = ["good great fine", "bad awful poor"] * 4
    labels = torch.tensor([1, 0] * 4)
    enc = tokenizer(texts, return_tensors="pt", padding=True)

    def batch_at(step: int):
        return {**enc, "labels": labels}

    return batch_at


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_loop_reduces_the_loss(tiny_classifier):
    batch_at = _toy_batches(tiny_classifier.tokenizer)
    model = tiny_classifier.model
    with torch.no_grad():
        before = float(model(**batch_at(0)).loss)
    train_loop(model, batch_at, TrainConfig(30, 8, 3e-3, 16, warmup_ratio=0.1), None)
    with torch.no_grad():
        after = float(model(**batch_at(0)).loss)
    assert after < before * 0.5


def test_interrupted_run_resumes_to_identical_weights(tmp_path, make_tiny):
    config = TrainConfig(6, 8, 1e-3, 16, checkpoint_every=2)
    reference = make_tiny("classification", seed=1)
    batch_at = _toy_batches(reference.tokenizer)
    train_loop(reference.model, batch_at, config, None)

    interrupted = make_tiny("classification", seed=1)

    def failing(step: int):
        if step == 5:
            raise KeyboardInterrupt
        return batch_at(step)

    checkpoint = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        train_loop(interrupted.model, failing, config, checkpoint)
    assert (checkpoint / "state.json").exists()

    resumed = make_tiny("classification", seed=2)  # different init: the checkpoint must win
    stats = train_loop(resumed.model, batch_at, config, checkpoint)
    assert stats.resumed_from == 4
    expected, got = _weights(reference.model), _weights(resumed.model)
    for name, value in expected.items():
        assert torch.allclose(value, got[name], atol=1e-5), name


def test_learning_rate_warms_up_then_decays():
    config = TrainConfig(100, 8, 1.0, 16, warmup_ratio=0.1)
    assert lr_at(0, config) == pytest.approx(0.1)
    assert lr_at(9, config) == pytest.approx(1.0)
    assert lr_at(55, config) == pytest.approx(0.5)
    assert lr_at(99, config) == pytest.approx(1 / 90)


@pytest.mark.parametrize("precision", ["bf16", "tf32"])
def test_reduced_precision_paths_learn_and_restore_settings(make_tiny, precision):
    """The GPU's mixed-precision paths run on the CPU too (no branch only a GPU runs)."""
    loaded = make_tiny("classification", seed=4)
    batch_at = _toy_batches(loaded.tokenizer)
    with torch.no_grad():
        before = float(loaded.model(**batch_at(0)).loss)
    matmul = torch.get_float32_matmul_precision()
    train_loop(loaded.model, batch_at,
               TrainConfig(30, 8, 3e-3, 16, warmup_ratio=0.1, precision=precision), None)
    assert torch.get_float32_matmul_precision() == matmul
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())  # master weights
    with torch.no_grad():
        after = float(loaded.model(**batch_at(0)).loss)
    assert after < before * 0.5
    with pytest.raises(ValueError, match="precision must be one of"):
        train_loop(loaded.model, batch_at, TrainConfig(1, 8, 1e-3, 16, precision="fp8"), None)


def test_qa_recipes_by_device_and_overrides():
    from textlens.training.qa import CPU_QA_RECIPE, GPU_QA_RECIPE, qa_recipe

    assert qa_recipe("cpu") is CPU_QA_RECIPE and qa_recipe(torch.device("cpu")) is CPU_QA_RECIPE
    assert qa_recipe(torch.device("cuda")) is GPU_QA_RECIPE
    assert (CPU_QA_RECIPE.max_length, CPU_QA_RECIPE.stride) == (256, 128)
    assert CPU_QA_RECIPE.max_steps * CPU_QA_RECIPE.batch_size < (
        GPU_QA_RECIPE.max_steps * GPU_QA_RECIPE.batch_size)
    mine = CPU_QA_RECIPE.with_overrides(max_length=192, lr=None)
    assert mine.max_length == 192 and mine.lr == CPU_QA_RECIPE.lr
    config = GPU_QA_RECIPE.config(seed=3, max_steps=10)
    assert (config.max_steps, config.seed, config.lr) == (10, 3, GPU_QA_RECIPE.lr)
    assert (config.warmup_ratio, config.weight_decay) == (0.1, 0.05)


def test_train_qa_cli_uses_the_device_recipe_and_refuses_a_bad_precision(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from textlens.cli.main import app
    from textlens.training import qa as qa_module

    seen = {}

    def fake_train(train, validation, out, config, base, device, stride, recipe=None):
        seen.update(config=config, stride=stride, recipe=recipe)
        return {"steps": config.max_steps, "seconds": 0.0, "metrics": {}}

    monkeypatch.setattr("textlens.training.train_qa", fake_train)
    monkeypatch.setattr("textlens.data.load_dataset", lambda *a, **k: _EmptyData())
    result = CliRunner().invoke(app, ["train", "qa", "--out", str(tmp_path / "m"), "--device",
                                      "cpu", "--max-steps", "7", "--eval-split", "none"])
    assert result.exit_code == 0, result.output
    cpu = qa_module.CPU_QA_RECIPE
    assert seen["recipe"] == "cpu" and seen["stride"] == cpu.stride
    assert seen["config"].max_steps == 7 and seen["config"].max_length == cpu.max_length
    bad = CliRunner().invoke(app, ["train", "qa", "--out", str(tmp_path / "m"), "--precision",
                                   "fp8"])
    from textlens.errors import InputError

    assert isinstance(bad.exception, InputError)  # main() prints it and exits 2
    assert "fp32, tf32, bf16" in bad.exception.fix


class _EmptyData:
    def bad_rows_summary(self) -> str:
        return "0 rows"


def test_checkpoint_from_before_a_new_config_field_still_resumes(tmp_path, make_tiny):
    """A checkpoint written before `precision` existed is the same recipe: resumed, not wiped."""
    import json

    config = TrainConfig(6, 8, 1e-3, 16, checkpoint_every=2)
    model = make_tiny("classification", seed=1)
    batch_at = _toy_batches(model.tokenizer)

    def failing(step: int):
        if step == 3:
            raise KeyboardInterrupt
        return batch_at(step)

    checkpoint = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        train_loop(model.model, failing, config, checkpoint)
    state = json.loads((checkpoint / "state.json").read_text())
    del state["config"]["precision"]  # as written by the older code
    (checkpoint / "state.json").write_text(json.dumps(state))

    stats = train_loop(make_tiny("classification", seed=2).model, batch_at, config, checkpoint)
    assert stats.resumed_from == 2
