"""Selections by shape, search, levels of detail and neighbour tables, each checked against an
independent computation on the stored table."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from textlens.serve import explore  # noqa: E402
from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_run  # noqa: E402
from textlens.store.run_db import connect  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    run_dir = synthetic_run(tmp_path_factory.mktemp("runs") / "demo", n=3000, seed=7,
                            texts=["The FILM was Ünïcode", "a (bracket) film"])
    runs = open_runs([run_dir])
    con = connect(run_dir / "textlens.duckdb")
    table = con.execute("SELECT id, text, split, x, y, cluster, neighbours FROM samples"
                        ).fetchdf()
    con.close()
    return runs["demo"], TestClient(create_app(runs), base_url="http://127.0.0.1"), table


def even_odd(px: float, py: float, poly: list[tuple[float, float]]) -> bool:
    """Ray casting, written out: the independent check of matplotlib's path test."""
    inside, j = False, len(poly) - 1
    for i, (xi, yi) in enumerate(poly):
        xj, yj = poly[j]
        if (yi > py) != (yj > py) and px < (xj - xi) * (py - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def positions_of(client, key: str) -> np.ndarray:
    res = client.get(f"/api/runs/demo/selections/{key}")
    got = np.frombuffer(res.content, dtype="<u4")
    assert int(res.headers["x-count"]) == len(got)
    return got


def test_lasso_selects_every_point_inside_with_an_exact_count(served):
    _, client, table = served
    rng = np.random.default_rng(3)
    angle = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radius = rng.uniform(3, 9, 9)
    poly = [(float(r * np.cos(a)), float(r * np.sin(a))) for a, r in zip(angle, radius, strict=True)]
    res = client.post("/api/runs/demo/select", json={"polygon": poly, "limit": 5}).json()
    want = [i for i, (x, y) in enumerate(zip(table["x"], table["y"], strict=True))
            if even_odd(x, y, poly)]
    assert res["count"] == len(want) > 100
    assert positions_of(client, res["selection"]).tolist() == want
    assert res["summary"]["count"] == len(want)
    assert res["summary"]["mean_loss"] is not None and len(res["summary"]["rows"]) == 5
    bits = np.unpackbits(np.frombuffer(client.get(
        f"/api/runs/demo/selections/{res['selection']}", params={"format": "bitmap"}).content,
        dtype=np.uint8), bitorder="little")[:len(table)]
    assert np.flatnonzero(bits).tolist() == want


def test_box_with_search_intersects_and_follow_ups_use_the_id(served):
    _, client, table = served
    box = [-30.0, -30.0, 2.0, 30.0]
    res = client.post("/api/runs/demo/select", json={"box": [2.0, 30.0, -30.0, -30.0],
                                                     "search": {"q": "FILM"}}).json()
    inside = table["x"].between(box[0], box[2]) & table["y"].between(box[1], box[3])
    film = table["text"].str.contains("film", case=False, regex=False)
    want = np.flatnonzero(inside & film).tolist()
    assert positions_of(client, res["selection"]).tolist() == want and 0 < len(want) < film.sum()
    export = client.post("/api/runs/demo/export", json={"selection": res["selection"],
                                                        "format": "jsonl"})
    assert export.status_code == 200 and export.content.count(b"\n") == res["count"]
    saved = client.post("/api/runs/demo/saved-slices", json={"name": "films",
                                                             "selection": res["selection"]})
    assert saved.json()["size"] == res["count"]
    both = client.post("/api/runs/demo/export", json={"selection": res["selection"],
                                                      "positions": [1]})
    assert both.status_code == 400
    assert client.get("/api/runs/demo/selections/0123456789abcdef").status_code == 404


def test_search_substring_regex_metadata_and_errors(served):
    _, client, table = served
    res = client.get("/api/runs/demo/search", params={"q": "ünïcode"})
    assert int(res.headers["x-count"]) == 1 and np.frombuffer(res.content, "<u4").tolist() == [0]
    pattern = r"^the (plot|scene) was \w+ and"
    res = client.get("/api/runs/demo/search", params={"q": pattern, "regex": 1, "case": 1})
    want = [i for i, t in enumerate(table["text"]) if re.search(pattern, t)]
    assert np.frombuffer(res.content, "<u4").tolist() == want and want
    meta = client.get("/api/runs/demo/search", params={"q": "valid", "column": "split",
                                                       "format": "json"}).json()
    assert meta["count"] == int((table["split"] == "validation").sum())
    literal = client.get("/api/runs/demo/search", params={"q": "(bracket)", "format": "json"})
    assert literal.json()["count"] == 1
    bad = client.get("/api/runs/demo/search", params={"q": "(unclosed", "regex": 1})
    assert bad.status_code == 400 and "does not compile" in bad.json()["problem"]
    none = client.get("/api/runs/demo/search", params={"q": "zebra", "format": "json"}).json()
    assert none["count"] == 0 and none["message"]
    assert client.get("/api/runs/demo/search", params={"q": "x", "column": "nope"}
                      ).status_code == 404


def test_levels_of_detail_are_nested_capped_and_complete(served):
    run, client, table = served
    lod = np.frombuffer(client.get("/api/runs/demo/lod").content, dtype=np.uint8)
    assert len(lod) == len(table)
    x, y = table["x"].to_numpy(), table["y"].to_numpy()
    for level in range(explore.LOD_LEVELS + 1):
        cells = explore.LOD_BASE << level
        cx = np.minimum(((x - x.min()) / (x.max() - x.min()) * cells).astype(int), cells - 1)
        cy = np.minimum(((y - y.min()) / (y.max() - y.min()) * cells).astype(int), cells - 1)
        drawn = lod <= level
        per_cell = np.bincount((cx * cells + cy)[drawn])
        assert per_cell.max() <= explore.LOD_CAP  # never more than the cap in a cell
        occupied = np.unique(cx * cells + cy)
        assert len(np.unique((cx * cells + cy)[drawn])) == len(occupied)  # no cell left empty
        listed = np.frombuffer(client.get("/api/runs/demo/points", params={"level": level}
                                          ).content, dtype="<u4")
        assert listed.tolist() == np.flatnonzero(drawn).tolist()
    assert (lod <= explore.LOD_LEVELS + 1).all() and (lod == 0).sum() < len(lod) / 4


def test_a_point_hidden_at_low_zoom_is_still_selected(served):
    _, client, table = served
    lod = np.frombuffer(client.get("/api/runs/demo/lod").content, dtype=np.uint8)
    hidden = int(np.flatnonzero(lod > 0)[0])
    x, y = float(table["x"][hidden]), float(table["y"][hidden])
    res = client.post("/api/runs/demo/select", json={"box": [x - 1e-9, y - 1e-9, x + 1e-9,
                                                             y + 1e-9], "summary": False}).json()
    assert hidden in positions_of(client, res["selection"]).tolist()


def test_members_binary_and_neighbour_table_agree_with_the_store(served):
    run, client, table = served
    res = client.get("/api/runs/demo/members", params={"column": "cluster", "value": "3",
                                                       "format": "binary"})
    assert np.frombuffer(res.content, "<u4").tolist() == np.flatnonzero(table["cluster"] == 3
                                                                        ).tolist()
    before = [run.neighbours(p) for p in (0, 17, 2999)]
    run.build_neighbours()
    assert [run.neighbours(p) for p in (0, 17, 2999)] == before
    ids = table["id"].tolist()
    import json

    assert [ids[p] for p in before[1]] == json.loads(table["neighbours"][17])


def test_issue_columns_take_the_first_row_of_an_id(tmp_path):
    import pandas as pd

    from textlens.store.run_db import write_run_db

    samples = pd.DataFrame({"id": ["a", "b", "c"], "text": ["x", "y", "z"], "x": [0.0, 1, 2],
                            "y": [0.0, 1, 2]})
    issues = pd.DataFrame({"id": ["b", "a", "b"], "score": [0.9, 0.2, 0.1],
                           "kind": ["label_error", "ambiguous", "ambiguous"]})
    write_run_db(tmp_path / "dup", {"samples": samples, "label_issues": issues}, {})
    run = open_runs([tmp_path / "dup"])["dup"]
    assert run.samples["issue_score"].tolist()[:2] == [0.2, 0.9]
    assert np.isnan(run.samples["issue_score"].iloc[2])
    assert run.samples["issue_kind"].tolist()[:2] == ["ambiguous", "label_error"]
    client = TestClient(create_app({"dup": run}), base_url="http://127.0.0.1")
    issue = client.get("/api/runs/dup/sample", params={"id": "b"}).json()["issue"]
    assert issue["score"] == 0.9 and issue["kind"] == "label_error"
    assert client.get("/api/runs/dup/sample", params={"id": "c"}).json()["issue"] is None
