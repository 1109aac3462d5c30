"""The label review loop: decisions stored with timestamps, surviving restarts and 50 concurrent
clients, and `textlens export-labels` applying the accepted fixes."""

from __future__ import annotations

import json
import threading
import urllib.request

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from textlens.cli.main import app as cli  # noqa: E402
from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.live import serve_in_thread  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_run  # noqa: E402
from textlens.store.run_db import connect  # noqa: E402


@pytest.fixture
def run_dir(tmp_path):
    return synthetic_run(tmp_path / "demo", n=120, seed=5)


def client_for(run_dir):
    return TestClient(create_app(open_runs([run_dir])), base_url="http://127.0.0.1")


def stored_reviews(run_dir) -> pd.DataFrame:
    con = connect(run_dir / "textlens.duckdb")  # joins a writer still open in this process
    try:
        return con.execute("SELECT * FROM reviews ORDER BY created_at").fetchdf()
    finally:
        con.close()


def test_queue_is_ranked_with_suggested_labels(run_dir):
    client = client_for(run_dir)
    q = client.get("/api/runs/demo/issues", params={"status": "all", "limit": 10}).json()
    ranks = [r["evidence"]["rank"] for r in q["rows"]]
    assert ranks == sorted(ranks) and ranks[0] == 1
    samples = client.get("/api/runs/demo/sample", params={"id": q["rows"][0]["id"]}).json()["sample"]
    given, other = samples["label"], {"negative": "positive", "positive": "negative"}
    assert q["rows"][0]["given"] == given and q["rows"][0]["suggested"] == other[given]
    assert q["rows"][0]["evidence"]["kind"] in ("label_error", "ambiguous")
    flagged = client.get("/api/runs/demo/issues", params={"status": "all", "flagged": True}).json()
    assert all(r["evidence"]["flagged"] for r in flagged["rows"])


def test_decisions_are_validated(run_dir):
    client = client_for(run_dir)
    post = lambda body: client.post("/api/runs/demo/reviews", json=body)  # noqa: E731
    assert post({"sample_id": "s000001", "decision": "delete"}).status_code == 400
    r = post({"sample_id": "s000001", "decision": "mislabelled", "new_label": "neutral"})
    assert r.status_code == 400 and "negative, positive" in r.json()["fix"]
    assert post({"sample_id": "s000001", "decision": "mislabelled"}).status_code == 400
    assert post({"sample_id": "zzz", "decision": "unsure"}).status_code == 404
    ok = post({"sample_id": "s000001", "decision": "not_an_issue", "new_label": "positive"})
    assert ok.status_code == 200 and ok.json()["new_label"] is None


def test_reviews_survive_a_restart_and_leave_the_open_queue(run_dir):
    client = client_for(run_dir)
    first = client.get("/api/runs/demo/issues").json()["rows"][0]["id"]
    client.post("/api/runs/demo/reviews", json={"sample_id": first, "decision": "unsure"})
    client.post("/api/runs/demo/reviews", json={"sample_id": first, "decision": "mislabelled",
                                                "new_label": "positive"})
    restarted = client_for(run_dir)  # a new app reads the store from disk
    latest = restarted.get("/api/runs/demo/reviews").json()["reviews"]
    assert latest[first]["decision"] == "mislabelled" and latest[first]["new_label"] == "positive"
    history = restarted.get("/api/runs/demo/reviews", params={"history": True}).json()["reviews"]
    assert [h["decision"] for h in history] == ["unsure", "mislabelled"]
    open_ids = [r["id"] for r in restarted.get("/api/runs/demo/issues").json()["rows"]]
    assert first not in open_ids
    reviewed = restarted.get("/api/runs/demo/issues", params={"status": "reviewed"}).json()
    assert [r["id"] for r in reviewed["rows"]] == [first]
    assert restarted.get("/api/runs/demo/sample", params={"id": first}).json()["review"][
        "decision"] == "mislabelled"
    stored = stored_reviews(run_dir)
    assert stored["created_at"].is_monotonic_increasing and stored["created_at"].notna().all()
    meta = {c["name"]: c for c in restarted.get("/api/runs/demo").json()["columns"]}
    codes = np.frombuffer(restarted.get("/api/runs/demo/columns/review").content, dtype="<u2")
    position = restarted.get("/api/runs/demo/sample", params={"id": first}).json()["position"]
    assert meta["review"]["categories"][codes[position]] == "mislabelled"
    assert (np.delete(codes, position) == 0xFFFF).all()


def test_fifty_concurrent_clients_lose_no_review(run_dir):
    """A bounded load test on 127.0.0.1: 50 threads, each posting 2 reviews and reading."""
    app = create_app(open_runs([run_dir]))
    ids = [f"s{i:06d}" for i in range(100)]
    errors: list[str] = []

    def client(k: int, base: str) -> None:
        try:
            for sid in ids[2 * k:2 * k + 2]:
                body = json.dumps({"sample_id": sid, "decision": "mislabelled",
                                   "new_label": "positive" if k % 2 else "negative"}).encode()
                req = urllib.request.Request(f"{base}/api/runs/demo/reviews", data=body,
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=60) as res:
                    assert res.status == 200
                with urllib.request.urlopen(f"{base}/api/runs/demo/sample?id={sid}",
                                            timeout=60) as res:
                    assert json.load(res)["sample"]["id"] == sid
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(exc))

    with serve_in_thread(app) as base:
        threads = [threading.Thread(target=client, args=(k, base)) for k in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert errors == []
    stored = stored_reviews(run_dir)
    assert len(stored) == 100 and sorted(stored["sample_id"]) == ids
    expected = {sid: "positive" if (i // 2) % 2 else "negative" for i, sid in enumerate(ids)}
    assert dict(zip(stored["sample_id"], stored["new_label"], strict=True)) == expected


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_export_labels_applies_accepted_fixes(run_dir, tmp_path, suffix):
    client = client_for(run_dir)
    given = client.get("/api/runs/demo/sample", params={"id": "s000003"}).json()["sample"]
    flipped = {"negative": "positive", "positive": "negative"}[given["label"]]
    client.post("/api/runs/demo/reviews", json={"sample_id": "s000003", "decision": "mislabelled",
                                                "new_label": flipped})
    client.post("/api/runs/demo/reviews", json={"sample_id": "s000004", "decision": "mislabelled",
                                                "new_label": "negative"})
    client.post("/api/runs/demo/reviews", json={"sample_id": "s000004", "decision": "not_an_issue"})
    client.post("/api/runs/demo/reviews", json={"sample_id": "s000005", "decision": "unsure"})
    out = tmp_path / f"fixed.{suffix}"
    result = CliRunner().invoke(cli, ["export-labels", str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    fixed = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
    con = connect(run_dir / "textlens.duckdb")  # joins a writer still open in this process
    original = con.execute("SELECT id, text, label FROM samples ORDER BY id").fetchdf()
    con.close()
    fixed = fixed.set_index("id").loc[original["id"]]
    changed = fixed["label"].to_numpy() != original["label"].to_numpy()
    assert fixed.index[changed].tolist() == ["s000003"]
    assert fixed.loc["s000003", "label"] == flipped
    assert fixed.loc["s000003", "original_label"] == given["label"]
    assert fixed.loc["s000004", "label"] == original.set_index("id").loc["s000004", "label"]
    assert (fixed["text"].to_numpy() == original["text"].to_numpy()).all()
    assert "loss" not in fixed and "prediction" not in fixed and "p_0" not in fixed
    bad = CliRunner().invoke(cli, ["export-labels", str(run_dir), "--out", str(tmp_path / "x.xlsx")])
    assert bad.exit_code != 0


def test_the_analysis_tables_are_never_written(run_dir):
    def snapshot() -> dict[str, pd.DataFrame]:
        con = connect(run_dir / "textlens.duckdb")  # joins a writer still open in this process
        try:
            return {t: con.execute(f'SELECT * FROM "{t}"').fetchdf() for t in
                    ("samples", "clusters", "label_issues", "slices", "run_info")}
        finally:
            con.close()

    before = snapshot()
    client = client_for(run_dir)
    client.post("/api/runs/demo/reviews", json={"sample_id": "s000002", "decision": "unsure"})
    client.post("/api/runs/demo/saved-slices", json={"name": "x", "positions": [1, 2]})
    client.post("/api/runs/demo/selection", json={"positions": list(range(50))})
    after = snapshot()
    for name, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[name], check_like=False)
