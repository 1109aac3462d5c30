"""The corpus Validate and Compare views' endpoints: the validation sample to label (sentence
and its context, current labels, progress), one label at a time (`record_label`: an append-only
log in the run store, so decisions survive a server restart and a rerun of `corpus`), the
model's prediction only on request (hidden while labelling: no anchoring), and the comparison
with a second served corpus run (`corpus.compare`, computed once and kept in memory).

Every read and write runs under the run store's lock: DuckDB refuses a read-write connection
while a read-only one is open in the same process, and the other endpoints read concurrently.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from textlens.serve.common import get_run, to_json
from textlens.serve.runs import Run

router = APIRouter()
ITEM_COLUMNS = ("validation_id", "draw", "context_before", "text", "context_after")


class LabelRequest(BaseModel):
    validation_id: str = Field(max_length=1000)
    label: str | None = Field(None, max_length=200)  # None: undo (clears the decision)


def _locked(run: Run):
    return run.store._lock  # noqa: SLF001 - the one lock every access to this file holds


def _sample(run: Run) -> dict[str, Any]:
    from textlens.corpus.validation.labels import RESERVED_LABELS, current_labels, label_set
    from textlens.store.corpus_db import connect, run_info_values

    with _locked(run), connect(run.path, read_only=True) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        if "validation" not in tables:
            return {"total": 0, "items": [], "classes": [], "reserved": list(RESERVED_LABELS),
                    "message": "This run has no validation sample yet.",
                    "fix": f"draw one: textlens validate sample {run.path} --n 300"}
        info = run_info_values(con)
        group_by = [c for c in info.get("group_by") or []]
        columns = [c for c in con.execute("DESCRIBE validation").fetchdf()["column_name"]]
        wanted = [*ITEM_COLUMNS, *(c for c in group_by if c in columns)]
        frame = con.execute("SELECT " + ", ".join(f'"{c}"' for c in wanted) +
                            " FROM validation ORDER BY draw").fetchdf()
        labels = current_labels(con)
        classes = label_set(con)
    current = dict(zip(labels["validation_id"], labels["label"], strict=True))
    items = [{"validation_id": r["validation_id"], "draw": int(r["draw"]),
              "group": {c: r[c] for c in group_by if c in r},
              "context_before": r["context_before"] or "", "text": r["text"],
              "context_after": r["context_after"] or "",
              "label": current.get(r["validation_id"])} for r in frame.to_dict("records")]
    return {"total": len(items), "items": items, "classes": list(classes),
            "reserved": list(RESERVED_LABELS), **_progress(items),
            "outside_sample": int((~labels["in_sample"].astype(bool)).sum()) if len(labels)
            else 0}


def _progress(items: list[dict[str, Any]]) -> dict[str, int]:
    decided = [i["label"] for i in items if i["label"] is not None]
    return {"labelled": len(decided),
            "unsure_or_skipped": sum(label in ("unsure", "skip") for label in decided)}


@router.get("/runs/{name}/validation")
def validation_sample(request: Request, name: str) -> JSONResponse:
    """The sample in draw order with each sentence's context and current label (no model
    prediction), the classes, and how many are labelled."""
    return JSONResponse(to_json(_sample(get_run(request, name, "corpus"))))


@router.post("/runs/{name}/validation/label")
def validation_label(request: Request, name: str, body: LabelRequest) -> JSONResponse:
    """Record one decision (a class, unsure, skip; null clears it: undo)."""
    from textlens.corpus.validation import record_label

    run = get_run(request, name, "corpus")
    with _locked(run):
        record_label(run.path, body.validation_id, body.label, source="dashboard")
    run.cache.pop("compare", None)  # labels changed: comparisons and measures recomputed
    run.cache.pop("validation", None)
    state = _sample(run)
    label = next((i["label"] for i in state["items"]
                  if i["validation_id"] == body.validation_id), None)
    return JSONResponse(to_json({"validation_id": body.validation_id, "label": label,
                                 "total": state["total"], "labelled": state["labelled"],
                                 "unsure_or_skipped": state["unsure_or_skipped"]}))


@router.get("/runs/{name}/validation/prediction")
def validation_prediction(request: Request, name: str, id: str) -> JSONResponse:
    """The model's label and confidence for one sampled sentence (shown on request only)."""
    from textlens.store.corpus_db import connect

    run = get_run(request, name, "corpus")
    with _locked(run), connect(run.path, read_only=True) as con:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        row = con.execute("SELECT predicted, confidence FROM validation WHERE validation_id = ?",
                          [id]).fetchone() if "validation" in tables else None
    if row is None:
        raise HTTPException(404, f"No sampled sentence {id!r}")
    return JSONResponse(to_json({"validation_id": id, "predicted": row[0],
                                 "confidence": row[1]}))


@router.get("/runs/{name}/validation/measure")
def validation_measure(request: Request, name: str) -> JSONResponse:
    """The model measured on the labels (`validate measure`: accuracy, per-class P/R/F1 with
    95% intervals, beside its own validation split's), and, for a model fine-tuned on a
    corpus's labels, its out-of-fold figures: on its own training labels, measure() is
    in-sample."""
    from textlens.corpus.validation import measure

    run = get_run(request, name, "corpus")
    cache = run.cache.setdefault("validation", {})
    if "measure" not in cache:
        with _locked(run):
            result = measure(run.path, store=False)
        cache["measure"] = to_json({
            "metrics": result.metrics, "confusion": result.confusion, "n_labels": result.n_labels,
            "classes": list(result.classes), "model_classes": list(result.model_classes),
            "too_few": result.too_few, "message": result.message,
            "finetuned": _finetuned(run.info.get("model"))})
    return JSONResponse(cache["measure"])


def _finetuned(model: str | None) -> dict[str, Any] | None:
    """What training.json says of a model fine-tuned with `train classification --init`."""
    import json
    from pathlib import Path

    record = Path(model) / "training.json" if model else None
    if record is None or not record.is_file():
        return None
    info = json.loads(record.read_text(encoding="utf-8"))
    if "out_of_fold" not in info:
        return None
    oof = info["out_of_fold"]
    return {"corpus_run": info.get("corpus_run"), "labels_used": info.get("labels_used"),
            "folds": info.get("folds"), "accuracy": oof.get("accuracy"),
            "macro_f1": oof.get("macro_f1"),
            "change_from_init": (oof.get("accuracy_change_from_init") or {}).get("change")}


@router.get("/runs/{name}/compare")
def compare(request: Request, name: str, other: str, examples: int = 5) -> JSONResponse:
    """This run (A) against another served corpus run (B) over the same corpus."""
    from textlens.corpus.compare import compare_runs

    run = get_run(request, name, "corpus")
    second = get_run(request, other, "corpus")
    if second.name == run.name:
        raise HTTPException(400, "Compare a run with another run.")
    cache = run.cache.setdefault("compare", {})
    key = (second.name, min(max(examples, 0), 20))
    if key not in cache:
        first, last = sorted((run, second), key=lambda r: r.name)  # one lock order: no deadlock
        with _locked(first), _locked(last):
            result = compare_runs(run.path, second.path, key[1], carry_labels=False)
        cache[key] = to_json(result.to_dict())
    return JSONResponse(cache[key])
