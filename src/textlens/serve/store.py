"""The dashboard's access to a run's `textlens.duckdb`: read-only reads, serialised writes.

No connection is held between requests. DuckDB lets one process write a file or many read it,
and refuses a second connection with another mode inside one process, so a held connection
would lock `textlens query` (another process) out for as long as the server runs. Each read
opens the file read-only and each write opens it read-write, both under one lock per run:
opening costs ~15 ms (read-only) and ~40 ms (a write with its checkpoint) on this machine.
The only writes are the dashboard's own tables: `reviews` (append-only, with timestamps),
`saved_slices` and `explanation_cache`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from textlens.errors import DataError

T = TypeVar("T")

WRITE_TABLES = {
    "reviews": "sample_id VARCHAR, decision VARCHAR, new_label VARCHAR, note VARCHAR, "
               "created_at TIMESTAMP",
    "saved_slices": "name VARCHAR, sample_id VARCHAR, created_at TIMESTAMP",
    "explanation_cache": "sample_id VARCHAR, kind VARCHAR, model VARCHAR, created_at TIMESTAMP, "
                         "explanation VARCHAR",
}
DECISIONS = ("mislabelled", "not_an_issue", "unsure")


class RunStore:
    """Serialised access to one run database (the lock is the one piece of shared state)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._tables: list[str] | None = None  # known after the first look; writes add theirs

    def read(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """A fixed, parameterised query on a read-only connection."""
        import duckdb

        with self._lock:
            con = duckdb.connect(str(self.db), read_only=True)
            try:
                return con.execute(sql, list(params)).fetchdf()
            finally:
                con.close()

    def tables(self) -> list[str]:
        """The tables of the run (read once: each open costs ~15-40 ms, more under load)."""
        if self._tables is None:
            frame = self.read("SELECT table_name FROM information_schema.tables")
            self._tables = frame["table_name"].tolist()
        return list(self._tables)

    def columns(self, table: str) -> list[str]:
        frame = self.read("SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                          "ORDER BY ordinal_position", [table])
        return frame["column_name"].tolist()

    def _write(self, work: Callable[[Any], T]) -> T:
        """Run `work(con)` in one transaction on a read-write connection, under the lock.

        Another process holding the file (a `textlens query` in a terminal) makes the open fail
        for a moment; it is retried for up to ~5 s before the error reaches the user."""
        import duckdb

        with self._lock:
            delay = 0.05
            for attempt in range(8):
                try:
                    con = duckdb.connect(str(self.db))
                    break
                except duckdb.IOException:
                    if attempt == 7:
                        raise DataError(f"{self.db} is locked by another process.",
                                        "close the other program using it and try again.") from None
                    time.sleep(delay)
                    delay *= 2
            try:
                for name, schema in WRITE_TABLES.items():
                    con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({schema})')
                con.execute("BEGIN TRANSACTION")
                result = work(con)
                con.execute("COMMIT")
                if self._tables is not None:
                    self._tables = sorted(set(self._tables) | set(WRITE_TABLES))
                return result
            finally:
                con.close()

    def add_review(self, sample_id: str, decision: str, new_label: str | None,
                   note: str | None) -> datetime:
        now = datetime.now(UTC).replace(tzinfo=None)
        self._write(lambda con: con.execute("INSERT INTO reviews VALUES (?, ?, ?, ?, ?)",
                                            [sample_id, decision, new_label, note, now]))
        return now

    def reviews(self, history: bool = False) -> pd.DataFrame:
        """The latest decision per sample (or every decision ever made, oldest first)."""
        if "reviews" not in self.tables():
            return pd.DataFrame(columns=["sample_id", "decision", "new_label", "note", "created_at"])
        if history:
            return self.read("SELECT * FROM reviews ORDER BY created_at")
        return self.read("SELECT * FROM reviews QUALIFY row_number() OVER "
                         "(PARTITION BY sample_id ORDER BY created_at DESC, rowid DESC) = 1")

    def save_slice(self, name: str, sample_ids: Sequence[str]) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        frame = pd.DataFrame({"name": name, "sample_id": list(sample_ids), "created_at": now})

        def work(con: Any) -> None:
            con.execute("DELETE FROM saved_slices WHERE name = ?", [name])
            con.register("new_slice", frame)
            con.execute("INSERT INTO saved_slices SELECT name, sample_id, created_at FROM new_slice")
            con.unregister("new_slice")

        self._write(work)

    def saved_slices(self) -> pd.DataFrame:
        if "saved_slices" not in self.tables():
            return pd.DataFrame(columns=["name", "size", "created_at"])
        return self.read("SELECT name, count(*) AS size, max(created_at) AS created_at "
                         "FROM saved_slices GROUP BY name ORDER BY name")

    def slice_ids(self, name: str) -> list[str]:
        if "saved_slices" not in self.tables():
            return []
        return self.read("SELECT sample_id FROM saved_slices WHERE name = ?",
                         [name])["sample_id"].tolist()

    def cached_explanation(self, sample_id: str, kind: str, model: str) -> dict | None:
        if "explanation_cache" not in self.tables():
            return None
        rows = self.read("SELECT explanation FROM explanation_cache WHERE sample_id = ? AND kind = ? "
                         "AND model = ? ORDER BY created_at DESC LIMIT 1", [sample_id, kind, model])
        return json.loads(rows["explanation"].iloc[0]) if len(rows) else None

    def cache_explanation(self, sample_id: str, kind: str, model: str, value: dict) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        blob = json.dumps(value, ensure_ascii=False)
        self._write(lambda con: con.execute(
            "INSERT INTO explanation_cache VALUES (?, ?, ?, ?, ?)",
            [sample_id, kind, model, now, blob]))
