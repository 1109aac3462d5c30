"""Labels for the validation sample: one append-only log (`validation_labels`) written by the
dashboard one decision at a time and by a CSV sheet in bulk; nothing is ever overwritten, the
current label of a sentence is its latest row, an undo is a later NULL row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from textlens.corpus.validation.sample import RESERVED_LABELS, model_class_names
from textlens.errors import DataError, InputError

SHEET_ID, SHEET_LABEL = "validation_id", "label"


@dataclass(frozen=True)
class ImportReport:
    """What an import did: rows read, labels recorded (in / outside the drawn sample), rows
    left blank or unchanged, and every rejected row with its reason (`problems`: row number in
    the file counting the header as 1, validation_id, label, problem)."""

    path: Path
    n_rows: int
    n_recorded: int
    n_in_sample: int
    n_convenience: int
    n_blank: int
    n_unchanged: int
    problems: pd.DataFrame
    rejected_path: Path | None


def current_labels(con_or_run: Any) -> pd.DataFrame:
    """The current label of every labelled sentence (latest row wins; undone ones left out):
    validation_id, label, source, in_sample."""
    from textlens.store.corpus_db import connect

    if isinstance(con_or_run, (str, Path)):
        with connect(con_or_run, read_only=True) as con:
            return current_labels(con)
    con = con_or_run
    columns = ["validation_id", "label", "source", "in_sample"]
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    if "validation_labels" not in tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return con.execute(
        "SELECT validation_id, label, source, in_sample FROM validation_labels "
        "QUALIFY row_number() OVER (PARTITION BY validation_id ORDER BY seq DESC) = 1 "
        "AND label IS NOT NULL ORDER BY validation_id").fetchdf()


def label_set(con) -> tuple[str, ...]:
    """The classes a label may take (run_info.validation_classes, else the model's)."""
    from textlens.store.corpus_db import run_info_values

    info = run_info_values(con)
    return tuple(info.get("validation_classes") or model_class_names(info))


def record_label(run_dir: str | Path, validation_id: str, label: str | None,
                 source: str = "dashboard") -> None:
    """Append one decision (a class, 'unsure', 'skip', or None to undo) in one transaction."""
    from textlens.store.corpus_db import append_labels, connect

    with connect(run_dir) as con:
        classes = label_set(con)
        value = None if label is None else _canonical(label, classes)
        if label is not None and value is None:
            raise InputError(f"'{label}' is not a validation class.",
                             f"use one of {', '.join([*classes, *RESERVED_LABELS])}.")
        known = _known_ids(con, [validation_id])
        if validation_id not in known:
            raise InputError(f"No sentence '{validation_id}' in this run.",
                             "ids are DOC_ID:SENTENCE_ID, as in the validation table.")
        append_labels(con, pd.DataFrame({"validation_id": [validation_id], "label": [value],
                                         "source": [source],
                                         "in_sample": [known[validation_id]]}))


def export_sheet(run_dir: str | Path, path: str | Path, show_predictions: bool = False) -> Path:
    """The sample as a CSV sheet to fill in, in draw order: ids, group, context and sentence,
    and a label column (the current label where one was given, else empty). The model's
    prediction is left out unless asked for: a label read beside it anchors on it."""
    from textlens.store.corpus_db import connect, run_info_values
    from textlens.store.files import atomic_write_text

    with connect(run_dir, read_only=True) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "validation" not in tables:
            raise DataError("This run has no validation sample yet.",
                            "draw one: `textlens corpus sample-validation RUN --n 300`.")
        sample = con.execute("SELECT * FROM validation ORDER BY draw").fetchdf()
        labels = current_labels(con)
        group_by = list(run_info_values(con).get("group_by") or [])
    sheet = sample[["validation_id", "draw", *group_by, "context_before", "text",
                    "context_after"]]
    current = dict(zip(labels["validation_id"], labels["label"], strict=True))
    sheet = sheet.assign(label=[current.get(v, "") for v in sheet["validation_id"]])
    if show_predictions:
        sheet = sheet.assign(predicted=sample["predicted"], confidence=sample["confidence"])
    return atomic_write_text(Path(path), sheet.to_csv(index=False))


def import_sheet(run_dir: str | Path, path: str | Path, source: str = "csv") -> ImportReport:
    """Record the labels of a filled-in sheet (any CSV with validation_id and label columns).
    Good rows are recorded; every bad row (unknown id, unknown class, one id given conflicting
    labels) is listed and written to PATH.rejected.csv for fixing and re-importing."""
    from textlens.store.corpus_db import append_labels, connect
    from textlens.store.files import atomic_write_text

    sheet = _read_sheet(Path(path))
    with connect(run_dir) as con:
        classes = label_set(con)
        ids = sheet[SHEET_ID].fillna("").astype(str).str.strip()
        raw = sheet[SHEET_LABEL].fillna("").astype(str).str.strip()
        blank = raw == ""
        canonical = pd.Series([_canonical(v, classes) if v else None for v in raw],
                              index=sheet.index, dtype=object)
        known = _known_ids(con, sorted(set(ids[~blank])))
        problems: list[tuple[int, str, str, str]] = []
        bad = pd.Series(False, index=sheet.index)
        for i in sheet.index[~blank]:
            if not ids[i]:
                reason = "no validation_id"
            elif ids[i] not in known:
                reason = "unknown validation_id (not a sentence of this run)"
            elif canonical[i] is None:
                reason = f"unknown class (use one of {', '.join([*classes, *RESERVED_LABELS])})"
            else:
                continue
            bad[i] = True
            problems.append((int(i) + 2, ids[i], raw[i], reason))
        good = ~blank & ~bad
        clash = canonical[good].groupby(ids[good]).nunique()
        for vid in clash[clash > 1].index:
            rows = sheet.index[good & (ids == vid)]
            given = sorted(set(canonical[rows]))
            for i in rows:
                bad[i] = True
                problems.append((int(i) + 2, vid, raw[i],
                                 f"conflicting labels for one sentence: {given}"))
        good = ~blank & ~bad
        chosen = pd.DataFrame({"validation_id": ids[good], "label": canonical[good]}
                              ).drop_duplicates("validation_id")
        current = current_labels(con)
        now = dict(zip(current["validation_id"], current["label"], strict=True))
        changed = chosen[[now.get(v) != lab for v, lab in zip(chosen["validation_id"],
                                                              chosen["label"], strict=True)]]
        rows = changed.assign(source=source,
                              in_sample=[known[v] for v in changed["validation_id"]])
        if len(rows):
            append_labels(con, rows)
    frame = pd.DataFrame(problems, columns=["row", "validation_id", "label", "problem"]
                         ).sort_values("row", kind="stable").reset_index(drop=True)
    rejected = None
    if len(frame):
        rejected = Path(path).with_suffix(".rejected.csv")
        atomic_write_text(rejected, sheet.loc[bad].assign(
            problem=frame.set_index("row").loc[[int(i) + 2 for i in sheet.index[bad]],
                                               "problem"].to_numpy()).to_csv(index=False))
    n_in = int(rows["in_sample"].sum()) if len(rows) else 0
    return ImportReport(Path(path), len(sheet), len(rows), n_in, len(rows) - n_in,
                        int(blank.sum()), len(chosen) - len(rows), frame, rejected)


def _read_sheet(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"Labels file '{path}' not found.", "pass the CSV you filled in.")
    try:
        sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"Labels file '{path}' is empty.",
                        "export a sheet with `textlens validate export RUN labels.csv`, fill "
                        "the label column and import that file.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"Labels file '{path}' is not a readable CSV: {exc}",
                        "save it as CSV (UTF-8, comma-separated).") from None
    sheet.columns = [str(c).strip().lower() for c in sheet.columns]
    missing = [c for c in (SHEET_ID, SHEET_LABEL) if c not in sheet.columns]
    if missing:
        raise DataError(f"Labels file '{path}' lacks the column(s) {missing} "
                        f"(it has {list(sheet.columns)}).",
                        "keep the exported header: validation_id and label are required.")
    if sheet.empty:
        raise DataError(f"Labels file '{path}' has a header but no rows.",
                        "fill in the exported sheet and import it.")
    return sheet


def _canonical(value: str, classes: Sequence[str]) -> str | None:
    """The class (or reserved value) a label names, matching case-insensitively."""
    names = {c.lower(): c for c in [*classes, *RESERVED_LABELS]}
    return names.get(str(value).strip().lower())


def _known_ids(con, ids: Sequence[str]) -> dict[str, bool]:
    """{validation_id: in the drawn sample} for the ids that name a sentence of the run."""
    parsed = []
    for vid in ids:
        doc, _, sid = str(vid).rpartition(":")
        if doc and sid.isdigit():
            parsed.append((vid, doc, int(sid)))
    if not parsed:
        return {}
    frame = pd.DataFrame(parsed, columns=["validation_id", "doc_id", "sentence_id"])
    tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    con.register("ids_view", frame)
    try:
        sample = ("EXISTS (SELECT 1 FROM validation v WHERE v.validation_id = i.validation_id)"
                  if "validation" in tables else "false")
        found = con.execute(f"SELECT i.validation_id, {sample} FROM ids_view i "
                            "JOIN sentences s USING (doc_id, sentence_id)").fetchall()
    finally:
        con.unregister("ids_view")
    return {vid: bool(inside) for vid, inside in found}
