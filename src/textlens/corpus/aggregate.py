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


CLASS_COLUMNS = ["class", "n_documents", "n_sentences", "count", "share", "ci_low", "ci_high",
                 "interval"]


def class_indicators(sentences: pd.DataFrame, classes: Sequence[str],
                     multi_label: bool) -> np.ndarray:
    """(N, C) 0/1: the sentence's label is the class (single-label heads, neutral band
    included), or its probability of the class is >= 0.5 (multi-label: one share a label)."""
    if multi_label:
        return (sentences[[f"p_{c}" for c in classes]].to_numpy() >= 0.5).astype(np.float64)
    labels = sentences["label"].to_numpy()
    return np.stack([labels == c for c in classes], axis=1).astype(np.float64)


def class_shares(documents: pd.DataFrame, sentences: pd.DataFrame, group_by: Sequence[str],
                 classes: Sequence[str], multi_label: bool = False, n_boot: int = 1000,
                 seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Per group and class: the count and share of sentences, with a 95% interval for the
    share. Several documents: a percentile bootstrap over the group's documents (a speech's
    sentences are not independent); one document: Wilson's score interval over its sentences
    (treated as independent draws; it stays sensible at 0 or 100%). Either covers sampling
    variation only, not the classifier's errors (see `textlens.corpus.validation`)."""
    from scipy.stats import binomtest

    by = list(group_by)
    keyed = documents[["doc_id", *by]]
    hits = class_indicators(sentences, classes, multi_label)
    frame = pd.DataFrame(hits, columns=list(classes)).assign(doc_id=sentences["doc_id"].to_numpy())
    per_doc = frame.groupby("doc_id", sort=False).sum()
    sizes = frame.groupby("doc_id", sort=False).size()
    tail = (1.0 - level) / 2 * 100
    rows = []
    for key, docs in keyed.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        present = [d for d in docs["doc_id"] if d in sizes.index]
        counts = per_doc.loc[present].to_numpy() if present else np.zeros((0, len(classes)))
        n = int(sizes.loc[present].sum()) if present else 0
        total = counts.sum(axis=0) if n else np.zeros(len(classes))
        if len(present) > 1 and n_boot > 0:
            rng = group_seed(seed, ("classes", *key))
            draws = rng.integers(0, len(present), size=(n_boot, len(present)))
            size = sizes.loc[present].to_numpy(dtype=np.float64)
            stats = counts[draws].sum(axis=1) / size[draws].sum(axis=1)[:, None]
            lows, highs = np.percentile(stats, [tail, 100 - tail], axis=0)
            how = f"bootstrap over {len(present)} documents"
        elif n:
            cis = [binomtest(int(k), n).proportion_ci(level, method="wilson") for k in total]
            lows = np.array([c.low for c in cis])
            highs = np.array([c.high for c in cis])
            how = f"Wilson, {n} sentences of one document"
        else:
            lows = highs = np.full(len(classes), np.nan)
            how = "no sentences"
        for k, name in enumerate(classes):
            rows.append({**dict(zip(by, key, strict=True)), "class": name,
                         "n_documents": len(docs), "n_sentences": n, "count": int(total[k]),
                         "share": total[k] / n if n else float("nan"),
                         "ci_low": float(lows[k]), "ci_high": float(highs[k]), "interval": how})
    return pd.DataFrame(rows, columns=[*by, *CLASS_COLUMNS])
