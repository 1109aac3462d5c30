"""The /api/ endpoints: fixed, parameterised reads of the runs and the three kinds of writes."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from textlens.errors import InputError, NotFoundError
from textlens.serve import corpus, explanations, explore, reviews, selection
from textlens.serve.bodies import (
    ExplainRequest,
    ExportRequest,
    ReviewRequest,
    Selection,
    ShapeRequest,
    SliceRequest,
)
from textlens.serve.common import JSON, get_run, to_json
from textlens.serve.limits import json_body, on_heavy_pool
from textlens.serve.runs import NULL_CODE, Column, Run
from textlens.store.run_db import DECISIONS

router = APIRouter()
SAMPLE_FIELDS_SHORT = ("id", "text", "question", "label", "prediction", "loss", "correct")
REVIEW_COLUMN = Column("review", "categorical", DECISIONS)  # colour the map by decisions made
def _json(value: Any) -> JSON:
    return JSON(to_json(value))


def _binary(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, media_type="application/octet-stream", headers=headers)


@router.get("/runs")
def list_runs(request: Request) -> JSON:
    runs: dict[str, Run] = request.app.state.runs
    return _json([{"name": r.name, "kind": r.kind, "task": r.task if r.kind == "analysis" else None,
                   "n": len(r.samples), "dataset": r.info.get("dataset")} for r in runs.values()])


@router.get("/runs/{name}")
def run_meta(request: Request, name: str) -> JSON:
    run = get_run(request, name)
    meta: dict[str, Any] = {"name": run.name, "kind": run.kind, "tables": list(run.tables),
                            "info": {k: run.info.get(k) for k in (
                                "task", "dataset", "split", "n", "model", "clustering",
                                "neighbour_index", "issue_probabilities") if k in run.info}}
    if run.kind == "analysis":
        cols = run.columns
        available, message = explanations.availability(run, request.app.state.model)
        meta.update({
            "task": run.task, "n": len(run.samples), "label_names": list(run.label_names),
            "columns": [c.to_dict() for c in cols.values()] + [REVIEW_COLUMN.to_dict()],
            "default_color": next((c for c in ("label", "cluster", "split") if c in cols),
                                  next(iter(cols), None)),
            "default_size": "loss" if "loss" in cols else None,
            "hover": [c for c in ("label", "prediction", "loss", "cluster") if c in cols],
            "counts": {k: len(v) for k, v in run.small.items()},
            "searchable": explore.searchable(run), "explain_available": available,
            "explain_message": message, "warm": bool(run.cache.get("warm")),
            "explain_methods": explanations.methods(),
            "lod": {"base_cells": explore.LOD_BASE, "cap": explore.LOD_CAP,
                    "levels": explore.LOD_LEVELS},
        })
    return _json(meta)


@router.get("/runs/{name}/points")
@on_heavy_pool
def points(request: Request, name: str,
           level: Annotated[int | None, Query(ge=0, le=explore.LOD_LEVELS + 1)] = None) -> Response:
    """x[n] then y[n] as float32; with `level`, the Uint32 positions drawn at that level."""
    run = get_run(request, name, "analysis")
    if level is None:
        return _binary(run.points())
    wanted = explore.levels_of_detail(run) <= level
    return _binary(np.flatnonzero(wanted).astype("<u4").tobytes(),
                   {"X-Count": str(int(wanted.sum()))})


@router.get("/runs/{name}/lod")
@on_heavy_pool
def lod(request: Request, name: str) -> Response:
    """uint8 per point: the coarsest level of detail at which the point is drawn."""
    return _binary(explore.levels_of_detail(get_run(request, name, "analysis")).tobytes())


@router.get("/runs/{name}/columns/{column}")
def column(request: Request, name: str, column: str) -> Response:
    run = get_run(request, name, "analysis")
    if column == REVIEW_COLUMN.name:  # live: the latest decisions, not cached
        codes = np.full(len(run.samples), NULL_CODE, dtype="<u2")
        latest = reviews.latest_reviews(run)
        found = run.positions.many(list(latest))
        for pos, review in zip(found, latest.values(), strict=True):
            if pos >= 0 and review["decision"] in DECISIONS:
                codes[pos] = DECISIONS.index(review["decision"])
        return _binary(codes.tobytes())
    if column not in run.columns:
        raise NotFoundError(f"No colourable column {column[:200]!r}.",
                            f"use one of: {', '.join(run.columns)}.")
    return _binary(run.encoded(column))


@router.get("/runs/{name}/texts")
def hover_texts(request: Request, name: str,
                positions: Annotated[str, Query(max_length=600)]) -> JSON:
    """Ids and short hover texts for a few positions (comma-separated, at most 50)."""
    run = get_run(request, name, "analysis")
    parts = [p.strip() for p in positions.split(",")[:50] if p.strip()]
    if not all(p.isdigit() and len(p) <= 10 for p in parts):
        raise InputError("positions must be comma-separated integers (at most 50).",
                         f"send positions between 0 and {len(run.samples) - 1}, e.g. 3,17.")
    index = selection.check_positions(run, [int(p) for p in parts])
    col = "question" if "question" in run.samples else "text"
    frame = run.samples.iloc[index]
    texts = frame[col] if col in frame else frame["id"]
    return _json({str(p): {"id": i, "text": str(t)[:300]} for p, i, t in
                  zip(index, frame["id"], texts, strict=True)})


@router.get("/runs/{name}/sample")
def sample(request: Request, name: str, id: Annotated[str, Query(max_length=1000)],
           k: Annotated[int, Query(ge=0, le=50)] = 10) -> JSON:
    run = get_run(request, name, "analysis")
    pos = run.positions.get(id)
    if pos is None:
        raise NotFoundError(f"No sample {id[:200]!r} in run {name!r}.",
                            "pick a sample on the map or in a list.")
    row = run.samples.iloc[pos]
    detail = {k2: v for k2, v in row.items() if k2 != "neighbours"}
    for key in ("answers", "answer_starts"):
        if isinstance(detail.get(key), str):
            detail[key] = json.loads(detail[key])
    neighbours = []
    for other_pos in run.neighbours(pos)[:k]:
        other_row = run.samples.iloc[other_pos]
        neighbours.append({"position": other_pos, **{f: other_row.get(f) for f in
                                                       SAMPLE_FIELDS_SHORT if f in other_row}})
    issue = _issue_of(run, id)
    if issue is not None:
        import pandas as pd

        issue = {**issue, "suggested": reviews.suggested_labels(run, pd.DataFrame({"id": [id]}))[0]}
    available, message = explanations.availability(run, request.app.state.model)
    return _json({"run": run.name, "position": pos, "task": run.task, "sample": detail,
                  "neighbours": neighbours, "issue": issue,
                  "review": reviews.latest_reviews(run).get(id),
                  "label_names": list(run.label_names),
                  "explain_available": available, "explain_message": message})


def _issue_of(run: Run, sample_id: str) -> dict[str, Any] | None:
    frame = run.small.get("label_issues")
    if frame is None or "id" not in frame:
        return None
    row = reviews.issue_row(run, sample_id)
    return None if row is None else to_json(frame.iloc[[row]])[0]


@router.post("/runs/{name}/explain")
def explain(request: Request, name: str,
            body: Annotated[ExplainRequest, Depends(json_body(ExplainRequest))]) -> JSON:
    run = get_run(request, name, "analysis")
    available, message = explanations.availability(run, request.app.state.model)
    if not available and not body.compute:  # a look, not a request: no error for a missing model
        explanations.check_request(run, body.sample_id, body.kind, body.method)
        return _json({"explanation": None, "explain_available": False,
                      "explain_message": message})
    value = explanations.explanation(run, body.sample_id, body.kind, request.app.state.model,
                                     compute=body.compute, method=body.method)
    return _json({"explanation": value, "explain_available": True, "explain_message": None})


@router.post("/runs/{name}/selection")
@on_heavy_pool
def summarise(request: Request, name: str,
              body: Annotated[Selection, Depends(json_body(Selection))]) -> JSON:
    run = get_run(request, name, "analysis")
    index = selection.check_positions(run, body.positions)
    return _json(selection.summarise(run, index, body.sort, body.descending, body.limit))


@router.post("/runs/{name}/select")
@on_heavy_pool
def select(request: Request, name: str,
           body: Annotated[ShapeRequest, Depends(json_body(ShapeRequest))]) -> JSON:
    """A selection by shape (and/or search) over every point: exact count, summary, and an id
    whose positions are at /selections/{id} (Uint32 or bitmap)."""
    run = get_run(request, name, "analysis")
    if body.polygon is None and body.box is None and body.search is None:
        raise InputError("Nothing to select by.", "send `polygon`, `box` and/or `search`.")
    if body.polygon is not None and body.box is not None:
        raise InputError("Send a polygon or a box, not both.", "send one shape.")
    mask = None
    if body.polygon is not None:
        mask = explore.in_polygon(run, [tuple(v) for v in body.polygon])
    elif body.box is not None:
        mask = explore.in_box(run, body.box)
    if body.search is not None:
        found = explore.search(run, body.search.q, body.search.regex, body.search.column,
                               body.search.case)
        mask = found if mask is None else mask & found
    assert mask is not None
    key = explore.remember(run, mask)
    index = np.flatnonzero(mask)
    out: dict[str, Any] = {"selection": key, "count": len(index), "total": len(run.samples)}
    if body.summary:
        out["summary"] = selection.summarise(run, index, body.sort, body.descending, body.limit)
    return _json(out)


@router.get("/runs/{name}/selections/{key}")
def selection_positions(request: Request, name: str, key: str,
                        format: Annotated[str, Query(pattern="^(positions|bitmap)$")] = "positions"
                        ) -> Response:
    run = get_run(request, name, "analysis")
    index = explore.recall(run, key)
    body = explore.bitmap(run, key) if format == "bitmap" else index.astype("<u4").tobytes()
    return _binary(body, {"X-Count": str(len(index))})


@router.get("/runs/{name}/search")
@on_heavy_pool
def search(request: Request, name: str, q: Annotated[str, Query(max_length=explore.MAX_QUERY)],
           regex: bool = False, column: Annotated[str | None, Query(max_length=200)] = None,
           case: bool = False,
           format: Annotated[str, Query(pattern="^(binary|json)$")] = "binary") -> Response:
    """Positions whose column contains `q` (Uint32 body; X-Count, X-Selection headers)."""
    run = get_run(request, name, "analysis")
    mask = explore.search(run, q, regex, column, case)
    index = np.flatnonzero(mask)
    key = explore.remember(run, mask)
    message = None if len(index) else "No sample matches the search."
    if format == "json":
        return JSON({"count": len(index), "selection": key, "message": message,
                     "positions": index[:10_000].tolist(), "truncated": len(index) > 10_000})
    headers = {"X-Count": str(len(index)), "X-Selection": key}
    if message:
        headers["X-Message"] = message
    return _binary(index.astype("<u4").tobytes(), headers)


@router.post("/runs/{name}/export")
@on_heavy_pool
def export(request: Request, name: str,
           body: Annotated[ExportRequest, Depends(json_body(ExportRequest))]) -> Response:
    run = get_run(request, name, "analysis")
    data, kind = selection.export(run, body.index(run), body.format)
    filename = f"{run.name}-selection.{body.format}".encode("ascii", "replace").decode()
    filename = "".join(c for c in filename if c.isalnum() or c in "-_.") or "selection"
    return Response(data, media_type=kind,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/runs/{name}/members")
@on_heavy_pool
def members(request: Request, name: str, column: Annotated[str, Query(max_length=200)],
            value: Annotated[str, Query(max_length=1000)],
            format: Annotated[str, Query(pattern="^(binary|json)$")] = "json") -> Response:
    """Positions of the samples whose `column` equals `value` (a cluster, a slice's value)."""
    run = get_run(request, name, "analysis")
    if column not in run.samples.columns or column in ("text", "question", "context"):
        raise NotFoundError(f"No column {column[:200]!r}.",
                            f"use one of: {', '.join(run.columns)}.")
    hits = selection.members(run, column, value)
    if format == "binary":
        return _binary(hits.astype("<u4").tobytes(), {"X-Count": str(len(hits))})
    return JSON({"positions": hits.tolist()})  # plain ints: no per-element to_json walk


@router.get("/runs/{name}/clusters")
def clusters(request: Request, name: str) -> JSON:
    run = get_run(request, name, "analysis")
    return _json({"clusters": run.small.get("clusters"), "slices": run.small.get("slices"),
                  "saved": run.store.saved_slices()})


@router.post("/runs/{name}/saved-slices")
@on_heavy_pool
def save_slice(request: Request, name: str,
               body: Annotated[SliceRequest, Depends(json_body(SliceRequest))]) -> JSON:
    run = get_run(request, name, "analysis")
    index = body.index(run)
    run.store.save_slice(body.name, run.samples["id"].iloc[index].tolist())
    return _json({"name": body.name, "size": len(index)})


@router.get("/runs/{name}/saved-slice")
def saved_slice(request: Request, name: str,
                slice: Annotated[str, Query(max_length=120)]) -> JSON:
    run = get_run(request, name, "analysis")
    ids = run.store.slice_ids(slice)
    if not ids:
        saved = run.store.saved_slices()["name"].tolist()
        raise NotFoundError(f"No saved slice {slice[:120]!r}.",
                            f"saved slices: {', '.join(saved)}." if saved else
                            "select points and Save slice first.")
    found = run.positions.many(ids)
    return JSON({"name": slice, "positions": np.sort(found[found >= 0]).tolist()})


@router.get("/runs/{name}/issues")
def issues(request: Request, name: str, status: Annotated[str, Query(max_length=20)] = "open",
           flagged: bool = False, offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
           limit: Annotated[int, Query(ge=1, le=500)] = 50) -> JSON:
    run = get_run(request, name, "analysis")
    return _json(reviews.issue_queue(run, status, flagged, offset, limit))


@router.post("/runs/{name}/reviews")
async def review(request: Request, name: str,
                 body: Annotated[ReviewRequest, Depends(json_body(ReviewRequest))]) -> JSON:
    """Checked here, committed by the run's writer thread with whatever else is waiting, and
    acknowledged only after the commit; no threadpool slot is held while it waits."""
    run = get_run(request, name, "analysis")
    decision, new_label, note = reviews.check_review(run, body.sample_id, body.decision,
                                                     body.new_label, body.note)
    created = await asyncio.wrap_future(run.store.submit_review(body.sample_id, decision,
                                                                new_label, note))
    return _json(reviews.remember_review(run, body.sample_id, decision, new_label, note, created))


@router.get("/runs/{name}/reviews")
def review_list(request: Request, name: str, history: bool = False) -> JSON:
    run = get_run(request, name, "analysis")
    if history:
        return _json({"reviews": run.store.reviews(history=True)})
    return _json({"reviews": reviews.latest_reviews(run)})


@router.get("/runs/{name}/corpus")
def corpus_view(request: Request, name: str,
                per_stratum: Annotated[int, Query(ge=1, le=200)] = 20) -> JSON:
    run = get_run(request, name, "corpus")
    return _json(corpus.corpus_overview(run, per_stratum))
