"""The dashboard's JSON/binary API, checked against independent computations on the run tables."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from textlens.errors import DataError  # noqa: E402
from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.runs import NULL_CODE, open_run, open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_corpus_run, synthetic_run  # noqa: E402
from textlens.store.run_db import connect  # noqa: E402


@pytest.fixture
def run_dir(tmp_path):
    return synthetic_run(tmp_path / "demo", n=400, seed=3)


@pytest.fixture
def client(run_dir, tmp_path):
    corpus = synthetic_corpus_run(tmp_path / "speeches")
    return TestClient(create_app(open_runs([run_dir, corpus])), base_url="http://127.0.0.1")


def table(run_dir, name):
    con = connect(run_dir / "textlens.duckdb")  # joins a writer still open in this process
    try:
        return con.execute(f"SELECT * FROM {name}").fetchdf()
    finally:
        con.close()


def test_points_and_columns_are_typed_arrays_in_row_order(client, run_dir):
    samples = table(run_dir, "samples")
    raw = np.frombuffer(client.get("/api/runs/demo/points").content, dtype="<f4")
    n = len(samples)
    assert raw.size == 2 * n
    np.testing.assert_allclose(raw[:n], samples["x"], rtol=1e-6)
    np.testing.assert_allclose(raw[n:], samples["y"], rtol=1e-6)
    meta = client.get("/api/runs/demo").json()
    cols = {c["name"]: c for c in meta["columns"]}
    assert cols["loss"]["kind"] == "numeric" and cols["label"]["kind"] == "categorical"
    assert "text" not in cols and "neighbours" not in cols
    codes = np.frombuffer(client.get("/api/runs/demo/columns/label").content, dtype="<u2")
    decoded = [cols["label"]["categories"][c] for c in codes]
    assert decoded == samples["label"].tolist()
    clusters = np.frombuffer(client.get("/api/runs/demo/columns/cluster").content, dtype="<u2")
    cats = cols["cluster"]["categories"]
    assert [int(cats[c]) for c in clusters] == samples["cluster"].tolist()
    loss = np.frombuffer(client.get("/api/runs/demo/columns/loss").content, dtype="<f4")
    np.testing.assert_allclose(loss, samples["loss"], rtol=1e-6)
    assert client.get("/api/runs/demo/columns/text").status_code == 404
    issues = table(run_dir, "label_issues").set_index("id").loc[samples["id"]]
    score = np.frombuffer(client.get("/api/runs/demo/columns/issue_score").content, dtype="<f4")
    np.testing.assert_allclose(score, issues["score"], rtol=1e-6)  # colour by issue score
    kinds = np.frombuffer(client.get("/api/runs/demo/columns/issue_kind").content, dtype="<u2")
    assert [cols["issue_kind"]["categories"][k] for k in kinds] == issues["kind"].tolist()


def test_missing_values_become_null_codes_and_nan():
    from textlens.serve.runs import describe_columns, encode_column

    frame = pd.DataFrame({"country": ["USA", None, "FRA"], "score": [1.0, None, 3.0]})
    cols = describe_columns(frame)
    codes = np.frombuffer(encode_column(frame["country"], cols["country"]), dtype="<u2")
    assert codes.tolist() == [1, NULL_CODE, 0]
    values = np.frombuffer(encode_column(frame["score"], cols["score"]), dtype="<f4")
    assert values[0] == 1.0 and np.isnan(values[1])


def test_sample_detail_has_row_neighbours_and_issue(client, run_dir):
    samples = table(run_dir, "samples").set_index("id")
    issues = table(run_dir, "label_issues").set_index("id")
    sid = "s000007"
    d = client.get("/api/runs/demo/sample", params={"id": sid}).json()
    assert d["sample"]["text"] == samples.loc[sid, "text"]
    assert d["sample"]["loss"] == pytest.approx(samples.loc[sid, "loss"])
    assert [n["id"] for n in d["neighbours"]] == json.loads(samples.loc[sid, "neighbours"])
    assert d["issue"]["rank"] == issues.loc[sid, "rank"]
    assert d["issue"]["kind"] == issues.loc[sid, "kind"]
    assert client.get("/api/runs/demo/sample", params={"id": "nope"}).status_code == 404
    assert client.get("/api/runs/nope/sample", params={"id": sid}).status_code == 404


def test_selection_summary_matches_pandas(client, run_dir):
    samples = table(run_dir, "samples")
    rng = np.random.default_rng(0)
    positions = sorted(rng.choice(len(samples), 150, replace=False).tolist())
    s = client.post("/api/runs/demo/selection", json={"positions": positions, "sort": "loss",
                                                      "limit": 20}).json()
    part = samples.iloc[positions]
    assert s["count"] == 150 and s["total"] == len(samples)
    assert s["mean_loss"] == pytest.approx(part["loss"].mean())
    assert s["overall_loss"] == pytest.approx(samples["loss"].mean())
    assert s["mean_correct"] == pytest.approx(part["correct"].mean())
    assert dict(s["mix_label"]) == part["label"].value_counts().to_dict()
    assert [r["id"] for r in s["rows"]] == part.sort_values("loss", ascending=False)["id"].head(20).tolist()
    up = client.post("/api/runs/demo/selection", json={"positions": positions, "sort": "confidence",
                                                       "descending": False, "limit": 5}).json()
    assert [r["confidence"] for r in up["rows"]] == pytest.approx(
        sorted(part["confidence"])[:5])
    bad = client.post("/api/runs/demo/selection", json={"positions": [0], "sort": "x; DROP"})
    assert bad.status_code == 400 and "Unknown sort column" in bad.json()["problem"]
    assert client.post("/api/runs/demo/selection", json={"positions": [10**6]}).status_code == 400


def test_distinctive_terms_find_the_topic_of_a_cluster(client, run_dir):
    samples = table(run_dir, "samples")
    members = client.get("/api/runs/demo/members", params={"column": "cluster", "value": "2"}).json()
    assert members["positions"] == np.flatnonzero(samples["cluster"] == 2).tolist()
    s = client.post("/api/runs/demo/selection", json={"positions": members["positions"]}).json()
    from textlens.serve.synthetic import TOPICS

    top = {t["term"] for t in s["terms"][:3]}
    assert top <= set(TOPICS[2]), top


def test_export_formats_hold_the_selected_rows(client, run_dir):
    samples = table(run_dir, "samples")
    positions = [5, 1, 9]
    ids = samples["id"].iloc[sorted(positions)].tolist()
    csv = client.post("/api/runs/demo/export", json={"positions": positions, "format": "csv"})
    assert pd.read_csv(io.StringIO(csv.text))["id"].tolist() == ids
    jsonl = client.post("/api/runs/demo/export", json={"positions": positions, "format": "jsonl"})
    assert [json.loads(line)["id"] for line in jsonl.text.splitlines()] == ids
    parquet = client.post("/api/runs/demo/export", json={"positions": positions, "format": "parquet"})
    assert pd.read_parquet(io.BytesIO(parquet.content))["text"].tolist() == \
        samples["text"].iloc[sorted(positions)].tolist()
    bad = client.post("/api/runs/demo/export", json={"positions": positions, "format": "xlsx"})
    assert bad.status_code == 400 and "csv, jsonl, parquet" in bad.json()["fix"]


def test_saved_slices_are_written_to_the_store(client, run_dir):
    r = client.post("/api/runs/demo/saved-slices", json={"name": "hard ones", "positions": [3, 4, 8]})
    assert r.json()["size"] == 3
    saved = table(run_dir, "saved_slices")
    samples = table(run_dir, "samples")
    assert sorted(saved["sample_id"]) == samples["id"].iloc[[3, 4, 8]].tolist()
    client.post("/api/runs/demo/saved-slices", json={"name": "hard ones", "positions": [1]})
    back = client.get("/api/runs/demo/saved-slice", params={"slice": "hard ones"}).json()
    assert back["positions"] == [1]
    listed = client.get("/api/runs/demo/clusters").json()
    assert [s["name"] for s in listed["saved"]] == ["hard ones"]
    assert len(listed["clusters"]) == len(table(run_dir, "clusters"))


def test_corpus_run_view_reads_the_corpus_tables(client):
    d = client.get("/api/runs/speeches/corpus").json()
    assert d["documents"] == 4 and d["sentences"] == 12
    assert d["group_by"] == ["country", "year"] and d["value"] == "net_per_100"
    assert {e["stratum"] for e in d["explanations"]} == {"clear_positive", "near_threshold"}
    war = next(e for e in d["explanations"] if e["stratum"] == "near_threshold")
    assert war["text"] == "The war caused terrible suffering."
    assert dict(war["words"])["terrible"] == pytest.approx(-0.7)
    assert d["bad_files"][0]["reason"] == "AppleDouble metadata file"
    assert client.get("/api/runs/speeches/points").status_code == 404


def test_corpus_run_without_optional_columns(tmp_path):
    from textlens.store.run_db import write_run_db

    write_run_db(tmp_path / "bare", {"sentences": pd.DataFrame({"doc_id": ["a"], "text": ["Hi."]}),
                                     "explanations": pd.DataFrame({
                                         "doc_id": ["a"], "word_scores": [json.dumps({"Hi": 0.2})]})},
                 {})
    client = TestClient(create_app(open_runs([tmp_path / "bare"])), base_url="http://127.0.0.1")
    d = client.get("/api/runs/bare/corpus").json()
    assert d["sentences"] == 1 and d["groups"] == [] and d["labels"] == []
    assert d["explanations"][0]["words"] == [["Hi", 0.2]]
    assert d["stratum_sizes"] == {"all": 1} and d["names"] == {}


def test_corpus_view_names_countries_and_says_how_many_each_stratum_holds(tmp_path):
    import pycountry

    run = synthetic_corpus_run(tmp_path / "many", explained=30)
    client = TestClient(create_app(open_runs([run])), base_url="http://127.0.0.1")
    d = client.get("/api/runs/many/corpus").json()
    assert d["stratum_sizes"] == {"clear_positive": 30, "near_threshold": 30}
    assert len([e for e in d["explanations"] if e["stratum"] == "clear_positive"]) == 20
    assert d["names"] == {"FRA": pycountry.countries.get(alpha_3="FRA").name,
                          "USA": pycountry.countries.get(alpha_3="USA").name}
    assert "2019" not in d["names"]  # years and other values keep their own text


def test_bad_runs_fail_at_start_with_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="textlens.duckdb is missing"):
        open_run(tmp_path / "nothing")
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "textlens.duckdb").write_bytes(b"not a database" * 100)
    with pytest.raises(DataError, match="cannot be read"):
        open_run(tmp_path / "corrupt")
    from textlens.store.run_db import write_run_db

    write_run_db(tmp_path / "other", {"stuff": pd.DataFrame({"a": [1]})}, {})
    with pytest.raises(DataError, match="neither a `samples` table"):
        open_run(tmp_path / "other")


def test_two_runs_with_one_folder_name_get_distinct_names(tmp_path):
    a = synthetic_run(tmp_path / "a" / "run", n=30)
    b = synthetic_run(tmp_path / "b" / "run", n=30)
    assert list(open_runs([a, b])) == ["run", "run-2"]


def test_label_issues_without_optional_columns(tmp_path):
    run = synthetic_run(tmp_path / "old", n=60, with_kind=False)
    client = TestClient(create_app(open_runs([run])), base_url="http://127.0.0.1")
    q = client.get("/api/runs/old/issues", params={"status": "all"}).json()
    assert q["total"] == 60 and "kind" not in q["rows"][0]["evidence"]
    assert client.get("/api/runs/old/issues", params={"status": "weird"}).status_code == 400


def test_qa_run_sample_has_spans_and_the_queue_has_no_class_suggestion(tmp_path):
    from textlens.store.run_db import write_run_db

    context = "Tesla was born in 1856 in Smiljan. He moved to New York in 1884."
    samples = pd.DataFrame({
        "id": ["q1", "q2"], "split": ["train", "validation"], "title": ["Tesla", "Tesla"],
        "question": ["When was Tesla born?", "Where did he move?"], "context": [context, context],
        "label": ["1856", "New York"], "answers": [json.dumps(["1856"]), json.dumps(["New York"])],
        "answer_starts": [json.dumps([18]), json.dumps([47])], "prediction": ["1884", "New York"],
        "pred_start": [59, 47], "pred_end": [63, 55], "confidence": [0.8, 0.9],
        "loss": [3.1, 0.2], "correct": [0.0, 1.0], "f1": [0.0, 1.0], "x": [0.0, 1.0],
        "y": [0.0, 1.0], "cluster": [0, 0], "neighbours": [json.dumps(["q2"]), json.dumps(["q1"])]})
    issues = pd.DataFrame({"id": ["q1", "q2"], "score": [0.5, 0.0], "rank": [1, 2],
                           "reason": ["confident span far from gold", ""], "flagged": [True, False]})
    write_run_db(tmp_path / "squad", {"samples": samples, "label_issues": issues},
                 {"task": "qa"})
    client = TestClient(create_app(open_runs([tmp_path / "squad"])), base_url="http://127.0.0.1")
    d = client.get("/api/runs/squad/sample", params={"id": "q1"}).json()
    s = d["sample"]
    assert d["task"] == "qa" and s["answers"] == ["1856"]
    assert context[s["answer_starts"][0]:s["answer_starts"][0] + 4] == "1856"
    assert context[s["pred_start"]:s["pred_end"]] == "1884"
    assert d["neighbours"][0]["id"] == "q2"
    q = client.get("/api/runs/squad/issues").json()
    assert q["rows"][0]["id"] == "q1" and q["rows"][0]["suggested"] is None
    assert q["rows"][0]["text"] == "When was Tesla born?" and q["rows"][0]["context"] == context
    ok = client.post("/api/runs/squad/reviews", json={"sample_id": "q1", "decision": "mislabelled",
                                                      "new_label": "1884"})
    assert ok.status_code == 200  # QA: the corrected answer is free text
    summary = client.post("/api/runs/squad/selection", json={"positions": [0, 1]}).json()
    assert summary["mean_f1"] == pytest.approx(0.5)


def test_serving_code_is_not_imported_by_the_cli_help():
    import subprocess
    import sys

    code = ("import sys; import textlens; from textlens.cli.main import app; "
            "print([m for m in ('fastapi', 'uvicorn', 'starlette', 'textlens.serve.app') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_run_written_before_label_held_the_class_name_still_opens(tmp_path):
    from textlens.store.run_db import write_run_db

    old = pd.DataFrame({"id": ["a", "b", "c"], "text": ["x", "y", "z"], "label": [1, 0, 1],
                        "label_name": ["pos", "neg", "pos"], "p_0": [.2, .7, .4],
                        "p_1": [.8, .3, .6], "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5]})
    write_run_db(tmp_path / "old", {"samples": old}, {})
    run = open_run(tmp_path / "old")
    assert run.samples["label"].tolist() == ["pos", "neg", "pos"]
    assert run.samples["label_index"].tolist() == [1, 0, 1]
    assert run.label_names == ("neg", "pos") and "label_name" not in run.samples
