"""On-demand explanations in the sample view: computed with textlens.explain, cached in the store."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from textlens.models import save_model  # noqa: E402
from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_run  # noqa: E402
from textlens.store.run_db import connect  # noqa: E402


def cache_rows(run_dir) -> int:
    con = connect(run_dir / "textlens.duckdb")  # joins a writer still open in this process
    try:
        return con.execute("SELECT count(*) FROM explanation_cache").fetchone()[0]
    finally:
        con.close()


def test_prediction_and_loss_explanations_are_computed_once_and_cached(tmp_path, make_tiny):
    model_dir = tmp_path / "model"
    save_model(make_tiny("classification", seed=2), model_dir)
    run = synthetic_run(tmp_path / "demo", n=40, model=str(model_dir))
    client = TestClient(create_app(open_runs([run])), base_url="http://127.0.0.1")
    ask = lambda kind, compute=True: client.post("/api/runs/demo/explain", json={  # noqa: E731
        "sample_id": "s000002", "kind": kind, "compute": compute})
    assert ask("prediction", compute=False).json()["explanation"] is None
    first = ask("prediction").json()["explanation"]
    text = client.get("/api/runs/demo/sample", params={"id": "s000002"}).json()["sample"]["text"]
    assert first["text"] == text and first["method"] == "ig"
    assert [text[a:b] for _, a, b in first["word_spans"]] == first["words"]
    # Completeness: IG scores sum to F(x) - F(baseline); the error reported is that gap.
    gap = abs(sum(first["scores"]) - (first["output"] - first["baseline_output"]))
    assert first["completeness_error"] is not None and gap <= 0.02 + 1e-6
    assert cache_rows(run) == 1
    assert ask("prediction").json()["explanation"] == first and cache_rows(run) == 1
    restarted = TestClient(create_app(open_runs([run])), base_url="http://127.0.0.1")
    again = restarted.post("/api/runs/demo/explain", json={"sample_id": "s000002", "kind": "prediction",
                                                          "compute": False}).json()["explanation"]
    assert again == first
    loss = ask("loss").json()["explanation"]
    assert loss["method"] == "loss" and loss["kind"] == "loss" and cache_rows(run) == 2
    assert ask("bogus").status_code == 400


def test_missing_model_is_a_clear_conflict(tmp_path):
    run = synthetic_run(tmp_path / "demo", n=20, model=str(tmp_path / "gone"))
    client = TestClient(create_app(open_runs([run])), base_url="http://127.0.0.1")
    r = client.post("/api/runs/demo/explain", json={"sample_id": "s000001", "kind": "prediction"})
    assert r.status_code == 409 and "--model" in r.json()["fix"]


def test_method_picker_runs_lrp_and_caches_per_method(tmp_path, make_tiny, monkeypatch):
    from textlens.attribution.api import explain
    from textlens.attribution.registry import list_methods
    from textlens.models.loading import load_model

    model_dir = tmp_path / "model"
    save_model(make_tiny("classification", seed=3), model_dir)
    run = synthetic_run(tmp_path / "demo", n=30, model=str(model_dir))
    client = TestClient(create_app(open_runs([run])), base_url="http://127.0.0.1")
    offered = [m["name"] for m in client.get("/api/runs/demo").json()["explain_methods"]]
    assert "ig" in offered and "lrp" in offered and "loss" not in offered
    assert set(offered) == {n for n in list_methods() if n != "loss"}
    ask = lambda **extra: client.post("/api/runs/demo/explain", json={  # noqa: E731
        "sample_id": "s000004", "kind": "prediction", **extra})
    ig = ask().json()["explanation"]
    lrp = ask(method="lrp").json()["explanation"]
    assert ig["method"] == "ig" and lrp["method"] == "lrp" and cache_rows(run) == 2
    # The same explanation as the library gives for the sample's text (an independent call).
    text = client.get("/api/runs/demo/sample", params={"id": "s000004"}).json()["sample"]["text"]
    [direct] = explain([text], model=load_model(model_dir), method="lrp", truncate=True,
                       progress=False)
    assert lrp["scores"] == pytest.approx(list(direct.scores), abs=1e-5)
    # LRP's evidence: the absorbed part is F(input) minus the relevances' sum.
    assert lrp["absorbed"] == pytest.approx(lrp["output"] - sum(lrp["scores"]), abs=1e-4)
    assert lrp["conservation_error"] == pytest.approx(
        abs(lrp["absorbed"]) / abs(lrp["output"]), rel=1e-4)
    assert ask(method="LRP").json()["explanation"] == lrp and cache_rows(run) == 2  # cached
    assert ask(method="ig").json()["explanation"] == ig and cache_rows(run) == 2
    unknown = ask(method="bogus")
    assert unknown.status_code == 400 and "lrp" in unknown.json()["fix"]
    assert ask(method="loss").status_code == 400  # needs the gold: kind "loss" explains it
    assert client.post("/api/runs/demo/explain", json={
        "sample_id": "s000004", "kind": "loss", "method": "ig"}).status_code == 400
    assert ask(method="x" * 41).status_code in (400, 422)
    assert ask(method="lrp", extra=1).status_code in (400, 422)  # extra="forbid" kept
    # A method whose optional library is missing: 400 with the extra's paragraph, no model run.
    import builtins

    real_import = builtins.__import__

    def no_shap(name, *args, **kwargs):
        if name == "shap" or name.startswith("shap."):
            raise ImportError("No module named 'shap'")
        return real_import(name, *args, **kwargs)

    # A method that refuses the model's family: 400 with its message, not the missing-model 409.
    import textlens.attribution.methods.lrp as lrp_module
    from textlens.errors import ModelError

    def unsupported(model):
        raise ModelError("lrp does not support this family.", "use ig.")

    with monkeypatch.context() as m:
        m.setattr(lrp_module, "rules_for", unsupported)
        refused = ask(method="lrp", sample_id="s000006")
    assert refused.status_code == 400 and refused.json()["fix"] == "use ig."
    monkeypatch.setattr(builtins, "__import__", no_shap)
    missing = ask(method="shap", sample_id="s000005")
    assert missing.status_code == 400 and "textlens[explainers]" in missing.json()["fix"]
    assert cache_rows(run) == 2
