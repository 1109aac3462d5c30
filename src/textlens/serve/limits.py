"""Request limits enforced before anything parses a body, and JSON bodies parsed off the event loop.

Probed as a careless client would, the server used to accept any body: a POST of 5M positions
(22 MB) stalled every other request for 7 s while the event loop parsed it, and 50M positions
took 433 s and 3 GB. Now a body is read here with a cap (413 as soon as Content-Length or the
bytes read pass it), its elements are counted on the raw bytes (commas: one C loop over the
buffer) before any parser sees them, and the endpoints parse their JSON with pydantic's own
parser in the threadpool (`json_body`), so the event loop never holds a large parse.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

M = TypeVar("M", bound=BaseModel)

MAX_ELEMENTS = 1_000_000  # positions in one request: a whole 1M run (select by shape instead)
BIG_BODY = 12 * 1024 * 1024  # 1M positions of 7 digits and commas: 8 MB
SMALL_BODY = 1024 * 1024  # reviews, explain, select by shape (a 10k-vertex lasso is ~300 kB)
BIG_BODY_PATHS = ("/selection", "/export", "/saved-slices")


def body_cap(path: str) -> int:
    return BIG_BODY if path.endswith(BIG_BODY_PATHS) else SMALL_BODY


def _too_large(text: str, fix: str) -> dict[str, Any]:
    return {"problem": text, "fix": fix}


class BodyLimit:
    """Pure ASGI middleware: POST bodies read with a cap and counted before the app sees them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]],
                       send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        cap = body_cap(scope["path"])
        fix = (f"send at most {cap // 1024:,} kB; select a large region by its shape "
               "(POST /api/runs/RUN/select) instead of listing its positions.")
        declared = dict(scope["headers"]).get(b"content-length")
        try:
            length = int(declared) if declared is not None else None
        except ValueError:
            length = None
        if length is not None and length > cap:
            await _refuse(send, 413, _too_large(f"The request body ({length:,} bytes) is larger "
                                                f"than {cap:,} bytes.", fix))
            return
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > cap:
                await _refuse(send, 413, _too_large(f"The request body is larger than {cap:,} "
                                                    "bytes.", fix))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body.count(b",") >= MAX_ELEMENTS + 100:  # the positions and a few other fields
            await _refuse(send, 413, _too_large(
                f"The request holds more than {MAX_ELEMENTS:,} elements.", fix))
            return
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Callable[[dict], Awaitable[None]], status: int, content: dict) -> None:
    payload = json.dumps(content).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


HEAVY_THREADS = 2  # the machine has 2 cores: more heavy requests at once only slice them thinner
LARGE_BODY = 64 * 1024


def heavy_limiter(request: Request) -> Any:
    """The threads heavy work runs on (selections, search, exports, large parses): the app's
    own pool of HEAVY_THREADS, so a flood of large requests queues there while sample views,
    hover texts and reviews keep the default threadpool's 40 threads."""
    import anyio

    state = request.app.state
    if getattr(state, "heavy", None) is None:
        state.heavy = anyio.CapacityLimiter(HEAVY_THREADS)
    return state.heavy


async def heavy(request: Request, work: Callable[..., Any], *args: Any) -> Any:
    """`work(*args)` on the heavy pool."""
    import anyio

    return await anyio.to_thread.run_sync(lambda: work(*args), limiter=heavy_limiter(request))


def on_heavy_pool(endpoint: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a sync endpoint on the heavy pool (FastAPI reads the wrapped signature); it must
    take `request` by name."""
    import functools

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return await heavy(kwargs["request"], lambda: endpoint(*args, **kwargs))

    return run


def json_body(model: type[M]) -> Callable[[Any], Awaitable[M]]:
    """A FastAPI dependency: the body parsed and validated by pydantic (Rust, strict JSON: no
    NaN, no lone surrogates); bodies over 64 kB on the heavy pool, off the event loop; errors
    become the app's 422 problem."""

    async def parse(request: Request) -> M:
        from fastapi.exceptions import RequestValidationError
        raw = await request.body()
        try:
            if len(raw) > LARGE_BODY:
                return await heavy(request, model.model_validate_json, raw)
            return model.model_validate_json(raw)  # a small body: microseconds, no thread hop
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_input=False, include_url=False)
                                         ) from None

    return parse
