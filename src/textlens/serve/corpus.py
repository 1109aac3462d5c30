"""The corpus view: group aggregates, bad files and sampled explanations by stratum.

Built against the `textlens corpus` store (tables documents, sentences, groups, explanations,
bad_files); every column beyond the keys is optional, and unknown ones are passed through.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from textlens.serve.runs import Run

STAT_COLUMNS = ("n_sentences", "n_positive", "n_negative", "n_neutral", "net_sentiment",
                "net_per_100", "share_positive", "ci_low", "ci_high", "mean_confidence",
                "log_ratio", "n_documents")


def corpus_overview(run: Run, per_stratum: int = 20) -> dict[str, Any]:
    groups = run.small.get("groups", pd.DataFrame())
    group_by = [c for c in groups.columns if c not in STAT_COLUMNS  # per-class stats too:
                and not c.startswith(("n_", "share_", "ci_low_", "ci_high_"))]
    out: dict[str, Any] = {
        "groups": groups, "group_by": group_by,
        "value": next((c for c in ("net_per_100", "net_sentiment", "share_positive",
                                   *[c for c in groups if c.startswith("share_")])
                       if c in groups), None),
        "bad_files": run.small.get("bad_files", pd.DataFrame()),
        "documents": len(run.small.get("documents", ())),
        "sentences": int(run.store.read("SELECT count(*) AS n FROM sentences")["n"].iloc[0]),
    }
    out["labels"] = _label_counts(run)
    out["explanations"] = _explanations(run, per_stratum) if "explanations" in run.tables else []
    out["stratum_sizes"] = _stratum_sizes(run) if "explanations" in run.tables else {}
    out["names"] = _names([*(groups[c] for c in group_by),
                           [e["meta"].get("country") for e in out["explanations"]]])
    return out


def _stratum_sizes(run: Run) -> dict[str, int]:
    """Explained sentences the store holds per stratum: the view shows the first
    `per_stratum` of them and says "20 of 30"."""
    stratum = '"stratum"' if "stratum" in run.store.columns("explanations") else "'all'"
    frame = run.store.read(f"SELECT CAST({stratum} AS VARCHAR) AS s, count(*) AS n "
                           "FROM explanations GROUP BY 1")
    return {str(s): int(n) for s, n in zip(frame["s"], frame["n"], strict=True)}


def _names(columns: list[Any]) -> dict[str, str]:
    """{value: display name} for group values the corpus report names (ISO codes -> countries)."""
    from textlens.report.corpus_plots import country_name

    values = {str(v) for column in columns for v in column if v is not None}
    return {v: name for v in sorted(values) if (name := country_name(v)) != v}


def _label_counts(run: Run) -> list[list[Any]]:
    if "label" not in run.store.columns("sentences"):
        return []
    frame = run.store.read("SELECT CAST(label AS VARCHAR) AS label, count(*) AS n FROM sentences "
                           "GROUP BY 1 ORDER BY 2 DESC")
    return [[str(a), int(b)] for a, b in zip(frame["label"], frame["n"], strict=True)]


def _explanations(run: Run, per_stratum: int) -> list[dict[str, Any]]:
    cols = run.store.columns("explanations")
    sentence_cols = run.store.columns("sentences")
    keys = [k for k in ("doc_id", "sentence_id") if k in cols and k in sentence_cols]
    extra = [f's."{c}" AS "sentence_{c}"' for c in ("text", "label", "confidence")
             if c in sentence_cols and len(keys) == 2]
    join = (f"LEFT JOIN sentences s USING ({', '.join(keys)})" if len(keys) == 2 else "")
    stratum = 'e."stratum"' if "stratum" in cols else "'all'"
    order = ", ".join(f'e."{k}"' for k in keys) or "1"
    frame = run.store.read(
        f"SELECT e.*, {', '.join(extra) + ', ' if extra else ''}{stratum} AS _stratum "
        f"FROM explanations e {join} QUALIFY row_number() OVER (PARTITION BY {stratum} "
        f"ORDER BY {order}) <= ? ORDER BY _stratum, {order}", [per_stratum])
    rows = []
    for record in frame.to_dict("records"):
        words = _word_scores(record)
        gaps = _load(record.get("word_gaps"))
        if isinstance(gaps, list) and len(gaps) == len(words):  # what followed each word as typed
            words = [[*w, str(g)] for w, g in zip(words, gaps, strict=True)]
        text = record.get("sentence_text", record.get("text"))
        rows.append({
            "stratum": str(record.pop("_stratum")), "text": None if text is None else str(text),
            "words": words, "meta": {k: _scalar(v) for k, v in record.items()
                                     if k not in ("words", "word_scores", "word_gaps", "scores",
                                                  "text", "sentence_text")
                                     and _scalar(v) is not None},
        })
    return rows


def _word_scores(record: dict[str, Any]) -> list[list[Any]]:
    """[[word, score], ...] from `words` + `word_scores` lists, or `word_scores` as JSON pairs,
    a {word: score} mapping, or a list of {"word", "score"} objects."""
    raw = record.get("word_scores", record.get("scores"))
    words = record.get("words")
    raw, words = _load(raw), _load(words)
    try:
        if words is not None and raw is not None and len(words) == len(raw):
            return [[str(w), float(s)] for w, s in zip(words, raw, strict=True)]
        if isinstance(raw, dict):
            return [[str(w), float(s)] for w, s in raw.items()]
        if isinstance(raw, list):
            out = []
            for item in raw:
                if isinstance(item, dict):
                    out.append([str(item.get("word")), float(item.get("score", 0.0))])
                else:
                    out.append([str(item[0]), float(item[1])])
            return out
    except (TypeError, ValueError, IndexError):
        return []
    return []


def _load(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _scalar(value: Any) -> Any:
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, str | int | float | bool) else None
