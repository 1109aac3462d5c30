"""textlens's dashboard side by side with Apple's Embedding Atlas (#21 point 4), same data,
same headless Chromium, one run.

Both tools get the same N-row table (text, x, y, label, prediction, loss; a `synthetic_run` of
textlens's dashboard tests, so positions are given and neither tool projects anything):
textlens serves the run store, Embedding Atlas the Parquet export of its `samples` table
(`--x x --y y --text text --disable-projection`, DuckDB on the server). For each tool:

- ready: seconds from starting the server process until `GET /` answers 200;
- server RSS (MB) of the server process and its children, at ready and after the first frame;
- first frame: seconds from navigation until the page's largest canvas shows points, polled by
  screenshots (so resolution is one screenshot, ~0.1-0.5 s under SwiftShader; the same method
  for both tools, which is why textlens's own in-page timer is not used here);
- pan: a 20-step mouse drag over the map, the intervals between animation frames during it
  (median and p95 ms): the frame loop of the main thread, the same measure for both;
- Chromium RSS (MB), summed over its processes, after the pan;
- map_drawn: false when the page says its map needs WebGPU (Embedding Atlas 0.26 asks for an
  adapter with `shader-f16`, which headless Chromium's software adapter lacks: there its map is
  empty, and first frame and pan then measure its other views, not a map of the points).

Embedding Atlas is installed in its own virtual environment (its pins differ from textlens's):
    python3 -m venv /tmp/atlas-venv && /tmp/atlas-venv/bin/pip install embedding-atlas
Usage: python bench/embedding_atlas.py [--n 1000000] [--atlas /tmp/atlas-venv/bin/embedding-atlas]
Results: bench/results/embedding_atlas.json (key: n), with the load average (bench/common.py).
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(n: int, folder: Path) -> tuple[Path, Path]:
    """The run store and its Parquet twin, cached by size (building 1M rows takes minutes)."""
    import duckdb

    from textlens.serve.synthetic import synthetic_run

    run, table = folder / f"run-{n}", folder / f"points-{n}.parquet"
    if not (run / "textlens.duckdb").exists():
        synthetic_run(run, n=n, seed=0)
    if not table.exists():
        con = duckdb.connect(str(run / "textlens.duckdb"), read_only=True)
        con.execute(f"COPY (SELECT id, text, x, y, label, prediction, loss "
                    f"FROM samples) TO '{table}' (FORMAT parquet)")
        con.close()
    return run, table


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and its descendants, from /proc (no psutil needed)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def chromium_rss_mb() -> float:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if "chromium" not in (entry / "comm").read_text():
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def start(command: list[str], url: str, limit: float = 600) -> tuple[subprocess.Popen, float]:
    began = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    while time.perf_counter() - began < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"{command[0]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return proc, time.perf_counter() - began
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{command[0]} not ready in {limit} s")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # Embedding Atlas draws its map with WebGPU: without the last two flags headless Chromium
    # offers none and its map stays empty ("WebGPU is unavailable"); textlens uses WebGL.
    for arg in ("--headless=new", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
                "--window-size=1400,900", "--disable-dev-shm-usage", "--no-sandbox",
                "--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


LARGEST_CANVAS = """
const cs = [...document.querySelectorAll('canvas')].map(c => [c, c.getBoundingClientRect()])
  .filter(([, r]) => r.width > 100 && r.height > 100)
  .sort((a, b) => b[1].width * b[1].height - a[1].width * a[1].height);
if (!cs.length) return null;
const r = cs[0][1];
return [r.left, r.top, r.width, r.height, window.devicePixelRatio];
"""


def drawn_fraction(drv) -> float:
    """Share of the largest canvas's pixels that differ from its most common colour."""
    from PIL import Image

    rect = drv.execute_script(LARGEST_CANVAS)
    if not rect:
        return 0.0
    left, top, width, height, ratio = rect
    image = np.asarray(Image.open(io.BytesIO(drv.get_screenshot_as_png())).convert("RGB"))
    crop = image[int(top * ratio):int((top + height) * ratio),
                 int(left * ratio):int((left + width) * ratio)].reshape(-1, 3)
    if not len(crop):
        return 0.0
    colours, counts = np.unique(crop[:: max(1, len(crop) // 200_000)], axis=0,
                                return_counts=True)
    return 1.0 - counts.max() / counts.sum()


FRAME_RECORDER = """
window.__frames = [];
const tick = t => { window.__frames.push(t); if (window.__frames.length < 5000)
  requestAnimationFrame(tick); };
requestAnimationFrame(tick);
"""


def measure_page(url: str, server_pid: int, shot: Path | None = None,
                 limit: float = 180) -> dict:
    from selenium.webdriver.common.action_chains import ActionChains

    drv = browser()
    try:
        began = time.perf_counter()
        drv.get(url)
        first = None
        while time.perf_counter() - began < limit:
            if drawn_fraction(drv) > 0.01:
                first = time.perf_counter() - began
                break
            time.sleep(0.05)
        rss_after_frame = tree_rss_mb(server_pid)
        time.sleep(2)  # let late tiles settle before panning
        if shot is not None:  # look at what was measured
            drv.save_screenshot(str(shot))
        rect = drv.execute_script(LARGEST_CANVAS)
        frames = None
        if rect:
            canvas = max(drv.find_elements("css selector", "canvas"),
                         key=lambda c: c.size["width"] * c.size["height"])
            drv.execute_script(FRAME_RECORDER)
            start_t = drv.execute_script("return performance.now()")
            chain = ActionChains(drv).move_to_element(canvas).click_and_hold()
            for _ in range(20):
                chain = chain.move_by_offset(8, 5)
            chain.release().perform()
            time.sleep(0.5)
            times = drv.execute_script("return window.__frames")
            gaps = np.diff([t for t in times if t >= start_t])
            if len(gaps):
                frames = {"median_ms": round(float(np.median(gaps)), 1),
                          "p95_ms": round(float(np.percentile(gaps, 95)), 1),
                          "max_ms": round(float(gaps.max()), 1), "frames": int(len(gaps))}
        # Embedding Atlas 0.26 needs a WebGPU adapter with `shader-f16`; SwiftShader's has none,
        # so its map stays empty and its "first frame" is another canvas (a histogram).
        map_missing = "WebGPU is unavailable" in drv.page_source
        return {"map_drawn": not map_missing,
                "first_frame_s": None if first is None else round(first, 2),
                "server_rss_after_first_frame_mb": round(rss_after_frame, 1),
                "pan": frames, "chromium_rss_mb": round(chromium_rss_mb(), 1)}
    finally:
        drv.quit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--folder", default="/tmp/textlens-atlas-bench")
    parser.add_argument("--atlas", default="/tmp/atlas-venv/bin/embedding-atlas")
    parser.add_argument("--screenshots", default=None, help="folder for one PNG per tool")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    run, table = build(args.n, folder)
    textlens = str(Path(sys.executable).with_name("textlens"))
    tools = {
        "textlens": lambda port: [textlens, "serve", str(run), "--port", str(port)],
        "embedding-atlas": lambda port: [args.atlas, str(table), "--x", "x", "--y", "y",
                                         "--text", "text", "--disable-projection",
                                         "--duckdb", "server", "--host", "127.0.0.1",
                                         "--port", str(port), "--no-auto-port"],
    }
    results = {"n": args.n}
    for name, command in tools.items():
        if name == "embedding-atlas" and not Path(args.atlas).exists():
            results[name] = {"skipped": f"{args.atlas} not found (see the docstring)"}
            continue
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        proc, ready = start(command(port), url)
        try:
            row = {"ready_s": round(ready, 2), "server_rss_at_ready_mb":
                   round(tree_rss_mb(proc.pid), 1)}
            shot = Path(args.screenshots) / f"{name}-{args.n}.png" if args.screenshots else None
            row.update(measure_page(url, proc.pid, shot))
        finally:
            stop(proc)
        results[name] = row
        print(name, row, flush=True)
    record("embedding_atlas", str(args.n), results)


if __name__ == "__main__":
    main()
