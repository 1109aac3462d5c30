"""The FastAPI app: fixed JSON/binary endpoints under /api/, the page and its static files.

Security by construction: static files are a name -> bytes table read from the package at start
(a request can only name one of them: `..`, encoded or absolute paths match nothing and get
404); runs are looked up by name in the table the server was started with; the browser sends
parameters, never SQL; writes are the review, slice and explanation-cache tables only. A
Content-Security-Policy without 'unsafe-inline' means even an HTML-injection bug could run no
script; POSTs must be JSON (which a cross-site form cannot send without a CORS preflight) and,
on a loopback bind, the Host header must be a loopback name (DNS-rebinding defence).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from textlens.errors import InputError, TextlensError
from textlens.serve.runs import Run

STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "testserver"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'none'")


def static_files() -> dict[str, tuple[bytes, str]]:
    """Every file shipped in static/ (flat), read once."""
    return {p.name: (p.read_bytes(), STATIC_TYPES.get(p.suffix, "application/octet-stream"))
            for p in sorted(STATIC_DIR.iterdir()) if p.is_file() and p.suffix in STATIC_TYPES}


class Guard(BaseHTTPMiddleware):
    """Security headers on every answer; Host and POST checks before any route runs."""

    def __init__(self, app: Any, loopback: bool) -> None:
        super().__init__(app)
        self.loopback = loopback

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        host = request.headers.get("host", "").rsplit(":", 1)[0].lower()
        if self.loopback and host not in LOOPBACK_HOSTS:
            return JSONResponse({"problem": "Unexpected Host header.", "fix": "open the page at "
                                 "http://127.0.0.1:PORT/."}, status_code=421)
        if request.method not in ("GET", "HEAD", "POST"):
            return JSONResponse({"problem": "Method not allowed."}, status_code=405)
        if request.method == "POST":
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return JSONResponse({"problem": "POST bodies must be JSON."}, status_code=415)
            origin = request.headers.get("origin")
            if origin and origin.split("://", 1)[-1].lower() != request.headers.get("host", "").lower():
                return JSONResponse({"problem": "Cross-origin request refused."}, status_code=403)
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response


def to_json(value: Any) -> Any:
    """Frames become records (NaN -> null, numpy scalars -> numbers), recursively."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso", force_ascii=False))
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def create_app(runs: dict[str, Run], model: str | None = None, loopback: bool = True) -> FastAPI:
    """The app over already opened runs (`runs.open_runs`); `model` overrides run_info.model."""
    from textlens.serve import routes, validation

    app = FastAPI(title="textlens", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runs = runs
    app.state.model = model
    files = static_files()
    app.add_middleware(Guard, loopback=loopback)

    @app.exception_handler(TextlensError)
    async def user_error(request: Request, exc: TextlensError) -> JSONResponse:
        status = 404 if exc.problem.startswith("No sample") else (
            400 if isinstance(exc, InputError) else 409)
        return JSONResponse({"problem": exc.problem, "fix": exc.fix}, status_code=status)

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        body, kind = files["index.html"]
        return Response(body, media_type=kind)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in files:
            raise HTTPException(404, "Not found")
        body, kind = files[name]
        return Response(body, media_type=kind)

    app.include_router(routes.router, prefix="/api")
    app.include_router(validation.router, prefix="/api")
    return app


def get_run(request: Request, name: str, kind: str | None = None) -> Run:
    run = request.app.state.runs.get(name)
    if run is None or (kind is not None and run.kind != kind):
        raise HTTPException(404, f"No {kind or ''} run named {name!r}".replace("  ", " "))
    return run
