"""The public reads of a node's transparency log (docs/transparency.md), at the hub and at
every issuer alike:

- ``GET /v1/log/sth``: the newest signed tree head;
- ``GET /v1/log/entries?start=&end=``: entries ``start`` ≤ index < ``end`` (at most 1000);
- ``GET /v1/log/proof/inclusion?index=&size=``: RFC 9162 audit path of one entry;
- ``GET /v1/log/proof/consistency?first=&second=``: RFC 9162 consistency path of two sizes.

Hashes are standard base64. A size beyond the log is 404; a malformed or inconsistent
parameter 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from yimatong.adapters.translog import MAX_ENTRIES, TransparencyLog
from yimatong.web_common import ORJSONResponse, problem_responses

__all__ = ["PUBLIC", "log_router"]

#: Anonymous callers may read every route of the log.
PUBLIC = frozenset(
    {
        "GET /v1/log/sth",
        "GET /v1/log/entries",
        "GET /v1/log/proof/inclusion",
        "GET /v1/log/proof/consistency",
    }
)

#: Log indexes and sizes fit a JCS number (2^53 - 1), as every number a node signs.
Count = Annotated[int, Query(ge=0, le=2**53 - 1)]


def log_router(log: TransparencyLog) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["transparency log"])

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

    return r
