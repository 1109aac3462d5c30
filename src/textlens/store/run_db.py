"""The run store: one DuckDB file of tables per analysis run, plus a cache of the costly steps.

`RUN/textlens.duckdb` is written once, at the end, to a temporary sibling and renamed into
place, so an interrupted run never leaves a half-written database. Costly intermediate results
(predictions, embeddings, the 2-D map) go to `RUN/.cache/`, each file written atomically under
a key that hashes the model files, the data (ids and texts) and the step's options: a rerun, or
a run resumed after a kill, reuses every chunk already computed and recomputes nothing else.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from textlens.errors import DataError
from textlens.store.files import atomic_path

DB_NAME = "textlens.duckdb"
CACHE_DIR = ".cache"


def digest(*parts: Any) -> str:
    """A short stable hash of JSON-able parts."""
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def fingerprint_model(source: str, model: Any = None) -> str:
    """Hash of every file of a model directory; of the weights themselves for in-memory models."""
    path = Path(source)
    h = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(file.relative_to(path)).encode())
            with file.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    h.update(block)
    elif model is not None:
        for name, tensor in sorted(model.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    else:
        h.update(source.encode())
    return h.hexdigest()[:16]


def fingerprint_data(rows: Iterable[tuple[str, ...]]) -> str:
    """Hash of the (id, text fields...) rows, in order."""
    h = hashlib.sha256()
    for row in rows:
        h.update("\x1f".join(row).encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()[:16]


class RunCache:
    """Atomic `.npy` / `.parquet` cache entries under `RUN/.cache`, named `step-key`."""

    def __init__(self, run_dir: str | Path) -> None:
        self.root = Path(run_dir) / CACHE_DIR
        self.hits: list[str] = []
        self.misses: list[str] = []

    def has(self, name: str, key: str, suffix: str = "npy") -> bool:
        return (self.root / f"{name}-{key}.{suffix}").exists()

    def array(self, name: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        path = self.root / f"{name}-{key}.npy"
        if path.exists():
            self.hits.append(name)
            return np.load(path)
        self.misses.append(name)
        value = np.asarray(compute())
        with atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.save(handle, value)
        return value

    def frame(self, name: str, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        path = self.root / f"{name}-{key}.parquet"
        if path.exists():
            self.hits.append(name)
            return pd.read_parquet(path)
        self.misses.append(name)
        value = compute()
        with atomic_path(path) as tmp:
            value.to_parquet(tmp, index=False)
        return value


# The dashboard's own tables (`textlens serve` creates them on its first write; `analyze` never
# writes them): the one place their schema is defined.
DECISIONS = ("mislabelled", "not_an_issue", "unsure")
DASHBOARD_TABLES = {
    "reviews": "sample_id VARCHAR, decision VARCHAR, new_label VARCHAR, note VARCHAR, "
               "created_at TIMESTAMP",
    "saved_slices": "name VARCHAR, sample_id VARCHAR, created_at TIMESTAMP",
    "explanation_cache": "sample_id VARCHAR, kind VARCHAR, model VARCHAR, created_at TIMESTAMP, "
                         "explanation VARCHAR",
}
# A person's work in the dashboard (review decisions, named slices) outlives a rerun of the
# analysis into the same folder; everything else in the store is recomputed (the explanation
# cache belongs to the old model).
KEPT_TABLES = ("reviews", "saved_slices")


def write_run_db(run_dir: str | Path, tables: Mapping[str, pd.DataFrame],
                 info: Mapping[str, Any]) -> Path:
    """Write all tables (and a `run_info` key/value table) to RUN/textlens.duckdb, atomically.

    The dashboard's `KEPT_TABLES` of a store already there are carried over, so a rerun loses no
    review.
    """
    import duckdb

    target = Path(run_dir) / DB_NAME
    info_frame = pd.DataFrame({"key": list(info), "value": [json.dumps(v, default=str)
                                                             for v in info.values()]})
    with atomic_path(target) as tmp:
        con = duckdb.connect(str(tmp))
        try:
            for name, frame in {**tables, "run_info": info_frame}.items():
                con.register("frame_view", frame)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM frame_view')
                con.unregister("frame_view")
            if target.exists():
                _carry_over(con, target, skip=set(tables))
            con.execute("CHECKPOINT")
        finally:
            con.close()
    return target


def _carry_over(con: Any, previous: Path, skip: set[str]) -> None:
    con.execute("ATTACH ? AS previous (READ_ONLY)", [str(previous)])
    try:
        present = {row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'previous'"
        ).fetchall()}
        for name in KEPT_TABLES:
            if name in present and name not in skip:
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM previous."{name}"')
    finally:
        con.execute("DETACH previous")


def _db(run_dir: str | Path) -> Path:
    path = Path(run_dir)
    path = path if path.suffix == ".duckdb" else path / DB_NAME
    if not path.exists():
        raise DataError(f"No textlens run at '{run_dir}' ({DB_NAME} missing).",
                        "run `textlens analyze ... --out RUN` or `textlens corpus ... --out RUN` "
                        "first, and pass that RUN folder.")
    return path


def connect(db: str | Path, read_only: bool = True, wait: float = 10.0) -> Any:
    """A DuckDB connection to a run store, retried while another process holds the file.

    DuckDB lets one process write a file or many read it. `textlens serve` opens the store
    read-write only for each group of review writes (tens of ms), so a `textlens query` that
    meets that lock waits and retries (with backoff, up to `wait` seconds) instead of failing."""
    import duckdb

    from textlens.errors import BusyError

    deadline, delay = time.monotonic() + wait, 0.01
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only)
        except duckdb.ConnectionException as exc:
            # Inside one process DuckDB keeps one instance per file and mode: a reader joins
            # this process's open read-write instance (the dashboard's writer); a writer waits
            # for this process's read-only connections to close.
            if "different configuration" not in str(exc):
                raise
            if read_only:
                return duckdb.connect(str(db))
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            continue
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() + delay > deadline:
                raise BusyError(f"{db} stayed locked by another process for {wait:.0f} s.",
                                "close the other program writing to this run (a `textlens "
                                "analyze` into the same folder) and try again.") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)  # short: the server's write lock is released often


def query(run_dir: str | Path, sql: str) -> pd.DataFrame:
    """Run SQL on a run's database, read-only, and return the result (waiting out a live
    server's short write locks)."""
    import duckdb

    con = connect(_db(run_dir), read_only=True)
    try:
        return con.execute(sql).fetchdf()
    except duckdb.Error as exc:
        raise DataError(f"The query failed: {exc}",
                        "check the SQL; `SHOW TABLES` and `DESCRIBE samples` list what exists."
                        ) from exc
    finally:
        con.close()


def run_info(run_dir: str | Path) -> dict[str, Any]:
    frame = query(run_dir, "SELECT key, value FROM run_info")
    return {k: json.loads(v) for k, v in zip(frame["key"], frame["value"], strict=True)}
