"""Systematic explanation sampling: a seeded sample stratified by confidence, explained with IG,
and per group the words that push most towards positive and towards negative.

Strata, on the model's own (argmax) prediction:
- `clear_positive` / `clear_negative`: predicted positive / negative with confidence >= `clear`;
- `near_threshold`: confidence < `near` (for a binary model, p(positive) within 0.5 +- 0.1 by
  default): where the label is least certain and explanations matter most, so it gets the
  largest share by default (25% / 25% / 50% of 60 sentences).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from textlens.corpus.aggregate import group_seed
from textlens.errors import InputError

STRATA = ("clear_positive", "clear_negative", "near_threshold")
_WORD = re.compile(r"[^\w'’-]+")


@dataclass(frozen=True)
class SamplingOptions:
    size: int = 60  # sentences in all, or per group when `per_group`
    shares: tuple[float, float, float] = (0.25, 0.25, 0.5)  # clear +, clear -, near threshold
    clear: float = 0.9
    near: float = 0.6
    per_group: bool = False
    top_words: int = 10

    def check(self) -> None:
        if self.size < 0:
            raise InputError(f"Explanation sample size {self.size} is negative.",
                             "pass --explain N with N >= 0 (0 turns explanations off).")
        if len(self.shares) != 3 or min(self.shares) < 0 or abs(sum(self.shares) - 1) > 1e-6:
            raise InputError(f"Stratum shares {self.shares} are not three non-negative numbers "
                             "summing to 1.", "pass --explain-shares POS,NEG,NEAR, e.g. "
                             "0.25,0.25,0.5.")
        if not 0.5 <= self.near <= self.clear <= 1.0:
            raise InputError(f"Confidence cut-offs near={self.near}, clear={self.clear} are not "
                             "ordered 0.5 <= near <= clear <= 1.",
                             "pass e.g. --near 0.6 --clear 0.9.")

    def counts(self) -> dict[str, int]:
        """Sentences per stratum: the shares of `size`, rounded so they sum to `size`."""
        raw = np.array(self.shares) * self.size
        counts = np.floor(raw).astype(int)
        for i in np.argsort(-(raw - counts))[: self.size - counts.sum()]:
            counts[i] += 1
        return dict(zip(STRATA, (int(c) for c in counts), strict=True))


def strata(sentences: pd.DataFrame, label_names: Sequence[str], signs: Sequence[int],
           options: SamplingOptions) -> pd.Series:
    """The stratum of each sentence (None when it falls in none)."""
    probs = sentences[[f"p_{n}" for n in label_names]].to_numpy()
    top = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    sign = np.asarray(signs)[top]
    out = np.full(len(sentences), None, dtype=object)
    out[(sign > 0) & (confidence >= options.clear)] = "clear_positive"
    out[(sign < 0) & (confidence >= options.clear)] = "clear_negative"
    out[confidence < options.near] = "near_threshold"
    return pd.Series(out, index=sentences.index)


def draw_sample(sentences: pd.DataFrame, stratum: pd.Series, options: SamplingOptions,
                seed: int, group_by: Sequence[str] = ()) -> pd.DataFrame:
    """Seeded sample: per stratum (and per group when `per_group`), `counts()` sentences drawn
    without replacement from the stratum's sentences in (doc_id, sentence_id) order; a stratum
    with fewer sentences gives all it has. Returns the rows with a `stratum` column."""
    frame = sentences.assign(stratum=stratum).dropna(subset=["stratum"])
    frame = frame.sort_values(["doc_id", "sentence_id"], kind="stable")
    parts = []
    groups = frame.groupby(list(group_by), sort=True, dropna=False) if options.per_group \
        else [((), frame)]
    for key, members in groups:
        key = key if isinstance(key, tuple) else (key,)
        rng = group_seed(seed, ("sample", *key))
        for name, count in options.counts().items():
            pool = members[members["stratum"] == name]
            if len(pool) and count:
                picked = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
                parts.append(pool.iloc[np.sort(picked)])
    if not parts:
        return frame.head(0)
    return pd.concat(parts, ignore_index=True)


def explain_sample(loaded, sample: pd.DataFrame, signs_by_label: dict[str, int],
                   progress: bool = True, classes: Sequence[str] | None = None) -> pd.DataFrame:
    """IG explanations (textlens.explain) of the sampled sentences, one row each, with the
    completeness error and the word scores for the predicted class."""
    from textlens import explain

    if sample.empty:
        return pd.DataFrame(columns=["doc_id", "sentence_id", "stratum", "method", "target",
                                     "p_target", "completeness_error", "steps", "words",
                                     "word_scores", "word_gaps", "toward_positive"])
    explanations = explain(list(sample["text"]), model=loaded, method="ig", truncate=True,
                           progress=progress)
    rows = []
    for (_, row), exp in zip(sample.iterrows(), explanations, strict=True):
        target = (list(classes) if classes else loaded.label_names)[exp.target_index]
        rows.append({"doc_id": row["doc_id"], "sentence_id": int(row["sentence_id"]),
                     "stratum": row["stratum"], "method": exp.method, "target": target,
                     "p_target": float(exp.confidence),
                     "completeness_error": exp.completeness_error, "steps": int(exp.steps),
                     "words": list(exp.words), "word_scores": [float(s) for s in exp.word_scores],
                     "word_gaps": word_gaps(exp.text, exp.word_spans),
                     # +1: scores push towards positive as they are; -1: flip; 0: neutral target
                     "toward_positive": int(signs_by_label.get(target, 0))})
    return pd.DataFrame(rows)


def word_gaps(text: str, spans: Sequence[tuple[int, int, int]]) -> list[str]:
    """What follows each word in the sentence as typed ("" or " "), so a page shows "anti-scientific"
    and "Korea's", not the tokeniser's "anti - scientific" and "Korea ’ s"."""
    gaps = []
    for (_, _, end), nxt in zip(spans, [*spans[1:], None], strict=True):
        between = text[end:nxt[1]] if nxt is not None else ""
        gaps.append(" " if between else "")  # words cover every non-space character
    return gaps


def top_words(explanations: pd.DataFrame, documents: pd.DataFrame, group_by: Sequence[str],
              k: int = 10) -> pd.DataFrame:
    """Per group (and over all, as group `*`): the k words with the largest summed attribution
    towards positive and towards negative, with how often they occur in the explained sample.
    Scores for a negative prediction are flipped (binary: d p(neg) = -d p(pos)); explanations of
    a neutral prediction are left out."""
    by = list(group_by)
    columns = [*by, "direction", "rank", "word", "attribution", "count"]
    if explanations.empty:
        return pd.DataFrame(columns=columns)
    merged = explanations.merge(documents[["doc_id", *by]], on="doc_id", how="left")
    records = []
    for _, row in merged[merged["toward_positive"] != 0].iterrows():
        for word, score in zip(row["words"], row["word_scores"], strict=True):
            clean = _WORD.sub("", str(word)).lower()
            if any(c.isalpha() for c in clean):
                records.append((*[row[c] for c in by], clean, score * row["toward_positive"]))
    if not records:
        return pd.DataFrame(columns=columns)
    words = pd.DataFrame(records, columns=[*by, "word", "score"])
    overall = words.assign(**{c: "*" for c in by})
    out = []
    for key, members in pd.concat([words.astype({c: str for c in by}),
                                   overall]).groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        summed = members.groupby("word")["score"].agg(["sum", "count"]).reset_index()
        for direction, ordered in (("positive", summed.sort_values("sum", ascending=False)),
                                   ("negative", summed.sort_values("sum"))):
            ordered = ordered[ordered["sum"] > 0] if direction == "positive" else \
                ordered[ordered["sum"] < 0]
            for rank, (_, w) in enumerate(ordered.head(k).iterrows(), start=1):
                out.append({**dict(zip(by, key, strict=True)), "direction": direction,
                            "rank": rank, "word": w["word"], "attribution": float(w["sum"]),
                            "count": int(w["count"])})
    return pd.DataFrame(out, columns=columns)
