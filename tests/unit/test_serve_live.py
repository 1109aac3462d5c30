"""The dashboard as a real `textlens serve` process: reviews acknowledged before a kill -9 are
all in the store afterwards, and `textlens query` works beside a server that is writing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest

pytest.importorskip("fastapi")
from textlens.serve.live import free_port  # noqa: E402
from textlens.serve.synthetic import synthetic_run  # noqa: E402


def start_server(run: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-m", "textlens.cli.main", "serve", str(run),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/runs", timeout=5):
                return proc, base
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()) from None
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("textlens serve did not start in 120 s")


def post_review(base: str, sample_id: str, note: str) -> int:
    body = json.dumps({"sample_id": sample_id, "decision": "unsure", "note": note}).encode()
    req = urllib.request.Request(f"{base}/api/runs/demo/reviews", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as res:
        return res.status


def reviewers(base: str, n: int, stop: threading.Event, acked: list[str]) -> list[threading.Thread]:
    """`n` clients posting reviews with unique notes until `stop`; acknowledged notes collected."""
    def client(k: int) -> None:
        i = 0
        while not stop.is_set():
            note = f"c{k}-{i}"
            try:
                if post_review(base, f"s{(k * 7 + i) % 200:06d}", note) == 200:
                    acked.append(note)
            except (OSError, urllib.error.URLError):
                return  # the server is gone
            i += 1

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    return threads


def test_reviews_acknowledged_before_kill_9_are_all_stored(tmp_path):
    run = synthetic_run(tmp_path / "demo", n=200, seed=3)
    proc, base = start_server(run)
    stop, acked = threading.Event(), []
    try:
        threads = reviewers(base, 50, stop, acked)
        deadline = time.monotonic() + 60
        while len(acked) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-stream: writes in flight, some acknowledged
        proc.wait(30)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL and len(acked) >= 150
    con = duckdb.connect(str(run / "textlens.duckdb"), read_only=True)
    try:
        stored = {r[0] for r in con.execute("SELECT note FROM reviews").fetchall()}
    finally:
        con.close()
    assert set(acked) <= stored


def test_textlens_query_works_beside_a_server_writing_reviews(tmp_path):
    run = synthetic_run(tmp_path / "demo", n=200, seed=4)
    proc, base = start_server(run)
    stop, acked = threading.Event(), []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    try:
        deadline = time.monotonic() + 120  # the warm-up starts once the server serves
        while not json.load(urllib.request.urlopen(f"{base}/api/runs/demo", timeout=30))["warm"]:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        threads = reviewers(base, 8, stop, acked)
        counts = []
        for _ in range(4):
            out = subprocess.run([sys.executable, "-m", "textlens.cli.main", "query", str(run),
                                  "SELECT count(*) AS n FROM reviews", "--json"], capture_output=True,
                                 text=True, timeout=120, env=env)
            assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
            counts.append(json.loads(out.stdout)[0]["n"])
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        proc.terminate()
        proc.wait(30)
    assert counts == sorted(counts) and counts[-1] > 0 and len(acked) > counts[0]
