"""Dashboard server speed at 100k and 1M synthetic points (issue #21, points 2, 3 and 5),
measured server-side with httpx against a real `textlens serve` process on 127.0.0.1.

Per size: start to ready (spawn -> first answer of /api/runs/bench), to warm (the background
warm-up built the id index, neighbour table, levels of detail, search array and term matrix;
the measurements below start then) and RSS at each (`VmHWM` is the peak); a box over
two thirds of the map and a 64-vertex lasso to their summary (`POST /select`, counts checked
against numpy); search (substring, regex, no match); a cluster's members (JSON and binary);
sample detail; review writes from 50 concurrent clients (p95, every acknowledged review then
found in the store); and sample reads while a 1M-position selection is posted beside them
(no request slower for others because of one large one).

The machine is shared: `bench/common.py` records the load average at the start and the end;
every figure is an upper bound. The first frame and frame times are measured in Chromium by
the frontend's benchmark. `--explain` times on-demand IG with the fine-tuned sentiment model.
Usage: python bench/dashboard.py [--n 100000 1000000] [--runs-dir DIR] [--explain]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record, timed  # noqa: E402

SENTIMENT = Path(os.environ.get("TEXTLENS_CACHE", Path.home() / ".cache" / "textlens")) / \
    "models" / "sentiment-minilm"
SENTENCES_20 = [
    "the film opens with a slow and careful scene that builds quiet tension before the story "
    "finally gives way to real joy",
    "despite a clumsy middle act the actors keep the plot moving and the ending lands with "
    "surprising warmth and honest humour",
    "it is a tedious and overlong drama whose characters never earn the tears the score keeps "
    "asking us to shed",
]


def stats(ms: list[float]) -> dict[str, float]:
    values = np.asarray(ms)
    return {"n": len(ms), "p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1), "max": round(float(values.max()), 1)}


def rss_mb(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":" in line)
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}


def start_server(run: Path) -> tuple[subprocess.Popen, str, float]:
    from textlens.serve.live import free_port

    port = free_port()
    import httpx

    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "textlens.cli.main", "serve", str(run),
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    while time.perf_counter() - t < 300:
        try:
            if httpx.get(f"{base}/api/runs/bench", timeout=5).status_code == 200:
                return proc, base, time.perf_counter() - t
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the server did not start in 300 s")


def timed_calls(call, reps: int) -> tuple[list[float], object]:
    times, last = [], None
    for _ in range(reps):
        with timed() as t:
            last = call()
        times.append(1000 * t["seconds"])
    return times, last


def measure(run: Path, n: int) -> dict:
    import duckdb
    import httpx

    con = duckdb.connect(str(run / "textlens.duckdb"), read_only=True)
    cols = con.execute("SELECT x, y, id, cluster FROM samples").fetchnumpy()
    x, y, ids, cluster = (np.asarray(cols[k]) for k in ("x", "y", "id", "cluster"))
    con.close()
    proc, base, ready = start_server(run)
    since_ready = time.perf_counter()
    out: dict = {"n": n, "ready_s": round(ready, 2), "rss_at_ready_mb": rss_mb(proc.pid)}
    try:
        while not httpx.get(f"{base}/api/runs/bench", timeout=60).json()["warm"]:
            time.sleep(0.25)  # lookups and the term matrix built in the background
        out["warm_s"] = round(ready + time.perf_counter() - since_ready, 2)
        out["rss_when_warm_mb"] = rss_mb(proc.pid)
        with httpx.Client(base_url=f"{base}/api/runs/bench", timeout=120) as c:
            x0, x1 = np.percentile(x, [0, 100])
            y0, y1 = np.percentile(y, [0, 100])
            box = [x0, y0, x0 + (x1 - x0) * 0.82, y0 + (y1 - y0) * 0.82]  # ~2/3 of the area
            want = int(((x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])).sum())
            times, r = timed_calls(lambda: c.post("/select", json={"box": box}), 8)
            assert r.status_code == 200 and r.json()["count"] == want, r.text[:300]
            out["select_box_two_thirds_ms"] = {**stats(times), "count": want}
            angle = np.linspace(0, 2 * np.pi, 64, endpoint=False)
            cx, cy, rad = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * 0.35
            lasso = np.column_stack([cx + rad * np.cos(angle), cy + rad * np.sin(angle)]).tolist()
            times, r = timed_calls(lambda: c.post("/select", json={"polygon": lasso}), 8)
            assert r.status_code == 200, r.text[:300]
            out["select_lasso_64_vertices_ms"] = {**stats(times), "count": r.json()["count"]}
            key = r.json()["selection"]
            times, r = timed_calls(lambda: c.get(f"/selections/{key}",
                                                 params={"format": "bitmap"}), 8)
            out["selection_bitmap_ms"] = {**stats(times), "bytes": len(r.content)}
            for name, params in (("search_substring_ms", {"q": "gripping"}),
                                 ("search_regex_ms", {"q": "^the (film|plot) was (dull|great)",
                                                      "regex": 1}),
                                 ("search_no_match_ms", {"q": "zebra crossing"})):
                times, r = timed_calls(lambda p=params: c.get("/search", params=p), 6)
                assert r.status_code == 200, r.text[:300]
                out[name] = {**stats(times), "count": int(r.headers["x-count"])}
            want = int((cluster == 2).sum())
            for fmt in ("json", "binary"):
                times, r = timed_calls(lambda f=fmt: c.get("/members", params={
                    "column": "cluster", "value": "2", "format": f}), 8)
                got = len(r.json()["positions"]) if fmt == "json" else int(r.headers["x-count"])
                assert got == want
                out[f"members_{fmt}_ms"] = {**stats(times), "count": want}
            rng = np.random.default_rng(0)
            picks = iter(ids[rng.choice(len(ids), 200, replace=False)])
            times, r = timed_calls(lambda: c.get("/sample", params={"id": next(picks)}), 100)
            out["sample_detail_ms"] = stats(times)
            out["reviews_50_clients"] = reviews_under_load(base, ids)
            out["reads_beside_a_1m_position_post"] = reads_beside_large(base, ids, n)
        time.sleep(2)
        out["rss_at_end_mb"] = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def reviews_under_load(base: str, ids: np.ndarray, clients: int = 50, each: int = 4) -> dict:
    """50 threads, each posting `each` reviews on its own connection: latency of every write,
    and every acknowledged one found in the store afterwards (checked by the unit tests too)."""
    import httpx

    times: list[float] = []
    errors: list[str] = []
    start = threading.Barrier(clients)

    def client(k: int) -> None:
        with httpx.Client(base_url=f"{base}/api/runs/bench", timeout=60) as c:
            start.wait()
            for i in range(each):
                body = {"sample_id": str(ids[(k * each + i) % len(ids)]), "decision": "unsure",
                        "note": f"load {k}-{i}"}
                with timed() as t:
                    r = c.post("/reviews", json=body)
                times.append(1000 * t["seconds"])
                if r.status_code != 200:
                    errors.append(r.text[:200])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {**stats(times), "clients": clients, "errors": len(errors)}


def reads_beside_large(base: str, ids: np.ndarray, n: int) -> dict:
    """Sample reads alone, then while one client posts a selection of every position (~7 MB
    of JSON at 1M): the large request must not stall the others."""
    import httpx

    def reads(k: int) -> list[float]:
        out = []
        with httpx.Client(base_url=f"{base}/api/runs/bench", timeout=60) as c:
            for i in range(k):
                with timed() as t:
                    c.get("/sample", params={"id": str(ids[(i * 7919) % len(ids)])})
                out.append(1000 * t["seconds"])
        return out

    alone = reads(30)
    body = json.dumps({"positions": list(range(n)), "limit": 10}).encode()
    result: dict = {}

    def big() -> None:
        with timed() as t:
            r = httpx.post(f"{base}/api/runs/bench/selection", content=body, timeout=300,
                           headers={"Content-Type": "application/json"})
        result.update(status=r.status_code, seconds=round(t["seconds"], 2))

    thread = threading.Thread(target=big)
    thread.start()
    time.sleep(0.05)
    beside = reads(30)
    thread.join()
    return {"alone_ms": stats(alone), "beside_ms": stats(beside), "large_post": result,
            "large_post_bytes": len(body)}


def explain_timings(tmp: Path) -> dict:
    if not (SENTIMENT / "training.json").exists():
        return {"skipped": f"no fine-tuned model at {SENTIMENT}"}
    from fastapi.testclient import TestClient

    from textlens.serve.app import create_app
    from textlens.serve.runs import open_runs
    from textlens.serve.synthetic import synthetic_run

    run = synthetic_run(tmp / "ig", n=len(SENTENCES_20) + 1, model=str(SENTIMENT),
                        texts=["a warm up sentence for loading the model", *SENTENCES_20])
    client = TestClient(create_app(open_runs([run])), base_url="http://127.0.0.1")
    client.post("/api/runs/ig/explain", json={"sample_id": "s000000", "kind": "prediction"})
    times = []
    for k in range(1, len(SENTENCES_20) + 1):
        with timed() as t:
            r = client.post("/api/runs/ig/explain", json={"sample_id": f"s{k:06d}"})
        assert r.status_code == 200
        times.append(1000 * t["seconds"])
    return {"model": str(SENTIMENT), "uncached_ms": stats(times)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs-dir", default=None,
                        help="keep the synthetic runs here (reused when present)")
    parser.add_argument("--explain", action="store_true", help="time on-demand IG only")
    args = parser.parse_args()
    from textlens.serve.synthetic import synthetic_run

    root = Path(args.runs_dir or tempfile.mkdtemp(prefix="textlens-bench-"))
    if args.explain:
        print(json.dumps(record("dashboard", "explain_ig", explain_timings(root)).name))
        return
    for n in args.n:
        run = root / f"n{n}" / "bench"
        if not (run / "textlens.duckdb").exists():
            with timed() as t:
                synthetic_run(run, n=n, seed=0)
            print(f"wrote {n:,} samples in {t['seconds']:.0f} s", flush=True)
        result = measure(run, n)
        record("dashboard", f"server_{n}", result)
        print(json.dumps(result, indent=1), flush=True)


if __name__ == "__main__":
    main()
