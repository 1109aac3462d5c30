"""The dashboard's access to a run's `textlens.duckdb`: reads, and group-committed writes.

DuckDB lets one process write a file or many read it, and refuses a second connection with
another mode inside one process. Writes go through one writer thread per run: it takes every
write waiting in its queue, commits them in one transaction and only then acknowledges each
(group commit). Its read-write connection stays open while writes keep coming and is closed
after LINGER_S without one, or after MAX_HOLD_S, with a GAP_S pause before it reopens, so a
`textlens query` in another process (which retries a locked file for 10 s) always gets in.
Reads use a cursor of that connection while it is open, else a read-only connection of their
own; one lock orders them. Before, each review opened, committed and checkpointed the file on
its own (~100-150 ms under load), and 50 concurrent reviewers queued behind each other: p95
5.0 s. The tables written are the dashboard's own (`store.run_db.DASHBOARD_TABLES`):
`reviews` (append-only, with timestamps), `saved_slices` and `explanation_cache`.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from textlens.store.run_db import DASHBOARD_TABLES, connect

T = TypeVar("T")
MAX_GROUP = 512  # writes committed together at most (a review insert is ~0.1 ms of it)
LINGER_S = 0.25  # the write connection is closed after this long without a write
MAX_HOLD_S = 1.0  # ... and at least this often, then left closed for GAP_S
GAP_S = 0.1


class RunStore:
    """Serialised access to one run database (the lock and the write queue are the shared state)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._lock = threading.Lock()  # one connection to the file at a time in this process
        self._queue: queue.SimpleQueue[tuple[Callable[[Any], Any], Future]] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start = threading.Lock()
        self._tables: list[str] | None = None  # known after the first look; writes add theirs
        self._con: Any = None  # the writer's open read-write connection, if any

    def _reader(self) -> tuple[Any, bool]:
        """(connection, own): a cursor of the open write connection, else a read-only one."""
        if self._con is not None:
            return self._con.cursor(), False
        return connect(self.db, read_only=True, wait=5.0), True

    def read(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """A fixed, parameterised query."""
        with self._lock:
            con, _ = self._reader()
            try:
                return con.execute(sql, list(params)).fetchdf()
            finally:
                con.close()

    def read_frame(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """A large read through Arrow (one copy less than `fetchdf`; strings stay in Arrow)."""
        with self._lock:
            con, _ = self._reader()
            try:  # large_string buffers: what pandas' Arrow strings hold, so no cast
                con.execute("SET arrow_large_buffer_size = true")
                table = con.sql(sql, params=list(params) or None).to_arrow_table()
            finally:
                con.close()
        return table.to_pandas(self_destruct=True, split_blocks=True)

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

    def submit(self, work: Callable[[Any], T]) -> Future[T]:
        """Queue `work(con)`; the future resolves once its transaction is committed."""
        future: Future[T] = Future()
        self._queue.put((work, future))
        with self._start:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, daemon=True,
                                                name=f"textlens-writer-{self.db.parent.name}")
                self._writer.start()
        return future

    def _write(self, work: Callable[[Any], T]) -> T:
        return self.submit(work).result()

    def _write_loop(self) -> None:
        opened = 0.0
        while True:
            try:
                first = self._queue.get(timeout=LINGER_S if self._con is not None else None)
            except queue.Empty:
                self._close()
                continue
            group = [first]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if self._con is None:
                opened = time.monotonic()
            self._commit(group)
            if time.monotonic() - opened > MAX_HOLD_S:
                self._close()
                time.sleep(GAP_S)

    def _open(self) -> Any:
        if self._con is None:
            con = connect(self.db, read_only=False, wait=5.0)
            for name, schema in DASHBOARD_TABLES.items():
                con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" ({schema})')
            self._con = con
        return self._con

    def _close(self) -> None:
        with self._lock:
            if self._con is not None:
                con, self._con = self._con, None
                con.close()

    def _commit(self, group: list[tuple[Callable[[Any], Any], Future]]) -> None:
        """One transaction for the group; if it fails, each write alone, so one bad write
        fails only its own request. Acknowledged only after COMMIT returned."""
        try:
            with self._lock:
                con = self._open()
                con.execute("BEGIN TRANSACTION")
                try:
                    results = [work(con) for work, _ in group]
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            if len(group) > 1:
                for item in group:
                    self._commit([item])
            else:
                group[0][1].set_exception(exc)
            return
        if self._tables is not None:
            self._tables = sorted(set(self._tables) | set(DASHBOARD_TABLES))
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)

    def submit_review(self, sample_id: str, decision: str, new_label: str | None,
                      note: str | None) -> Future[datetime]:
        now = datetime.now(UTC).replace(tzinfo=None)

        def work(con: Any) -> datetime:
            con.execute("INSERT INTO reviews VALUES (?, ?, ?, ?, ?)",
                        [sample_id, decision, new_label, note, now])
            return now

        return self.submit(work)

    def add_review(self, sample_id: str, decision: str, new_label: str | None,
                   note: str | None) -> datetime:
        return self.submit_review(sample_id, decision, new_label, note).result()

    def reviews(self, history: bool = False) -> pd.DataFrame:
        """The latest decision per sample (or every decision ever made, oldest first)."""
        if "reviews" not in self.tables():
            return pd.DataFrame(columns=["sample_id", "decision", "new_label", "note", "created_at"])
        if history:
            return self.read("SELECT * FROM reviews ORDER BY created_at, rowid")
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
