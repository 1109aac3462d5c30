"""What the app and every router share: the JSON answer that never fails on the way out, the
one conversion of values to JSON, and the run lookup. Its own module so `app` (which mounts the
routers) and the routers import it, not each other."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from textlens.errors import NotFoundError
from textlens.serve.runs import Run


class JSON(JSONResponse):
    """JSON that never fails on the way out: NaN -> null is done by `to_json`; a lone surrogate
    (echoed from a client's `\\ud800`) is written back as the same JSON escape instead of
    raising UnicodeEncodeError (which was a 500)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8", errors="backslashreplace")


def problem(status: int, text: str, fix: str | None = None) -> JSON:
    return JSON({"problem": text, "fix": fix}, status_code=status)


def to_json(value: Any) -> Any:
    """Frames become records (NaN and infinities -> null, numpy scalars -> numbers), recursively."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return json.loads(value.to_json(orient="records", date_format="iso", force_ascii=False))
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN and infinities: JSON has neither
    return value


def get_run(request: Request, name: str, kind: str | None = None) -> Run:
    runs: dict[str, Run] = request.app.state.runs
    run = runs.get(name)
    if run is None or (kind is not None and run.kind != kind):
        listed = ", ".join(f"{r.name} ({r.kind})" for r in runs.values())
        raise NotFoundError(f"No {kind + ' ' if kind else ''}run named {name[:200]!r}.",
                            f"this server has: {listed}." if listed else
                            "start `textlens serve RUN` with a run folder.")
    return run
