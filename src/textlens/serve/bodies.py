"""The JSON bodies the API accepts: strict shapes, checked by pydantic before a route runs.

Unknown fields are refused (a 100 MB body with an unknown field used to be accepted), NaN and
infinities are refused, and positions are JSON integers in range: 1e30, 2**63 or NaN once
reached numpy and overflowed into a 500.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from textlens.errors import InputError
from textlens.serve import explore, selection
from textlens.serve.limits import MAX_ELEMENTS
from textlens.serve.runs import Run

# A position: an int as JSON writes it (1e30, 2**63 or NaN are refused, not cast and overflowed)
Position = Annotated[int, Field(strict=True, ge=0, lt=2**32)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
Id = Annotated[str, Field(min_length=1, max_length=1000)]
Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]


class Body(BaseModel):
    """Every body: unknown fields refused, NaN and infinities refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Selection(Body):
    positions: list[Position] = Field(max_length=MAX_ELEMENTS)
    sort: str = Field("loss", max_length=200)
    descending: bool = True
    limit: int = Field(200, ge=0, le=5000)


class PositionsOrSelection(Body):
    positions: list[Position] | None = Field(None, max_length=MAX_ELEMENTS)
    selection: str | None = Field(None, max_length=40)

    def index(self, run: Run) -> Any:
        if (self.positions is None) == (self.selection is None):
            raise InputError("Send either `positions` or `selection` (an id from /select).",
                             "send exactly one of the two.")
        if self.selection is not None:
            return explore.recall(run, self.selection)
        return selection.check_positions(run, self.positions or [])


class ExportRequest(PositionsOrSelection):
    format: str = Field("csv", max_length=20)


class SliceRequest(PositionsOrSelection):
    name: Name


class ReviewRequest(Body):
    sample_id: Id
    decision: str = Field(max_length=40)
    new_label: str | None = Field(None, max_length=1000)
    note: str | None = Field(None, max_length=2000)


class ExplainRequest(Body):
    sample_id: Id
    kind: str = Field("prediction", max_length=40)
    method: str | None = Field(None, min_length=1, max_length=40)
    compute: bool = True


class SearchFilter(Body):
    q: str = Field(min_length=1, max_length=explore.MAX_QUERY)
    regex: bool = False
    column: str | None = Field(None, max_length=200)
    case: bool = False


class ShapeRequest(Body):
    polygon: list[tuple[Coordinate, Coordinate]] | None = Field(None, min_length=3,
                                                                 max_length=100_000)
    box: tuple[Coordinate, Coordinate, Coordinate, Coordinate] | None = None
    search: SearchFilter | None = None
    summary: bool = True
    sort: str = Field("loss", max_length=200)
    descending: bool = True
    limit: int = Field(200, ge=0, le=5000)


