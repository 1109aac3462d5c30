"""What the server refuses: paths outside its static files and runs, SQL, foreign hosts and
cross-site posts; and the headers that keep dataset text from ever running as script."""

from __future__ import annotations

import http.client
import subprocess
import sys

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from textlens.serve.app import create_app  # noqa: E402
from textlens.serve.live import serve_in_thread  # noqa: E402
from textlens.serve.runs import open_runs  # noqa: E402
from textlens.serve.synthetic import synthetic_run  # noqa: E402

TRAVERSALS = [
    "/static/../../../../etc/passwd", "/static/..%2F..%2F..%2Fetc%2Fpasswd",
    "/static/%2e%2e/%2e%2e/etc/passwd", "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/..%5c..%5cetc%5cpasswd", "/static//etc/passwd", "/static/%2Fetc%2Fpasswd",
    "//etc/passwd", "/etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%252f..%252fetc%252fpasswd", "/api/runs/..%2F..%2Fetc/points",
    "/api/runs/%2Fetc%2Fpasswd", "/api/runs/demo/columns/..%2F..%2Ftextlens.duckdb",
    "/api/runs/demo/../../textlens.duckdb", "/static/app.js/../../textlens.duckdb",
    "/textlens.duckdb", "/demo/textlens.duckdb", "/static/%00app.js",
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    run = synthetic_run(tmp_path_factory.mktemp("runs") / "demo", n=50)
    (run / "secret.txt").write_text("do not serve", encoding="utf-8")
    return create_app(open_runs([run]))


def raw_get(base: str, path: str, host: str | None = None) -> tuple[int, bytes]:
    """A GET with the path sent byte for byte (http.client does not normalise `..`)."""
    hostname, port = base.removeprefix("http://").split(":")
    con = http.client.HTTPConnection(hostname, int(port), timeout=10)
    try:
        con.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            con.putheader("Host", host)
        con.endheaders()
        res = con.getresponse()
        return res.status, res.read()
    finally:
        con.close()


def test_path_traversal_variants_get_404_on_a_real_socket(app):
    with serve_in_thread(app) as base:
        assert raw_get(base, "/static/app.js")[0] == 200
        for path in TRAVERSALS:
            status, body = raw_get(base, path)
            assert status == 404, (path, status)
            assert b"root:" not in body and b"do not serve" not in body and b"DUCK" not in body


def test_no_sql_from_the_browser(app):
    client = TestClient(app, base_url="http://127.0.0.1")
    for path in ("/api/query", "/api/runs/demo/query", "/api/runs/demo/sql"):
        assert client.get(path, params={"sql": "SELECT 1"}).status_code == 404
    r = client.get("/api/runs/demo/members", params={"column": "split' OR 1=1 --", "value": "x"})
    assert r.status_code == 404
    r = client.get("/api/runs/demo/sample", params={"id": "' OR '1'='1"})
    assert r.status_code == 404


def test_foreign_host_and_cross_site_posts_are_refused(app):
    with serve_in_thread(app) as base:
        assert raw_get(base, "/api/runs", host="evil.example:80")[0] == 421
        assert raw_get(base, "/api/runs", host="127.0.0.1")[0] == 200
    client = TestClient(app, base_url="http://127.0.0.1")
    body = '{"sample_id": "s000001", "decision": "unsure"}'
    form = client.post("/api/runs/demo/reviews", content=body,
                       headers={"Content-Type": "text/plain"})
    assert form.status_code == 415
    foreign = client.post("/api/runs/demo/reviews", content=body, headers={
        "Content-Type": "application/json", "Origin": "http://evil.example"})
    assert foreign.status_code == 403
    assert client.delete("/api/runs/demo").status_code == 405


def test_every_answer_carries_a_strict_content_security_policy(app):
    client = TestClient(app, base_url="http://127.0.0.1")
    for path in ("/", "/static/app.js", "/api/runs", "/nothing"):
        csp = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = client.get("/").text
    assert "<script>" not in page  # no inline script at all: the CSP would refuse it


def test_static_ui_never_uses_html_sinks():
    from textlens.serve.app import static_files

    for name, (body, _) in static_files().items():
        if name.endswith(".js"):
            text = body.decode("utf-8")
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
                assert sink not in text, (name, sink)


def test_binds_loopback_by_default_and_warns_otherwise(tmp_path):
    import inspect
    import socket

    from textlens.cli.serve import serve

    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    run = synthetic_run(tmp_path / "r", n=20)
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cmd = [sys.executable, "-m", "textlens.cli.main", "serve", str(run), "--host", "0.0.0.0",
               "--port", str(port)]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "Warning:" in out.stderr and "no login" in out.stderr.replace("\n", " ")
    assert f"Cannot listen on 0.0.0.0:{port}" in out.stderr.replace("\n", "")
    missing = subprocess.run([sys.executable, "-m", "textlens.cli.main", "serve",
                              str(tmp_path / "none")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "textlens.duckdb is missing" in missing.stderr
    assert "Traceback" not in missing.stderr
