"""One way for every benchmark to record where and how it ran, and to write its results.

Every script calls `record(name, key, value)`: the value is merged into
`bench/results/NAME.json` under `key` (other keys of that file are kept), atomically, together
with one `machine` block of the same shape for every script: CPU count, load average at the
start and at the end of the run, torch threads, versions of the parts that set the figures,
and the UTC time. Timings are taken with `timed()` so every script measures them alike.

Load averages matter here: on a shared 2-core machine, timings taken beside other jobs were
3-8x slower than idle ones; a figure without its load average cannot be compared.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
VERSIONED = ("textlens", "torch", "transformers", "tokenizers", "numpy", "duckdb",
             "scikit-learn", "umap-learn", "quapy", "shap", "lime", "captum",
             "transformers-interpret", "cleanlab", "embedding-atlas")
_START_LOAD = os.getloadavg()


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages now (for scripts that sample it around each run)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """Where the figures came from: cores, load average (at import and now), threads, versions."""
    try:
        import torch

        threads: int | None = torch.get_num_threads()
    except ImportError:
        threads = None
    versions = {}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "torch_threads": threads,
            "load_average_start": [round(x, 2) for x in _START_LOAD],
            "load_average_end": load_average(),
            "versions": versions, "utc": datetime.now(UTC).isoformat(timespec="seconds")}


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """`with timed() as t: ...` then `t["seconds"]`: wall-clock seconds of the block."""
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start


def record(name: str, key: str, value: Any, path: str | Path | None = None) -> Path:
    """Merge `value` (JSON-serialisable) into bench/results/NAME.json (or `path`, a script's
    --out) under `key`, with the machine block beside it; written atomically so a killed
    benchmark leaves the old file."""
    path = Path(path) if path is not None else RESULTS_DIR / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(path.read_text()) if path.exists() else {}
    results[key] = {"machine": machine(), "result": value}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=_plain) + "\n")
    os.replace(tmp, path)
    return path


def result(entry: Any) -> Any:
    """A key's value as `record` wrote it ({"machine", "result"}) or, in files written before
    this helper, as the script stored it itself."""
    if isinstance(entry, dict) and set(entry) == {"machine", "result"}:
        return entry["result"]
    return entry


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, paths and tuples as JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
