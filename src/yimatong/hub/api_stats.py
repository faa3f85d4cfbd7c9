"""Read-only routes of the hub's dashboards (``hub.stats``): counts only, never a person's data.

``GET /v1/stats/{figure}`` with ``figure`` one of ``colours``, ``scans``, ``results``, ``mode2``;
``days`` (day figures) or ``hours`` (hour figures) sets the span. Hub administrator or health
authority; an authority scoped to a region sees only the series of regions within it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from yimatong.hub.context import HubContext
from yimatong.hub.stats import MAX_DAYS, MAX_HOURS, Dashboards
from yimatong.issuer.api import caller_of
from yimatong.web_common import ORJSONResponse

__all__ = ["router"]

Figure = Literal["colours", "scans", "results", "mode2"]


def router(ctx: HubContext) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["dashboards"])
    dashboards = Dashboards(ctx)

    @r.get(
        "/v1/stats/{figure}",
        summary="Counts over time for the dashboards: Mode 1 colours per region and day, scans "
        "per hour, results per lab and day, Mode 2 calls per region and hour (admin, authority)",
    )
    def stats(
        figure: Figure,
        request: Request,
        days: Annotated[int | None, Query(ge=1, le=MAX_DAYS)] = None,
        hours: Annotated[int | None, Query(ge=1, le=MAX_HOURS)] = None,
    ) -> dict[str, Any]:
        span = days if figure in ("colours", "results") else hours
        return dashboards.figure(caller_of(request), figure, span)

    return r
