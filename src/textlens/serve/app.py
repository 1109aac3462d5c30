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

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException

from textlens.errors import BusyError, InputError, LimitError, NotFoundError, TextlensError
from textlens.serve.common import JSON, problem
from textlens.serve.limits import BodyLimit
from textlens.serve.runs import Run

STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'none'")
# Error kind -> HTTP status, most specific first: the status follows the error's type, never
# its wording. Any other TextlensError is a state the user must change first (409).
STATUS_OF: tuple[tuple[type[TextlensError], int], ...] = (
    (NotFoundError, 404), (LimitError, 413), (InputError, 400), (BusyError, 503))


def status_of(exc: TextlensError) -> int:
    return next((code for kind, code in STATUS_OF if isinstance(exc, kind)), 409)


def static_files() -> dict[str, tuple[bytes, str]]:
    """Every file shipped in static/ (flat), read once."""
    return {p.name: (p.read_bytes(), STATIC_TYPES.get(p.suffix, "application/octet-stream"))
            for p in sorted(STATIC_DIR.iterdir()) if p.is_file() and p.suffix in STATIC_TYPES}


class Guard:
    """Security headers on every answer; Host and POST checks before any route runs. Pure ASGI
    (Starlette's BaseHTTPMiddleware costs a task and a stream per request, ~1 ms of the ~5 ms
    a review takes)."""

    def __init__(self, app: Any, loopback: bool) -> None:
        self.app = app
        self.loopback = loopback

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cache-Control"] = "no-store"
            await send(message)

        refused = self.refusal(scope)
        if refused is not None:
            await refused(scope, receive, secured)
            return
        await self.app(scope, receive, secured)

    def refusal(self, scope: dict[str, Any]) -> JSON | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "").rsplit(":", 1)[0].lower()
        if self.loopback and host not in LOOPBACK_HOSTS:
            return problem(421, "Unexpected Host header.", "open the page at "
                           "http://127.0.0.1:PORT/.")
        method = scope["method"]
        if method not in ("GET", "HEAD", "POST"):
            return problem(405, "Method not allowed.", "use GET or POST.")
        if method == "POST":
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return problem(415, "POST bodies must be JSON.",
                               "send Content-Type: application/json.")
            origin = headers.get("origin")
            if origin and origin.split("://", 1)[-1].lower() != headers.get("host", "").lower():
                return problem(403, "Cross-origin request refused.", "use the dashboard's own page.")
        return None


def _validation_problem(exc: RequestValidationError) -> JSON:
    """The first few field errors, named by where they are; the input is never echoed (a
    50M-element body once came back whole, 222 MB)."""
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {str(error.get('msg', 'invalid'))[:200]}")
    more = len(exc.errors()) - 3
    text = "Invalid request: " + "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
    return problem(422, text, "send the fields the API documents (docs/dashboard.md), "
                   "with their types; unknown fields are refused.")


def create_app(runs: dict[str, Run], model: str | None = None, loopback: bool = True,
               warm: bool = False) -> FastAPI:
    """The app over already opened runs (`runs.open_runs`); `model` overrides run_info.model.
    With `warm`, `selection.warm_up` starts once the server has started (lifespan), so it
    does not compete with the start itself."""
    from contextlib import asynccontextmanager

    from textlens.serve import routes, validation

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if warm:
            from textlens.serve.selection import warm_up

            warm_up(runs, model)
        yield

    app = FastAPI(title="textlens", docs_url=None, redoc_url=None, openapi_url=None,
                  default_response_class=JSON, lifespan=lifespan)
    app.state.runs = runs
    app.state.model = model
    files = static_files()
    app.add_middleware(Guard, loopback=loopback)
    app.add_middleware(BodyLimit)  # outermost: a too-large body is refused before anything reads it

    @app.exception_handler(TextlensError)
    async def user_error(request: Request, exc: TextlensError) -> JSON:
        return problem(status_of(exc), exc.problem, exc.fix)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSON:
        return _validation_problem(exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and not request.url.path.startswith("/api/") \
                and request.method in ("GET", "HEAD") and not request.url.path.startswith("/static/"):
            body, kind = files["index.html"]  # the page says the address is unknown
            return Response(body, status_code=404, media_type=kind)
        if exc.status_code == 404:
            return problem(404, f"No endpoint {request.url.path[:200]!r}.",
                           "see the API in docs/dashboard.md; runs are listed at /api/runs.")
        return problem(exc.status_code, str(exc.detail)[:300])

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        body, kind = files["index.html"]
        return Response(body, media_type=kind)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in files:
            return problem(404, "No such static file.", "the page loads its own files.")
        body, kind = files[name]
        return Response(body, media_type=kind)

    app.include_router(routes.router, prefix="/api")
    app.include_router(validation.router, prefix="/api")
    return app
