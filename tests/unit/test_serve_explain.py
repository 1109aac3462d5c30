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
