"""The dashboard's map in headless Chromium (SwiftShader software WebGL) at 100k and 1M points
(issue #21 point 2): first frame, pan/zoom frame time, colour change, lasso-to-summary, server
and Chromium memory.

- first frame: ms from navigation to the first frame with the map's styling
  (`window.textlens.drawnAt`, performance.now());
- frame: one map draw after a pan or a zoom step, forced to finish (a 1-pixel readPixels),
  at the fitted view, 8x and 256x zoom; median and max of 11 frames each, the points at that
  zoom's level of detail and the points sent to the GPU (those on screen);
- colour change: `restyle()` after switching the colour column, through the upload and a
  finished draw: cached columns (8 changes), and separately each column's first use (which
  downloads it: 2 bytes a point categorical, 4 numeric);
- lasso-to-summary: a box over the middle two thirds of the data, sent as a shape to `/select`,
  until the summary is shown and the selection's bitmap is drawn (parts: the page's own
  highlight, the server's summary, the bitmap download, the final restyle);
- RSS of the server process and of every Chromium process after the run.

Synthetic runs (`textlens.serve.synthetic.synthetic_run`) are built once under --cache.
The machine is shared: every figure is an upper bound, recorded with the load average by
bench/common.py. Usage: python bench/dashboard_browser.py [--n 100000 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record, timed  # noqa: E402

FRAME = """
const [kind, steps, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const m = window.textlens.map, gl = m.gl, px = new Uint8Array(4), out = [];
m.fit(); if (kind !== 1) m.view.zoom *= kind;
for (let k = 0; k < steps; k++) {
  const t = performance.now();
  if (k % 2) m.view.cx += 20 / m.view.zoom; else m.view.zoom *= (k % 4 ? 1.1 : 1 / 1.1);
  m.draw(); gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
  out.push(performance.now() - t);
}
done([out, m.drawnCount(), m.lastDrawn]);
"""
RESTYLE = """
const done = arguments[arguments.length - 1], d = window.textlens, gl = d.map.gl, px = new Uint8Array(4);
const t = performance.now();
d.state.color = arguments[0];
d.restyle().then(() => {
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
  done([performance.now() - t, d.styleMarks]);
});
"""
SELECT = """
const done = arguments[arguments.length - 1], d = window.textlens, m = d.map, b = m.bounds;
m.fit();
const w = b.maxX - b.minX, h = b.maxY - b.minY;
const box = [b.minX + w / 6, b.minY + h / 6, b.maxX - w / 6, b.maxY - h / 6];
const t = performance.now();
d.selectShape({ box }, "box").then(() => {
  const px = new Uint8Array(4); m.gl.readPixels(0, 0, 1, 1, m.gl.RGBA, m.gl.UNSIGNED_BYTE, px);
  done([performance.now() - t, d.lastSummary ? d.lastSummary.count : null, d.selectionCount,
        d.selectMarks]);
});
"""


def build_run(cache: Path, n: int) -> tuple[Path, float | None]:
    from textlens.serve.synthetic import synthetic_run

    out = cache / f"map{n}"
    if (out / "textlens.duckdb").exists():
        return out, None
    with timed() as t:
        synthetic_run(out, n=n, seed=3)
    return out, t["seconds"]


def start_server(run: Path, port: int) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, "TEXTLENS_PROGRESS": "0"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "textlens.cli.main", "serve", str(run),
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    while time.perf_counter() - start < 300:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/runs", timeout=2).read()
            return proc, time.perf_counter() - start
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(proc.stderr.read().decode()) from None
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
                "--window-size=1400,900", "--disable-dev-shm-usage", "--no-sandbox"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    drv.set_script_timeout(120)
    return drv


def rss_mb(pids: list[int]) -> float:
    """Summed resident memory (Linux /proc; no psutil in the project's environment)."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)
    return round(total / 1024, 1)


def chromium_pids(drv) -> list[int]:
    """chromedriver's descendants: the browser, its renderer, GPU and utility processes."""
    parent = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [drv.service.process.pid]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parent.items() if pp == pid]
        found += kids
        todo += kids
    return found


def stats(values: list[float]) -> dict[str, float]:
    return {"median": round(float(np.median(values)), 1), "max": round(float(max(values)), 1)}


def measure(run: Path, n: int, rounds: int) -> dict:
    from textlens.serve.live import free_port

    port = free_port()
    proc, ready = start_server(run, port)
    drv = browser()
    try:
        base = f"http://127.0.0.1:{port}/?run={run.name}"
        first = []
        for _ in range(rounds):
            drv.get("about:blank")
            drv.get(base)
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline and not drv.execute_script(
                    "return window.textlens && window.textlens.drawnAt"):
                time.sleep(0.05)
            first.append(drv.execute_script("return window.textlens.drawnAt"))
        marks = drv.execute_script("return window.textlens.marks")
        lod = drv.execute_script("return Boolean(window.textlens.state.meta.lod)")
        frames = {}
        for zoom in (1, 8, 256):
            times, level, sent = drv.execute_async_script(FRAME, zoom, 12)
            frames[f"zoom_x{zoom}"] = {**stats(times[1:]), "points_at_level": level,
                                       "points_sent": sent}
        columns = ("cluster", "loss", "label", "split")
        first_colour = [drv.execute_async_script(RESTYLE, c) for c in columns]  # downloads
        colour = [drv.execute_async_script(RESTYLE, c) for c in columns * 2]  # cached columns
        selects = [drv.execute_async_script(SELECT) for _ in range(rounds)]
        return {
            "n": n, "levels_of_detail": lod, "server_ready_s": round(ready, 2),
            "first_frame_ms": stats(first), "first_frame_rounds_ms": first, "marks_ms": marks,
            "frame_ms": frames,
            "colour_change_ms": stats([c[0] for c in colour]),
            "colour_change_parts_ms": colour[-1][1],
            "colour_change_first_ms_with_column_download": [round(c[0]) for c in first_colour],
            "box_to_summary_ms": stats([s[0] for s in selects]),
            "box_to_summary_parts_ms": selects[-1][3],
            "box_count": selects[-1][1], "highlighted": selects[-1][2],
            "server_rss_mb": rss_mb([proc.pid]), "chromium_rss_mb": rss_mb(chromium_pids(drv)),
        }
    finally:
        drv.quit()
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "textlens-bench-map")
    parser.add_argument("--key", default="map", help="key prefix in bench/results/dashboard_browser.json")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    for n in args.n:
        run, built = build_run(args.cache, n)
        result = measure(run, n, args.rounds)
        result["run_build_s"] = built
        path = record("dashboard_browser", f"{args.key}_{n}", result)
        print(f"{n:>9,} points: {result}\n-> {path}")


if __name__ == "__main__":
    main()
