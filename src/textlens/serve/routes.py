"""The /api/ endpoints: fixed, parameterised reads of the runs and the three kinds of writes."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from textlens.serve import corpus, explanations, reviews, selection
from textlens.serve.app import get_run, to_json
from textlens.serve.runs import NULL_CODE, Column, Run
from textlens.serve.store import DECISIONS

router = APIRouter()
SAMPLE_FIELDS_SHORT = ("id", "text", "question", "label_name", "prediction", "loss", "correct")
MAX_POSITIONS = 1_000_000
REVIEW_COLUMN = Column("review", "categorical", DECISIONS)  # colour the map by decisions made


class Selection(BaseModel):
    positions: list[int] = Field(max_length=MAX_POSITIONS)
    sort: str = "loss"
    descending: bool = True
    limit: int = Field(200, ge=0, le=5000)


class ExportRequest(BaseModel):
    positions: list[int] = Field(max_length=MAX_POSITIONS)
    format: str = "csv"


class SliceRequest(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    positions: list[int] = Field(max_length=MAX_POSITIONS)


class ReviewRequest(BaseModel):
    sample_id: str = Field(max_length=1000)
    decision: str
    new_label: str | None = Field(None, max_length=1000)
    note: str | None = None


class ExplainRequest(BaseModel):
    sample_id: str = Field(max_length=1000)
    kind: str = "prediction"
    compute: bool = True


def _json(value: Any) -> JSONResponse:
    return JSONResponse(to_json(value))


@router.get("/runs")
def list_runs(request: Request) -> JSONResponse:
    runs: dict[str, Run] = request.app.state.runs
    return _json([{"name": r.name, "kind": r.kind, "task": r.task if r.kind == "analysis" else None,
                   "n": len(r.samples), "dataset": r.info.get("dataset")} for r in runs.values()])


@router.get("/runs/{name}")
def run_meta(request: Request, name: str) -> JSONResponse:
    run = get_run(request, name)
    meta: dict[str, Any] = {"name": run.name, "kind": run.kind, "tables": list(run.tables),
                            "info": {k: run.info.get(k) for k in (
                                "task", "dataset", "split", "n", "model", "clustering",
                                "neighbour_index", "issue_probabilities") if k in run.info}}
    if run.kind == "analysis":
        cols = run.columns
        meta.update({
            "task": run.task, "n": len(run.samples), "label_names": list(run.label_names),
            "columns": [c.to_dict() for c in cols.values()] + [REVIEW_COLUMN.to_dict()],
            "default_color": next((c for c in ("label_name", "cluster", "split") if c in cols),
                                  next(iter(cols), None)),
            "default_size": "loss" if "loss" in cols else None,
            "hover": [c for c in ("label_name", "prediction", "loss", "cluster") if c in cols],
            "counts": {k: len(v) for k, v in run.small.items()},
        })
    return _json(meta)


def _binary(body: bytes) -> Response:
    return Response(body, media_type="application/octet-stream")


@router.get("/runs/{name}/points")
def points(request: Request, name: str) -> Response:
    return _binary(get_run(request, name, "analysis").points())


@router.get("/runs/{name}/columns/{column}")
def column(request: Request, name: str, column: str) -> Response:
    run = get_run(request, name, "analysis")
    if column == REVIEW_COLUMN.name:  # live: the latest decisions, not cached
        import numpy as np

        codes = np.full(len(run.samples), NULL_CODE, dtype="<u2")
        for sample_id, review in reviews.latest_reviews(run).items():
            if sample_id in run.positions and review["decision"] in DECISIONS:
                codes[run.positions[sample_id]] = DECISIONS.index(review["decision"])
        return _binary(codes.tobytes())
    if column not in run.columns:
        raise HTTPException(404, f"No column {column!r}")
    return _binary(run.encoded(column))


@router.get("/runs/{name}/texts")
def hover_texts(request: Request, name: str, positions: str) -> JSONResponse:
    """Ids and short hover texts for a few positions (comma-separated, at most 50)."""
    run = get_run(request, name, "analysis")
    try:
        wanted = [int(p) for p in positions.split(",")[:50] if p]
    except ValueError:
        raise HTTPException(400, "positions must be integers") from None
    index = selection.check_positions(run, wanted)
    col = "question" if "question" in run.samples else "text"
    frame = run.samples.iloc[index]
    texts = frame[col] if col in frame else frame["id"]
    return _json({str(p): {"id": i, "text": str(t)[:300]} for p, i, t in
                  zip(index, frame["id"], texts, strict=True)})


@router.get("/runs/{name}/sample")
def sample(request: Request, name: str, id: str, k: int = 10) -> JSONResponse:
    run = get_run(request, name, "analysis")
    pos = run.positions.get(id)
    if pos is None:
        raise HTTPException(404, f"No sample {id!r} in run {name!r}")
    row = run.samples.iloc[pos]
    detail = {k2: v for k2, v in row.items() if k2 != "neighbours"}
    for key in ("answers", "answer_starts"):
        if isinstance(detail.get(key), str):
            detail[key] = json.loads(detail[key])
    neighbours = []
    raw = row.get("neighbours")
    ids = json.loads(raw) if isinstance(raw, str) else []
    for other in ids[:max(0, min(k, 50))]:
        other_pos = run.positions.get(str(other))
        if other_pos is None:
            continue
        other_row = run.samples.iloc[other_pos]
        neighbours.append({"position": other_pos, **{f: other_row.get(f) for f in
                                                       SAMPLE_FIELDS_SHORT if f in other_row}})
    issue = _issue_of(run, id)
    if issue is not None:
        import pandas as pd

        issue = {**issue, "suggested": reviews.suggested_labels(run, pd.DataFrame({"id": [id]}))[0]}
    return _json({"run": run.name, "position": pos, "task": run.task, "sample": detail,
                  "neighbours": neighbours, "issue": issue,
                  "review": reviews.latest_reviews(run).get(id),
                  "label_names": list(run.label_names)})


def _issue_of(run: Run, sample_id: str) -> dict[str, Any] | None:
    frame = run.small.get("label_issues")
    if frame is None or "id" not in frame:
        return None
    if "issues_by_id" not in run.cache:  # id -> row position; rows are converted when asked
        run.cache["issues_by_id"] = {str(i): k for k, i in enumerate(frame["id"])}
    row = run.cache["issues_by_id"].get(sample_id)
    return None if row is None else to_json(frame.iloc[[row]])[0]


@router.post("/runs/{name}/explain")
def explain(request: Request, name: str, body: ExplainRequest) -> JSONResponse:
    run = get_run(request, name, "analysis")
    value = explanations.explanation(run, body.sample_id, body.kind, request.app.state.model,
                                     compute=body.compute)
    return _json({"explanation": value})


@router.post("/runs/{name}/selection")
def summarise(request: Request, name: str, body: Selection) -> JSONResponse:
    run = get_run(request, name, "analysis")
    index = selection.check_positions(run, body.positions)
    return _json(selection.summarise(run, index, body.sort, body.descending, body.limit))


@router.post("/runs/{name}/export")
def export(request: Request, name: str, body: ExportRequest) -> Response:
    run = get_run(request, name, "analysis")
    data, kind = selection.export(run, selection.check_positions(run, body.positions), body.format)
    filename = f"{run.name}-selection.{body.format}".replace('"', "")
    return Response(data, media_type=kind,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/runs/{name}/members")
def members(request: Request, name: str, column: str, value: str) -> JSONResponse:
    """Positions of the samples whose `column` equals `value` (a cluster, a slice's value)."""
    run = get_run(request, name, "analysis")
    if column not in run.samples.columns or column in ("text", "question", "context"):
        raise HTTPException(404, f"No column {column!r}")
    from textlens.serve.runs import _category

    values = run.samples[column]
    hits = [i for i, v in enumerate(values) if _category(v) == value]
    return _json({"positions": hits})


@router.get("/runs/{name}/clusters")
def clusters(request: Request, name: str) -> JSONResponse:
    run = get_run(request, name, "analysis")
    return _json({"clusters": run.small.get("clusters"), "slices": run.small.get("slices"),
                  "saved": run.store.saved_slices()})


@router.post("/runs/{name}/saved-slices")
def save_slice(request: Request, name: str, body: SliceRequest) -> JSONResponse:
    run = get_run(request, name, "analysis")
    index = selection.check_positions(run, body.positions)
    run.store.save_slice(body.name, run.samples["id"].iloc[index].tolist())
    return _json({"name": body.name, "size": len(index)})


@router.get("/runs/{name}/saved-slice")
def saved_slice(request: Request, name: str, slice: str) -> JSONResponse:
    run = get_run(request, name, "analysis")
    ids = run.store.slice_ids(slice)
    if not ids:
        raise HTTPException(404, f"No saved slice {slice!r}")
    return _json({"name": slice, "positions": sorted(run.positions[i] for i in ids
                                                     if i in run.positions)})


@router.get("/runs/{name}/issues")
def issues(request: Request, name: str, status: str = "open", flagged: bool = False,
           offset: int = 0, limit: int = 50) -> JSONResponse:
    run = get_run(request, name, "analysis")
    return _json(reviews.issue_queue(run, status, flagged, max(0, offset), max(1, min(limit, 500))))


@router.post("/runs/{name}/reviews")
def review(request: Request, name: str, body: ReviewRequest) -> JSONResponse:
    run = get_run(request, name, "analysis")
    return _json(reviews.record_review(run, body.sample_id, body.decision, body.new_label,
                                       body.note))


@router.get("/runs/{name}/reviews")
def review_list(request: Request, name: str, history: bool = False) -> JSONResponse:
    run = get_run(request, name, "analysis")
    if history:
        return _json({"reviews": run.store.reviews(history=True)})
    return _json({"reviews": reviews.latest_reviews(run)})


@router.get("/runs/{name}/corpus")
def corpus_view(request: Request, name: str, per_stratum: int = 20) -> JSONResponse:
    run = get_run(request, name, "corpus")
    return _json(corpus.corpus_overview(run, max(1, min(per_stratum, 200))))
