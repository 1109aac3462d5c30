"""Hostile and careless input: every endpoint answers malformed input with a 4xx and a message
(a seeded fuzz over every route), bodies are capped before parsing, unknown fields are refused,
and the user-facing messages of issue #21 (unknown run, unknown path, run without a model,
a folder of runs, no `testserver` host)."""

from __future__ import annotations

import http.client
import json
import random

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.routing import APIRoute  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.limits import BIG_BODY, MAX_ELEMENTS, SMALL_BODY  # noqa: E402
from textlens.serve.live import serve_in_thread  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_corpus_run, synthetic_run  # noqa: E402

LOCAL = "http://127.0.0.1"
BIDI = "\u202eevil\u202c \u2067name\u2069"
# Raw JSON fragments: each must be refused or handled, never a 500
NASTY_JSON = ["NaN", "Infinity", "-Infinity", "1e400", "1e30", "-1", str(2**63), str(2**64),
              "9" * 5000, "1.5", "true", "null", '"1"', '"\\ud800"', '"\\udfff x"', '"a\\u0000b"',
              "[]", "{}", "[[1,2]]", '"' + "x" * 5000 + '"', json.dumps(BIDI), '"../../etc"',
              '"\' OR 1=1 --"', "[NaN, 1]", "[1e30, 2]", "[[NaN, 0], [1, 1], [0, 1]]",
              "[[1e400, 0], [1, 1], [0, 1]]", "[0, 0, 1]", '{"q": "("}', '{"q": "x", "regex": true}']
NASTY_QUERY = ["", "-1", str(2**63), "9" * 5000, "1e30", "nan", "%ED%A0%80", "x" * 3000,
               BIDI, "../../etc/passwd", "' OR 1=1 --", "1,2,3", ",,,", "0," * 60, "(", "true"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    synthetic_run(root / "demo", n=300, seed=1, texts=[BIDI, "plain"])
    synthetic_corpus_run(root / "speeches")
    app = create_app(open_runs([root / "demo", root / "speeches"]))
    return app, TestClient(app, base_url=LOCAL, raise_server_exceptions=False)


def _api_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every /api/ endpoint, from the router the app mounts at /api."""
    from textlens.serve.routes import router

    return [(sorted(r.methods)[0], "/api" + r.path) for r in router.routes
            if isinstance(r, APIRoute)]


def _fill(path: str, rng: random.Random) -> str:
    values = {"name": rng.choice(["demo", "demo", "speeches", "nope", "%E2%80%AEx"]),
              "column": rng.choice(["loss", "cluster", "review", "nope", "..%2Fx"]),
              "key": rng.choice(["0" * 16, "zz", "%00"])}
    for key, value in values.items():
        path = path.replace("{" + key + "}", value)
    return path


def _body(rng: random.Random) -> bytes:
    fields = ["positions", "sort", "descending", "limit", "format", "name", "sample_id",
              "decision", "new_label", "note", "kind", "compute", "polygon", "box", "search",
              "selection", "summary", "unknown_field"]
    chosen = rng.sample(fields, rng.randint(0, 4))
    parts = [f'"{f}": {rng.choice(NASTY_JSON)}' for f in chosen]
    if rng.random() < 0.3:
        parts.append('"positions": [1, 2, 3]')
    if rng.random() < 0.2:
        return rng.choice([b"", b"not json", b"[1,2", b'{"a":', b"\xff\xfe", b"null", b"[]"])
    return ("{" + ", ".join(parts) + "}").encode("utf-8")


def test_fuzz_every_endpoint_answers_4xx_with_a_message_never_500(served):
    app, client = served
    routes = _api_routes(app)
    assert len(routes) >= 20  # every endpoint below is in the list the app serves
    rng = random.Random(21)
    params = ["id", "positions", "slice", "status", "offset", "limit", "k", "column", "value",
              "q", "regex", "case", "format", "level", "history", "flagged", "per_stratum"]
    seen: dict[str, set[int]] = {}
    for method, template in routes:
        for _ in range(40):
            path = _fill(template, rng)
            query = {p: rng.choice(NASTY_QUERY) for p in rng.sample(params, rng.randint(0, 4))}
            if rng.random() < 0.2:  # a lone surrogate's UTF-8 bytes, percent-encoded as sent
                path += f"?{rng.choice(params)}=%ED%A0%80&q=%FF"
            if method == "POST":
                res = client.post(path, params=query, content=_body(rng),
                                  headers={"Content-Type": "application/json"})
            else:
                res = client.get(path, params=query)
            seen.setdefault(template, set()).add(res.status_code)
            assert res.status_code < 500, (method, path, query, res.status_code, res.text[:300])
            if res.status_code >= 400:
                payload = res.json()
                assert payload["problem"] and len(res.content) < 5000, (path, res.text[:300])
    assert set(seen) == {path for _, path in routes}
    unchecked = {path for path, codes in seen.items() if not any(s >= 400 for s in codes)}
    assert unchecked == {"/api/runs"}  # the fuzz reached every other endpoint's checks


@pytest.mark.parametrize("raw", ["NaN", "1e400", "1e30", str(2**63), "-1", "1.5", '"3"'])
def test_bad_numbers_in_positions_are_422_with_the_field_named(served, raw):
    _, client = served
    for path in ("selection", "export", "saved-slices"):
        body = {"selection": '{"positions": [1, %s]}', "export": '{"positions": [%s]}',
                "saved-slices": '{"name": "x", "positions": [%s]}'}[path]
        res = client.post(f"/api/runs/demo/{path}", content=(body % raw).encode(),
                          headers={"Content-Type": "application/json"})
        assert res.status_code == 422 and "positions" in res.json()["problem"], (path, raw)


def test_malformed_strings_are_4xx(served):
    _, client = served
    post = lambda path, raw: client.post(f"/api/runs/demo/{path}", content=raw,  # noqa: E731
                                         headers={"Content-Type": "application/json"})
    assert post("selection", b'{"positions": [1], "sort": "\\ud800"}').status_code == 422
    assert post("saved-slices", b'{"name": "\\ud800x", "positions": [1]}').status_code == 422
    assert post("reviews", b'{"sample_id": "\\udc00", "decision": "unsure"}').status_code == 422
    assert post("reviews", b'{"sample_id": "s000001", "decision": "unsure", '
                           b'"note": "\\ud83d"}').status_code == 422
    assert post("reviews", json.dumps({"sample_id": "s000001", "decision": "unsure",
                                       "note": "n" * 2001}).encode()).status_code == 422
    texts = client.get("/api/runs/demo/texts", params={"positions": "9" * 400})
    assert texts.status_code == 400 and "positions" in texts.json()["problem"]
    assert client.get("/api/runs/demo/texts", params={"positions": "1,x"}).status_code == 400
    unknown = post("selection", b'{"positions": [1], "secret": 1}')
    assert unknown.status_code == 422 and "secret" in unknown.json()["problem"]
    sort = post("selection", json.dumps({"positions": [1], "sort": "\u202enope"}).encode())
    assert sort.status_code == 400 and "\u202enope" in sort.json()["problem"]  # exact, not mangled


def test_bodies_are_capped_before_parsing_on_a_real_socket(served):
    app, _ = served
    with serve_in_thread(app) as base:
        host, port = base.removeprefix("http://").split(":")
        con = http.client.HTTPConnection(host, int(port), timeout=30)
        # declared too large: refused from the header, before a byte of body is read
        con.putrequest("POST", "/api/runs/demo/selection")
        con.putheader("Content-Type", "application/json")
        con.putheader("Content-Length", str(BIG_BODY + 1))
        con.endheaders()
        res = con.getresponse()
        payload = json.loads(res.read())
        assert res.status == 413 and "select a large region by its shape" in payload["fix"]
        con.close()
        # chunked, no length: counted while streaming
        con = http.client.HTTPConnection(host, int(port), timeout=30)
        chunks = (b"x" * 65536 for _ in range(SMALL_BODY // 65536 + 2))
        con.request("POST", "/api/runs/demo/reviews", body=chunks,
                    headers={"Content-Type": "application/json"}, encode_chunked=True)
        res = con.getresponse()
        assert res.status == 413 and json.loads(res.read())["problem"]
        con.close()
    client = TestClient(app, base_url=LOCAL)
    many = ("[" + ",".join(["0"] * (MAX_ELEMENTS + 101)) + "]").encode()
    assert len(many) < BIG_BODY
    res = client.post("/api/runs/demo/selection", content=b'{"positions": ' + many + b"}",
                      headers={"Content-Type": "application/json"})
    assert res.status_code == 413 and "elements" in res.json()["problem"]
    assert len(res.content) < 1000  # the input is never echoed


def test_unknown_run_path_and_page(served):
    _, client = served
    res = client.get("/api/runs/UNKNOWN")
    assert res.status_code == 404 and "demo (analysis)" in res.json()["fix"]
    assert "speeches (corpus)" in res.json()["fix"]
    api = client.get("/api/no/such/thing")
    assert api.status_code == 404 and api.json()["problem"].startswith("No endpoint")
    page = client.get("/some/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert page.text == client.get("/").text
    assert client.get("/static/nothing.js").status_code == 404


def test_a_run_without_a_model_says_how_to_add_one(served):
    _, client = served
    meta = client.get("/api/runs/demo").json()
    assert meta["explain_available"] is False and "--model DIR" in meta["explain_message"]
    sample = client.get("/api/runs/demo/sample", params={"id": "s000002"})
    assert sample.status_code == 200 and sample.json()["explain_available"] is False
    assert "textlens serve" in sample.json()["explain_message"]
    look = client.post("/api/runs/demo/explain", json={"sample_id": "s000002", "compute": False})
    assert look.status_code == 200 and look.json()["explanation"] is None
    assert look.json()["explain_available"] is False
    asked = client.post("/api/runs/demo/explain", json={"sample_id": "s000002", "compute": True})
    assert asked.status_code == 409 and "--model" in asked.json()["fix"]


def test_texts_come_back_exact_bidi_controls_included(served):
    _, client = served
    sample = client.get("/api/runs/demo/sample", params={"id": "s000000"}).json()
    assert sample["sample"]["text"] == BIDI
    hover = client.get("/api/runs/demo/texts", params={"positions": "0"}).json()
    assert hover["0"]["text"] == BIDI
    exported = client.post("/api/runs/demo/export", json={"positions": [0], "format": "jsonl"})
    assert json.loads(exported.content)["text"] == BIDI


def test_testserver_is_not_a_loopback_host(served):
    app, _ = served
    assert TestClient(app).get("/api/runs").status_code == 421  # Host: testserver
    assert TestClient(app, base_url="http://localhost:8765").get("/api/runs").status_code == 200


def test_a_folder_of_runs_serves_the_runs_inside(tmp_path):
    for name in ("b-run", "a-run"):
        synthetic_run(tmp_path / "runs" / name, n=30)
    (tmp_path / "runs" / "notes").mkdir()
    runs = open_runs([tmp_path / "runs"])
    assert list(runs) == ["a-run", "b-run"]
    names = [r["name"] for r in TestClient(create_app(runs), base_url=LOCAL).get("/api/runs").json()]
    assert names == ["a-run", "b-run"]


def test_review_positions_column_stays_typed(served):
    _, client = served
    codes = np.frombuffer(client.get("/api/runs/demo/columns/review").content, dtype="<u2")
    assert len(codes) == 300


def test_infinite_and_missing_values_come_back_as_null(tmp_path):
    import pandas as pd

    from textlens.store.run_db import write_run_db

    samples = pd.DataFrame({"id": ["a", "b"], "text": ["x", "y"], "x": [0.0, 1.0], "y": [0.0, 1.0],
                            "loss": [np.inf, np.nan], "score": [-np.inf, 2.0]})
    write_run_db(tmp_path / "inf", {"samples": samples}, {})
    client = TestClient(create_app(open_runs([tmp_path / "inf"])), base_url=LOCAL)
    detail = client.get("/api/runs/inf/sample", params={"id": "a"})
    assert detail.status_code == 200 and detail.json()["sample"]["loss"] is None
    summary = client.post("/api/runs/inf/selection", json={"positions": [0, 1]})
    assert summary.status_code == 200 and summary.json()["mean_loss"] is None
    assert client.get("/api/runs/inf").status_code == 200
