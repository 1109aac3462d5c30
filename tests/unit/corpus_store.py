"""A corpus run store written directly (no model): known sentences, predictions and truth, so
the validation tests control every number they check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from textlens.store.corpus_db import open_store, probability_columns, replace_tables


def make_store(run_dir: Path, probs: np.ndarray, groups: list[str], docs: list[str],
               classes: tuple[str, ...] = ("negative", "positive"),
               texts: list[str] | None = None) -> Path:
    """RUN with one sentence per row of `probs` (N, K); its group (country) and document."""
    doc_ids = list(dict.fromkeys(docs))
    country = {d: g for d, g in zip(docs, groups, strict=True)}
    meta = pd.DataFrame({"doc_id": doc_ids, "path": [f"{d}.txt" for d in doc_ids],
                         "n_chars": 100, "country": [country[d] for d in doc_ids],
                         "year": 2020})
    sid = pd.Series(docs).groupby(docs).cumcount().to_numpy()
    labels = np.asarray(classes)[probs.argmax(axis=1)]
    sentences = pd.DataFrame({
        "doc_id": docs, "sentence_id": sid,
        "text": texts or [f"Sentence {i} <b>of</b> {d}." for i, d in enumerate(docs)],
        "start": 0, "end": 10, "n_tokens": 5, "truncated": False, "label": labels,
        "sign": 0, "confidence": probs.max(axis=1),
        **dict(zip(probability_columns(classes), probs.T, strict=True))})
    with open_store(run_dir, {"test": 1}, meta.head(0), classes) as con:
        con.register("m", meta.assign(n_sentences=0))
        con.execute("INSERT INTO documents BY NAME SELECT * FROM m")
        con.register("s", sentences)
        con.execute("INSERT INTO sentences BY NAME SELECT * FROM s")
        replace_tables(con, {}, {"group_by": ["country", "year"], "labels": list(classes),
                                 "classes": list(classes)})
    return run_dir


def binary_store(run_dir: Path, n_groups: int = 4, n_docs: int = 5, per_doc: int = 20,
                 seed: int = 0) -> tuple[Path, pd.DataFrame]:
    """A binary run with known truth: group g's positive rate rises with g; the model's
    p(positive) is noisy and shifted (it over-calls positive). Returns RUN and the truth
    (validation_id, country, truth)."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        rate = 0.2 + 0.6 * g / max(n_groups - 1, 1)
        for d in range(n_docs):
            for _ in range(per_doc):
                rows.append((f"G{g}", f"G{g}-d{d}", int(rng.random() < rate)))
    frame = pd.DataFrame(rows, columns=["country", "doc_id", "truth"])
    score = np.where(frame["truth"] == 1, 1.5, -1.5) + rng.normal(0.8, 1.5, len(frame))
    p = 1 / (1 + np.exp(-score))
    make_store(run_dir, np.c_[1 - p, p], list(frame["country"]), list(frame["doc_id"]))
    sid = frame.groupby("doc_id").cumcount()
    truth = pd.DataFrame({"validation_id": frame["doc_id"] + ":" + sid.astype(str),
                          "country": frame["country"],
                          "truth": np.where(frame["truth"] == 1, "positive", "negative")})
    return run_dir, truth
