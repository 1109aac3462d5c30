"""The samples table of a stored-embeddings run: the columns `predict_step` would have made.

From a table's id, text, split, label, prediction, probability and loss columns (each optional
but the text): `label` (class name) and `label_index`, `p_<i>`, `prediction` (a class name),
`predicted_label`, `confidence`, `correct` and `loss`. What cannot be derived stays missing
(NaN), never invented: no loss column and no probabilities with labels means no loss, so no
high-loss slices.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from textlens.errors import DataError

# Columns the analysis writes; a table column of the same name is kept as `table_<name>`.
DERIVED = ("x", "y", "cluster", "neighbours", "confidence", "correct", "predicted_label",
           "label_index", "text_length")


@dataclass(frozen=True)
class StoredColumns:
    """Which table columns hold what; None: the default name when the table has it.

    `vector`: a list column (default embedding / embeddings / vector; not needed with an
    `.npy`); `probabilities`: a list column (default `probabilities`), else columns `p_<class>`
    (`p_0`, `p_1` or `p_negative`, `p_positive`); `id`: default `id`, else row numbers."""

    text: str = "text"
    vector: str | None = None
    id: str | None = None
    label: str | None = None
    prediction: str | None = None
    probabilities: str | None = None
    loss: str | None = None
    split: str | None = None


@dataclass(frozen=True)
class SamplesFrame:
    frame: pd.DataFrame
    label_names: tuple[str, ...] | None
    has_labels: bool


def samples_frame(table: pd.DataFrame, columns: StoredColumns, probs: np.ndarray | None,
                  prob_names: tuple[str, ...] | None, where: Callable[[int], str],
                  split: str) -> SamplesFrame:
    """Check the table's columns and build the samples table (see the module docstring)."""
    id_col = _default(columns.id, "id", table)
    label_col = _default(columns.label, "label", table)
    pred_col = _default(columns.prediction, "prediction", table)
    loss_col = _default(columns.loss, "loss", table)
    split_col = _default(columns.split, "split", table)
    ids = _ids(table, id_col, where, split)
    texts = table[columns.text].astype(object).where(table[columns.text].notna(), "")
    out = pd.DataFrame({"id": ids, "split": table[split_col].astype(str) if split_col else split,
                        "text": texts.astype(str).to_numpy()})
    labels = _present(table, label_col, "label", where)
    predicted = _present(table, pred_col, "prediction", where)
    names = prob_names or _names(labels, predicted, probs)
    if probs is not None and names is not None and len(names) != probs.shape[1]:
        raise DataError(f"The probabilities have {probs.shape[1]} classes but the labels name "
                        f"{len(names)}: {', '.join(names)}.",
                        "give one probability per class, or name the columns p_<class>.")
    if labels is not None:
        assert names is not None
        out["label_index"] = _indices(labels, names, "label", where)
        out["label"] = [names[i] for i in out["label_index"]]
    out["text_length"] = out["text"].str.split().str.len()
    used = {c for c in (id_col, label_col, pred_col, loss_col, split_col, columns.text) if c}
    for col in table.columns:
        if col not in used:
            name = f"table_{col}" if col in DERIVED or col in out else str(col)
            out[name] = _scalar(table[col])
    if probs is not None:
        for i in range(probs.shape[1]):
            out[f"p_{i}"] = probs[:, i]
    _predictions(out, probs, predicted, names, where)
    out["loss"] = _loss(table, loss_col, out, probs, where)
    return SamplesFrame(out, tuple(names) if names else None, labels is not None)


def _default(given: str | None, name: str, table: pd.DataFrame) -> str | None:
    return given if given is not None else (name if name in table else None)


def _ids(table: pd.DataFrame, col: str | None, where: Callable[[int], str],
         split: str) -> np.ndarray:
    if col is None:
        return np.array([f"{split}-{i}" for i in range(len(table))], dtype=object)
    raw = table[col]
    text = raw.astype(object).where(raw.notna(), None)
    missing = np.flatnonzero([v is None or str(v).strip() == "" for v in text])
    if len(missing):
        raise DataError(f"{len(missing):,} rows have no id in column '{col}', first at "
                        f"{where(int(missing[0]))}.", "give every row an id (or drop --id-col "
                        "to number the rows).")
    ids = np.array([_id_text(v) for v in text], dtype=object)
    dup = pd.Series(ids).duplicated(keep="first").to_numpy()
    if dup.any():
        row = int(np.flatnonzero(dup)[0])
        raise DataError(f"Id '{ids[row]}' occurs more than once (again at {where(row)}).",
                        "give every row a distinct id.")
    return ids


def _id_text(value: object) -> str:
    """An id as text: 7.0 read from a CSV with gaps is the id '7'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _present(table: pd.DataFrame, col: str | None, what: str,
             where: Callable[[int], str]) -> list[str] | None:
    if col is None:
        return None
    values = table[col]
    missing = np.flatnonzero(values.isna().to_numpy())
    if len(missing):
        raise DataError(f"{len(missing):,} rows have no {what} in column '{col}', first at "
                        f"{where(int(missing[0]))}.",
                        f"fill every row's {what}, or leave the column out.")
    return [_id_text(v) for v in values.tolist()]


def _names(labels: Sequence[str] | None, predicted: Sequence[str] | None,
           probs: np.ndarray | None) -> tuple[str, ...] | None:
    values = set(labels or ()) | set(predicted or ())
    if not values:
        return tuple(str(i) for i in range(probs.shape[1])) if probs is not None else None
    if all(v.lstrip("-").isdigit() for v in values):
        top = max(int(v) for v in values)
        k = max(top + 1, probs.shape[1] if probs is not None else 0)
        return tuple(str(i) for i in range(k))
    return tuple(sorted(values))


def _indices(values: Sequence[str], names: Sequence[str], what: str,
             where: Callable[[int], str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(names)}
    out = np.array([index.get(v, -1) for v in values], dtype=np.int64)
    bad = np.flatnonzero(out < 0)
    if len(bad):
        row = int(bad[0])
        raise DataError(f"The {what} {values[row]!r} at {where(row)} is not a class: "
                        f"{', '.join(names)}.", f"use one of the class names as {what}.")
    return out


def _scalar(column: pd.Series) -> pd.Series:
    """Metadata as DuckDB takes it: lists and dicts become JSON text."""
    if column.dtype == object and column.map(lambda v: isinstance(v, list | dict | np.ndarray)
                                             ).any():
        return column.map(lambda v: json.dumps(v.tolist() if isinstance(v, np.ndarray) else v,
                                               default=str))
    return column


def _predictions(out: pd.DataFrame, probs: np.ndarray | None, predicted: list[str] | None,
                 names: Sequence[str] | None, where: Callable[[int], str]) -> None:
    if names is None or (probs is None and predicted is None):
        return
    if predicted is not None:
        index = _indices(predicted, names, "prediction", where)
    else:
        assert probs is not None
        index = probs.argmax(axis=1)
    out["prediction"] = [names[i] for i in index]
    out["predicted_label"] = index
    if probs is not None:
        out["confidence"] = probs[np.arange(len(index)), index]
    if "label_index" in out:
        out["correct"] = (index == out["label_index"].to_numpy()).astype(float)


def _loss(table: pd.DataFrame, col: str | None, out: pd.DataFrame, probs: np.ndarray | None,
          where: Callable[[int], str]) -> np.ndarray:
    """The table's loss; else the cross-entropy of the gold label; else NaN (no loss known)."""
    if col is not None:
        loss = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(loss))
        if len(bad):
            raise DataError(f"The loss at {where(int(bad[0]))} is not a finite number.",
                            "fill every row's loss with a number, or leave the column out.")
        return loss
    if probs is not None and "label_index" in out:
        gold = probs[np.arange(len(out)), out["label_index"].to_numpy()]
        return -np.log(np.clip(gold, 1e-12, 1.0))
    return np.full(len(out), np.nan)
