"""The label review loop: the ranked queue of likely label errors, the user's decisions, and the
dataset with the accepted fixes applied (`textlens export-labels`).

Decisions are appended to the run's `reviews` table with a timestamp (never updated in place),
so the history survives restarts and concurrent reviewers lose nothing; the latest decision per
sample counts. `label_issues` is read defensively: `kind`, `cleanlab_rank`, `suggested_label`
and `flagged` are used when present.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from textlens.errors import DataError, InputError, NotFoundError
from textlens.serve.runs import Run
from textlens.store.run_db import DECISIONS

ISSUE_STATUSES = ("open", "reviewed", "all")
DERIVED = ("prediction", "predicted_label", "confidence", "loss", "correct", "f1", "x", "y",
           "cluster", "neighbours", "pred_start", "pred_end", "label_index", "text_length",
           "question_length", "context_length", "answer_length", "answer_position",
           "question_type", "answer_type", "issue_score", "issue_kind", "issue_flagged")


def latest_reviews(run: Run) -> dict[str, dict[str, Any]]:
    """sample id -> its latest decision, kept in memory after the first read."""
    if "reviews" not in run.cache:
        frame = run.store.reviews()
        run.cache["reviews"] = {str(r["sample_id"]): _review(r) for r in frame.to_dict("records")}
    return run.cache["reviews"]


def _review(record: dict[str, Any]) -> dict[str, Any]:
    created = record.get("created_at")
    return {"decision": record.get("decision"), "new_label": _none(record.get("new_label")),
            "note": _none(record.get("note")),
            "created_at": None if created is None else pd.Timestamp(created).isoformat() + "Z"}


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else value


def suggested_labels(run: Run, issues: pd.DataFrame) -> list[str | None]:
    """The label the model would give instead: `suggested_label` when the table has it, else the
    most probable class other than the given one (classification), else None (QA)."""
    if "suggested_label" in issues:
        return [_none(v) for v in issues["suggested_label"]]
    probs = sorted((c for c in run.samples if c.startswith("p_") and c[2:].isdigit()),
                   key=lambda c: int(c[2:]))
    if not probs or "label_index" not in run.samples or not run.label_names:
        return [None] * len(issues)
    pos = run.positions.many([str(i) for i in issues["id"]])
    rows = np.maximum(pos, 0)  # only these rows are converted (the whole table: 16 MB at 1M)
    p = run.samples[probs].iloc[rows].to_numpy(dtype=float, na_value=np.nan)
    labels = pd.to_numeric(run.samples["label_index"].iloc[rows], errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    out: list[str | None] = []
    for k, i in enumerate(pos):
        if i < 0 or np.isnan(labels[k]) or not 0 <= int(labels[k]) < p.shape[1]:
            out.append(None)
            continue
        row = p[k].copy()
        row[int(labels[k])] = -np.inf
        out.append(run.label_names[int(np.argmax(row))])
    return out


def issue_row(run: Run, sample_id: str) -> int | None:
    """The `label_issues` row of a sample (its first, when an id is listed twice)."""
    pos = run.positions.get(sample_id)
    if pos is None or run.issue_rows is None or run.issue_rows[pos] < 0:
        return None
    return int(run.issue_rows[pos])


def _ranked(run: Run, issues: pd.DataFrame) -> pd.DataFrame:
    """The issues with string ids in queue order (by rank, else by score), built once per run."""
    if "issues_ranked" not in run.cache:
        issues = issues.assign(id=issues["id"].astype(str))
        order = "rank" if "rank" in issues else ("score" if "score" in issues else None)
        if order:
            issues = issues.sort_values(order, ascending=order == "rank", kind="stable")
        run.cache["issues_ranked"] = issues
    return run.cache["issues_ranked"]


def issue_queue(run: Run, status: str = "open", flagged_only: bool = False, offset: int = 0,
                limit: int = 50) -> dict[str, Any]:
    """The ranked label issues with the sample, given and suggested label, evidence, decision."""
    if status not in ISSUE_STATUSES:
        raise InputError(f"Unknown status '{status[:20]}'.", f"use one of: {', '.join(ISSUE_STATUSES)}.")
    issues = run.small.get("label_issues")
    if issues is None or "id" not in issues:
        return {"total": 0, "rows": [], "label_names": list(run.label_names)}
    issues = _ranked(run, issues)
    if flagged_only and "flagged" in issues:
        issues = issues[issues["flagged"].fillna(False).astype(bool)]
    reviews = latest_reviews(run)
    seen = issues["id"].isin(list(reviews))
    if status == "open":
        issues = issues[~seen.to_numpy()]
    elif status == "reviewed":
        issues = issues[seen.to_numpy()]
    page = issues.iloc[offset:offset + limit]
    suggested = suggested_labels(run, page)
    rows = []
    for (_, issue), suggestion in zip(page.iterrows(), suggested, strict=True):
        pos = run.positions.get(issue["id"])
        sample = run.samples.iloc[pos] if pos is not None else pd.Series(dtype=object)
        evidence = {k: _plain(issue[k]) for k in issue.index if k != "id"}
        rows.append({
            "id": issue["id"], "position": pos,
            "text": _plain(sample.get("text", sample.get("question"))),
            "context": _plain(sample.get("context")),
            "given": _plain(sample.get("label")),
            "prediction": _plain(sample.get("prediction")),
            "confidence": _plain(sample.get("confidence")),
            "suggested": suggestion, "evidence": evidence, "review": reviews.get(issue["id"]),
        })
    return {"total": len(issues), "reviewed": len(reviews), "rows": rows,
            "label_names": list(run.label_names)}


def _plain(value: Any) -> Any:
    """A JSON-able scalar (numpy types, NaN -> None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def check_review(run: Run, sample_id: str, decision: str, new_label: str | None,
                 note: str | None) -> tuple[str, str | None, str | None]:
    """A decision checked and normalised: (decision, new_label or None, note)."""
    if sample_id not in run.positions:
        raise NotFoundError(f"No sample '{sample_id[:200]}' in run '{run.name}'.",
                            "review a listed sample.")
    if decision not in DECISIONS:
        raise InputError(f"Unknown decision '{decision[:40]}'.", f"use one of: {', '.join(DECISIONS)}.")
    if decision == "mislabelled":
        if not new_label:
            raise InputError("A mislabelled sample needs its correct label.",
                             "send new_label (the label it should have).")
        if run.label_names and new_label not in run.label_names:
            raise InputError(f"Unknown label '{new_label[:100]}'.",
                             f"use one of: {', '.join(run.label_names)}.")
    else:
        new_label = None
    if note is not None and len(note) > 2000:
        raise InputError("The note is longer than 2,000 characters.", "shorten it.")
    return decision, new_label, note


def remember_review(run: Run, sample_id: str, decision: str, new_label: str | None,
                    note: str | None, created: Any) -> dict[str, Any]:
    """A committed decision as the API returns it, and as the latest in memory."""
    value = {"decision": decision, "new_label": new_label, "note": note,
             "created_at": pd.Timestamp(created).isoformat() + "Z"}
    latest_reviews(run)[sample_id] = value
    return value


def fixed_dataset(run: Run) -> tuple[pd.DataFrame, int]:
    """The run's dataset with accepted fixes: `label` (the class name) set to the reviewer's
    label for samples whose latest decision is `mislabelled`; the model's outputs and the now
    stale `label_index` dropped; `original_label` and `review` kept beside. Returns (frame,
    fixes)."""
    if run.kind != "analysis":
        raise DataError(f"Run '{run.name}' is a corpus run; it has no labelled dataset.",
                        "pass a run written by `textlens analyze`.")
    frame = run.samples
    keep = [c for c in frame.columns if c not in DERIVED and not (c.startswith("p_")
                                                                   and c[2:].isdigit())]
    out = frame[keep].copy()
    out["original_label"] = out.get("label", None)
    reviews = latest_reviews(run)
    decisions = [reviews.get(i, {}).get("decision") for i in out["id"]]
    fixes = [reviews[i]["new_label"] if d == "mislabelled" else None
             for i, d in zip(out["id"], decisions, strict=True)]
    changed = np.array([f is not None for f in fixes])
    if "label" in out:
        out["label"] = out["label"].astype(object)
        out.loc[changed, "label"] = [f for f in fixes if f is not None]
    out["review"] = decisions
    return out, int(changed.sum())
