"""Per-group aggregates of sentence labels, with a seeded bootstrap interval.

Classify-and-count (Hopkins and King 2010): the counts inherit the classifier's errors, and the
interval covers only sampling variation of sentences (one speech) or speeches (several), not
the classifier's error rates nor the shift between its training text and the corpus.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

GROUP_COLUMNS = ["n_documents", "n_sentences", "n_positive", "n_negative", "n_neutral",
                 "net_sentiment", "net_per_100", "share_positive", "mean_confidence",
                 "log_ratio", "ci_low", "ci_high"]


def group_seed(seed: int, key: Sequence[object]) -> np.random.Generator:
    """A generator for one group, from the run seed and the group's own key, so that a group's
    interval does not depend on which other groups exist."""
    blob = json.dumps([str(k) for k in key]).encode("utf-8")
    return np.random.default_rng([seed, zlib.crc32(blob)])


def bootstrap_net_per_100(doc_signs: Sequence[np.ndarray], n_boot: int,
                          rng: np.random.Generator, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of 100 * mean(sign). One document: sentences are resampled; several:
    whole documents are resampled (a speech's sentences are not independent)."""
    docs = [np.asarray(s, dtype=np.float64) for s in doc_signs if len(s)]
    if not docs or n_boot < 1:
        return float("nan"), float("nan")
    if len(docs) == 1:
        signs = docs[0]
        draws = rng.integers(0, len(signs), size=(n_boot, len(signs)))
        stats = 100.0 * signs[draws].mean(axis=1)
    else:
        sums = np.array([s.sum() for s in docs])
        sizes = np.array([len(s) for s in docs], dtype=np.float64)
        draws = rng.integers(0, len(docs), size=(n_boot, len(docs)))
        stats = 100.0 * sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return float(low), float(high)


def aggregate_groups(documents: pd.DataFrame, sentences: pd.DataFrame, group_by: Sequence[str],
                     n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per group of `documents` (doc_id + `group_by` columns) with the counts, net
    sentiment (sum of +1/0/-1), net per 100 sentences, share positive, mean confidence, the
    log-ratio log((pos + 0.5) / (neg + 0.5)) (Lowe et al. 2011) and the 95% bootstrap interval
    of net_per_100. `sentences` holds doc_id, sign (+1/0/-1) and confidence."""
    by = list(group_by)
    keyed = documents[["doc_id", *by]]
    merged = sentences[["doc_id", "sign", "confidence"]].merge(keyed, on="doc_id", how="inner")
    signs_by_doc = {d: g["sign"].to_numpy() for d, g in merged.groupby("doc_id", sort=False)}
    rows = []
    for key, docs in keyed.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        doc_signs = [signs_by_doc.get(d, np.zeros(0)) for d in docs["doc_id"]]
        signs = np.concatenate(doc_signs) if doc_signs else np.zeros(0)
        conf = merged.loc[merged["doc_id"].isin(docs["doc_id"]), "confidence"]
        n = len(signs)
        pos, neg = int((signs > 0).sum()), int((signs < 0).sum())
        low, high = bootstrap_net_per_100(doc_signs, n_boot, group_seed(seed, key))
        rows.append({**dict(zip(by, key, strict=True)), "n_documents": len(docs),
                     "n_sentences": n, "n_positive": pos, "n_negative": neg,
                     "n_neutral": n - pos - neg, "net_sentiment": pos - neg,
                     "net_per_100": 100.0 * (pos - neg) / n if n else float("nan"),
                     "share_positive": pos / n if n else float("nan"),
                     "mean_confidence": float(conf.mean()) if n else float("nan"),
                     "log_ratio": float(np.log((pos + 0.5) / (neg + 0.5))),
                     "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=[*by, *GROUP_COLUMNS])
