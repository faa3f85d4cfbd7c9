"""Routes of the hub's transparency log (public reads; docs/transparency.md).

- ``GET /v1/log/sth``: the newest signed tree head;
- ``GET /v1/log/entries?start=&end=``: entries ``start`` ≤ index < ``end`` (at most 1000);
- ``GET /v1/log/proof/inclusion?index=&size=``: RFC 9162 audit path of one entry;
- ``GET /v1/log/proof/consistency?first=&second=``: RFC 9162 consistency path of two sizes;
- ``POST /v1/log/read-digests`` (an issuer node): its digest of one day's reads of personal
  data, into the log.

Hashes are standard base64. A size beyond the log is 404; a malformed or inconsistent
parameter 422.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from yimatong.hub.context import HubContext
from yimatong.hub.translog import MAX_ENTRIES
from yimatong.issuer.api import caller_of
from yimatong.web_common import ORJSONResponse, problem_responses

__all__ = ["PUBLIC", "ReadDigest", "router"]

#: Anonymous callers may read every route of the log.
PUBLIC = frozenset(
    {
        "GET /v1/log/sth",
        "GET /v1/log/entries",
        "GET /v1/log/proof/inclusion",
        "GET /v1/log/proof/consistency",
    }
)

#: Log indexes and sizes fit a JCS number (2^53 - 1), as every number the hub signs.
Count = Annotated[int, Query(ge=0, le=2**53 - 1)]


class ReadDigest(BaseModel):
    """One UTC day of a node's audit log, as ``adapters/db/audit.day_digest`` makes it."""

    model_config = ConfigDict(extra="forbid")
    day: date
    reads: int = Field(ge=1, le=2**53 - 1)
    by_role: dict[
        Annotated[str, Field(min_length=1, max_length=20)],
        Annotated[int, Field(ge=0, le=2**53 - 1)],
    ] = Field(max_length=20)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


def router(ctx: HubContext) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["transparency log"])
    log = ctx.translog

    @r.get("/v1/log/sth", summary="The newest signed tree head of the transparency log")
    async def sth() -> dict[str, Any]:
        return await run_in_threadpool(log.latest_head)

    @r.get(
        "/v1/log/entries",
        summary=f"Log entries start <= index < end (at most {MAX_ENTRIES})",
        responses=problem_responses(404),
    )
    async def entries(start: Count, end: Count | None = None) -> dict[str, Any]:
        return await run_in_threadpool(log.entries, start, end)

    @r.get(
        "/v1/log/proof/inclusion",
        summary="The audit path of entry `index` in the tree of `size` entries (RFC 9162)",
        responses=problem_responses(404),
    )
    async def inclusion(index: Count, size: Count) -> dict[str, Any]:
        return await run_in_threadpool(log.inclusion, index, size)

    @r.get(
        "/v1/log/proof/consistency",
        summary="The consistency path between the trees of `first` and `second` entries",
        responses=problem_responses(404),
    )
    async def consistency(first: Count, second: Count) -> dict[str, Any]:
        return await run_in_threadpool(log.consistency, first, second)

    @r.post(
        "/v1/log/read-digests",
        summary="An issuer node's digest of one day's reads of personal data, into the log",
        responses=problem_responses(409),
    )
    def read_digest(body: ReadDigest, request: Request) -> dict[str, Any]:
        return log.add_read_digest(
            caller_of(request),
            day=body.day,
            reads=body.reads,
            by_role=body.by_role,
            sha256=body.sha256,
        )

    return r
