"""The dashboard's Validate and Compare endpoints: the sample with context and no prediction,
labels recorded and undone through the append-only log, persisting across a server restart,
the prediction only on request, bad input answered 400, and a second run compared."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from tests.unit.corpus_store import binary_store  # noqa: E402
from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402


@pytest.fixture
def sampled(tmp_path):
    from textlens.corpus.validation import draw_validation_sample

    run, _ = binary_store(tmp_path / "runa", n_groups=2, n_docs=3, per_doc=10, seed=1)
    draw_validation_sample(run, 20, seed=0, classes=("negative", "neutral", "positive"))
    return run


def client(*runs):
    return TestClient(create_app(open_runs(list(runs))), base_url="http://127.0.0.1")


def test_sample_has_context_and_no_prediction(sampled):
    d = client(sampled).get("/api/runs/runa/validation").json()
    assert d["total"] == 20 and d["labelled"] == 0
    assert d["classes"] == ["negative", "neutral", "positive"]
    first = d["items"][0]
    assert {"context_before", "text", "context_after", "group"} <= set(first)
    assert "predicted" not in first and "confidence" not in first
    assert [i["draw"] for i in d["items"]] == sorted(i["draw"] for i in d["items"])


def test_labels_undo_and_persist_across_a_restart(sampled):
    c = client(sampled)
    ids = [i["validation_id"] for i in c.get("/api/runs/runa/validation").json()["items"][:3]]
    for vid, label in zip(ids, ["positive", "neutral", "unsure"], strict=True):
        r = c.post("/api/runs/runa/validation/label", json={"validation_id": vid, "label": label})
        assert r.status_code == 200 and r.json()["label"] == label
    undone = c.post("/api/runs/runa/validation/label", json={"validation_id": ids[1],
                                                               "label": None}).json()
    assert undone["label"] is None and undone["labelled"] == 2
    items = client(sampled).get("/api/runs/runa/validation").json()["items"]  # new server
    now = {i["validation_id"]: i["label"] for i in items}
    assert [now[v] for v in ids] == ["positive", None, "unsure"]
    con = duckdb.connect(str(sampled / "textlens.duckdb"), read_only=True)
    log = con.execute("SELECT label, source FROM validation_labels ORDER BY seq").fetchall()
    con.close()
    assert log == [("positive", "dashboard"), ("neutral", "dashboard"), ("unsure", "dashboard"),
                   (None, "dashboard")]


def test_bad_labels_and_ids_are_400_with_a_fix(sampled):
    c = client(sampled)
    vid = c.get("/api/runs/runa/validation").json()["items"][0]["validation_id"]
    bad = c.post("/api/runs/runa/validation/label", json={"validation_id": vid, "label": "joy"})
    assert bad.status_code == 400 and "joy" in bad.json()["problem"] and bad.json()["fix"]
    missing = c.post("/api/runs/runa/validation/label",
                     json={"validation_id": "nope:1", "label": "positive"})
    assert missing.status_code == 400
    assert c.get("/api/runs/runa/validation/prediction", params={"id": "nope:1"}
                 ).status_code == 404


def test_prediction_only_on_request(sampled):
    c = client(sampled)
    vid = c.get("/api/runs/runa/validation").json()["items"][0]["validation_id"]
    got = c.get("/api/runs/runa/validation/prediction", params={"id": vid}).json()
    con = duckdb.connect(str(sampled / "textlens.duckdb"), read_only=True)
    want = con.execute("SELECT predicted, confidence FROM validation WHERE validation_id = ?",
                       [vid]).fetchone()
    con.close()
    assert (got["predicted"], got["confidence"]) == (want[0], pytest.approx(want[1]))


def test_unsampled_run_says_how_to_draw(tmp_path):
    run, _ = binary_store(tmp_path / "bare", n_groups=2, n_docs=2, per_doc=5)
    d = client(run).get("/api/runs/bare/validation").json()
    assert d["total"] == 0 and "textlens validate sample" in d["fix"]


def test_compare_with_a_second_served_run(sampled, tmp_path):
    run_b, _ = binary_store(tmp_path / "runb", n_groups=2, n_docs=3, per_doc=10, seed=2)
    c = client(sampled, run_b)
    d = c.get("/api/runs/runa/compare", params={"other": "runb"}).json()
    labels = []
    for run in (sampled, run_b):
        con = duckdb.connect(str(run / "textlens.duckdb"), read_only=True)
        labels.append(np.array([r[0] for r in con.execute(
            "SELECT label FROM sentences ORDER BY doc_id, sentence_id").fetchall()]))
        con.close()
    assert d["n_flipped"] == int((labels[0] != labels[1]).sum())
    assert sum(f["n"] for f in d["flips"]) == d["n_flipped"]
    assert d["accuracy"] is None  # nothing labelled yet: said so, no number
    assert "no labels" in d["accuracy_source"]
    assert c.get("/api/runs/runa/compare", params={"other": "runa"}).status_code == 400


def test_measure_after_labelling_and_cache_dropped_on_a_new_label(tmp_path):
    from textlens.corpus.validation import draw_validation_sample, import_sheet, measure

    run, truth = binary_store(tmp_path / "runm", n_groups=2, n_docs=3, per_doc=10, seed=4)
    drawn = draw_validation_sample(run, 40, seed=0)
    c = client(run)
    few = c.get("/api/runs/runm/validation/measure").json()
    assert few["too_few"] and few["n_labels"] == 0  # said so, no number
    sheet = truth.set_index("validation_id").loc[drawn.frame["validation_id"], ["truth"]]
    sheet.rename(columns={"truth": "label"}).reset_index().to_csv(tmp_path / "l.csv",
                                                                 index=False)
    import_sheet(run, tmp_path / "l.csv")
    first = drawn.frame["validation_id"].iloc[0]
    c.post("/api/runs/runm/validation/label", json={"validation_id": first, "label": "skip"})
    got = c.get("/api/runs/runm/validation/measure").json()  # the cached answer was dropped
    assert got["n_labels"] == 39
    want = measure(run, store=False).metrics.query("classifier == 'model' and metric == "
                                                   "'accuracy'")["value"].iloc[0]
    acc = [m for m in got["metrics"] if m["classifier"] == "model" and m["metric"] == "accuracy"]
    assert acc[0]["value"] == pytest.approx(float(want))
