"""Routes of the hub's transparency log (docs/transparency.md): the public reads every node's
log has (``log_routes.py``), and for issuer nodes ``POST /v1/log/read-digests`` (its digest of
one day's reads of personal data, into the hub's log) and ``POST /v1/log/witness`` (the hub
countersigns the newest head of the issuer's own log).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from yimatong.domain.overrides import MAX_SUBJECTS, REASONS
from yimatong.hub.context import HubContext
from yimatong.issuer.api import caller_of
from yimatong.log_routes import PUBLIC, log_router
from yimatong.web_common import ORJSONResponse, problem_responses

__all__ = ["PUBLIC", "ReadDigest", "WitnessRequest", "router"]


class ReadDigest(BaseModel):
    """One UTC day of a node's audit log, as ``adapters/db/read_digest.day_digest`` makes it."""

    model_config = ConfigDict(extra="forbid")
    day: date
    reads: int = Field(ge=1, le=2**53 - 1)
    by_role: dict[
        Annotated[str, Field(min_length=1, max_length=20)],
        Annotated[int, Field(ge=0, le=2**53 - 1)],
    ] = Field(max_length=20)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class WitnessRequest(BaseModel):
    """The newest signed head of the issuer's own log, and its consistency path from the size
    the hub witnessed before (empty the first time)."""

    model_config = ConfigDict(extra="forbid")
    head: dict[str, Any]
    consistency_path: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=128
    )


class OverrideApprovalRequest(BaseModel):
    """An issuer's manual colour as it asks the hub to approve it (its ``hub_request``)."""

    model_config = ConfigDict(extra="forbid")
    region: str = Field(pattern=r"^[0-9]{6}$")
    override: int = Field(ge=1, le=2**53 - 1)
    colour: Literal["green", "yellow", "red"]
    reason: Literal[tuple(REASONS)]  # type: ignore[valid-type]
    subjects: int = Field(ge=1, le=MAX_SUBJECTS)
    sids_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    requested_at: str = Field(max_length=40)
    expires_at: str = Field(max_length=40)


def router(ctx: HubContext) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["transparency log"])
    log = ctx.translog
    r.include_router(log_router(log))

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

    @r.post(
        "/v1/log/witness",
        summary="Countersign an issuer's log head, consistent with the one witnessed before",
        responses=problem_responses(409),
    )
    def witness(body: WitnessRequest, request: Request) -> dict[str, Any]:
        return ctx.translog.witness(caller_of(request), body.head, body.consistency_path)

    @r.post(
        "/v1/overrides/approvals",
        tags=["overrides"],
        summary="The national authority approves a manual colour above a region's hourly limit",
    )
    def approve_override(body: OverrideApprovalRequest, request: Request) -> dict[str, Any]:
        return ctx.translog.approve_override(caller_of(request), body.model_dump())

    return r
