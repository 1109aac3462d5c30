"""The corpus run store: RUN/textlens.duckdb, written as the run goes and resumable.

Unlike the latent run (written once at the end), a corpus run commits each batch of documents
in one transaction: a document's row in `documents` and all its rows in `sentences` land
together or not at all. Killed at any point (SIGKILL included), DuckDB rolls the open
transaction back on the next open, and the rerun skips the documents already in `documents`:
every sentence ends up in the tables exactly once. A run remembers what it was started with
(`run_info.fingerprint`); a rerun with another model, corpus or options is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from textlens.errors import DataError

if TYPE_CHECKING:
    import duckdb

    from textlens.corpus.engine import SentenceRow

DB_NAME = "textlens.duckdb"
# Out-of-fold predictions of models fine-tuned on the run's labels (`training.corpus`), read by
# `corpus.compare`: the run store owns the name so neither package imports the other.
CROSSFIT_TABLE = "crossfit_predictions"


def db_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / DB_NAME


def probability_columns(label_names: Sequence[str]) -> list[str]:
    return [f"p_{name}" for name in label_names]


@contextmanager
def open_store(run_dir: str | Path, fingerprint: Mapping[str, Any], metadata: pd.DataFrame,
               label_names: Sequence[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open (or create) the run's database; refuse one started with a different fingerprint.
    `metadata` (doc_id, path, n_chars, metadata columns) gives the documents table its types."""
    import duckdb

    path = db_path(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        _create(con, fingerprint, metadata, label_names)
        yield con
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _create(con: duckdb.DuckDBPyConnection, fingerprint: Mapping[str, Any],
            metadata: pd.DataFrame, label_names: Sequence[str]) -> None:
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    wanted = json.dumps(fingerprint, sort_keys=True, default=str)
    if "run_info" in tables:
        row = con.execute("SELECT value FROM run_info WHERE key = 'fingerprint'").fetchone()
        if row is None or row[0] != wanted:
            raise DataError(
                f"The run folder already holds a corpus run started with other settings "
                f"(model, corpus, selection or options differ): {json.loads(row[0]) if row else {}}.",
                "pass a new --out folder, rerun with the same settings to resume, or add "
                "--overwrite to start this run afresh.")
        return
    probs = ", ".join(f'"{c}" DOUBLE' for c in probability_columns(label_names))
    con.execute("BEGIN TRANSACTION")
    con.execute("CREATE TABLE run_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.register("meta_view", metadata.head(0).assign(n_sentences=pd.Series(dtype="int64")))
    con.execute("CREATE TABLE documents AS SELECT * FROM meta_view")
    con.unregister("meta_view")
    con.execute("CREATE TABLE sentences (doc_id VARCHAR, sentence_id INTEGER, text VARCHAR, "
                '"start" INTEGER, "end" INTEGER, n_tokens INTEGER, truncated BOOLEAN, '
                f"label VARCHAR, sign TINYINT, confidence DOUBLE, {probs})")
    con.execute("CREATE TABLE bad_files (path VARCHAR, reason VARCHAR)")
    con.execute("INSERT INTO run_info VALUES ('fingerprint', ?)", [wanted])
    con.execute("COMMIT")


def completed_documents(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT doc_id FROM documents").fetchall()}


def append_batch(con: duckdb.DuckDBPyConnection, documents: pd.DataFrame,
                 rows: Sequence[SentenceRow], label_names: Sequence[str],
                 signs: Mapping[str, int]) -> None:
    """Insert a batch of finished documents and their sentences in one transaction."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.doc_id] = counts.get(row.doc_id, 0) + 1
    docs = documents.assign(n_sentences=[counts.get(d, 0) for d in documents["doc_id"]])
    frame = pd.DataFrame({
        "doc_id": [r.doc_id for r in rows], "sentence_id": [r.sentence_id for r in rows],
        "text": [r.text for r in rows], "start": [r.start for r in rows],
        "end": [r.end for r in rows], "n_tokens": [r.n_tokens for r in rows],
        "truncated": [r.truncated for r in rows], "label": [r.label for r in rows],
        "sign": [signs[r.label] for r in rows], "confidence": [r.confidence for r in rows],
        **{col: [r.probabilities[i] for r in rows]
           for i, col in enumerate(probability_columns(label_names))}})
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("docs_view", docs)
        con.register("rows_view", frame)
        con.execute("INSERT INTO documents BY NAME SELECT * FROM docs_view")
        con.execute("INSERT INTO sentences BY NAME SELECT * FROM rows_view")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("docs_view")
        con.unregister("rows_view")


def replace_tables(con: duckdb.DuckDBPyConnection, tables: Mapping[str, pd.DataFrame],
                   info: Mapping[str, Any] | None = None) -> None:
    """(Re)write whole tables, and run_info keys, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name, frame in tables.items():
            con.register("frame_view", frame)
            con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM frame_view')
            con.unregister("frame_view")
        for key, value in (info or {}).items():
            con.execute("INSERT OR REPLACE INTO run_info VALUES (?, ?)",
                        [key, json.dumps(value, default=str)])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def read_table(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).fetchdf()


# The researcher's validation work (the drawn sample and the labels given to it) outlives a
# rerun of `corpus` into the same RUN, like the dashboard's reviews outlive a rerun of analyze.
VALIDATION_TABLES = ("validation", "validation_labels")


@contextmanager
def connect(run_dir: str | Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """An existing corpus run's database (a clear error when RUN holds none)."""
    import duckdb

    path = db_path(run_dir)
    if not path.exists():
        raise DataError(f"No corpus run at '{run_dir}' ({DB_NAME} missing).",
                        "run `textlens corpus --model M --data D --out RUN` first and pass RUN.")
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "sentences" not in tables:
            raise DataError(f"'{run_dir}' is not a corpus run (no sentences table).",
                            "pass the --out folder of a `textlens corpus` run.")
        yield con
    finally:
        con.close()


def ensure_label_table(con: duckdb.DuckDBPyConnection) -> None:
    """The append-only label log: the current label of a sentence is its row with the highest
    seq; undo writes a NULL label (history is never rewritten)."""
    con.execute("CREATE TABLE IF NOT EXISTS validation_labels (validation_id VARCHAR, "
                "label VARCHAR, source VARCHAR, in_sample BOOLEAN, decided_at TIMESTAMP, "
                "seq BIGINT)")


def append_labels(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    """Append (validation_id, label, source, in_sample) rows in one transaction, numbering them
    after the last seq."""
    ensure_label_table(con)
    con.execute("BEGIN TRANSACTION")
    try:
        start = con.execute("SELECT coalesce(max(seq), 0) FROM validation_labels").fetchall()[0][0]
        frame = rows[["validation_id", "label", "source", "in_sample"]].assign(
            decided_at=pd.Timestamp.now(tz="UTC").tz_localize(None),
            seq=range(int(start) + 1, int(start) + 1 + len(rows)))
        frame = frame.astype({"label": object, "validation_id": str, "source": str,
                              "in_sample": bool})
        con.register("labels_view", frame)
        con.execute("INSERT INTO validation_labels BY NAME SELECT * FROM labels_view")
        con.unregister("labels_view")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def run_info_values(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """run_info as values (the fingerprint stays its JSON text)."""
    rows = con.execute("SELECT key, value FROM run_info").fetchall()
    return {k: (v if k == "fingerprint" else json.loads(v)) for k, v in rows}


def carry_validation(run_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The validation tables of RUN, read before an --overwrite removes the database."""
    path = db_path(run_dir)
    if not path.exists():
        return {}
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        kept = {name: con.execute(f'SELECT * FROM "{name}"').fetchdf()
                for name in VALIDATION_TABLES if name in tables}
        info = run_info_values(con) if "run_info" in tables else {}
    finally:
        con.close()
    if "validation_classes" in info:
        kept["__info__"] = pd.DataFrame({"key": ["validation_classes", "validation_design"],
                                         "value": [json.dumps(info.get("validation_classes")),
                                                   json.dumps(info.get("validation_design"))]})
    return kept


def restore_validation(con: duckdb.DuckDBPyConnection, kept: Mapping[str, pd.DataFrame]) -> None:
    """Put back what `carry_validation` read (after the new store is created)."""
    tables = {k: v for k, v in kept.items() if k != "__info__"}
    info = kept.get("__info__")
    values = {} if info is None else {k: json.loads(v) for k, v in
                                      zip(info["key"], info["value"], strict=True)
                                      if v != "null"}
    if tables or values:
        replace_tables(con, tables, values)
