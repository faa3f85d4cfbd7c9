"""Routes of the issuer's relay to the hub (``issuer/relay.py``): ``/v1/hub/...``.

Only these, for this issuer's ``checkpoint`` credentials; each mirrors one hub route and
answers what the hub answered (the same problem details, the signed lists byte for byte).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from yimatong.adapters.wire.code import MAX_CODE_LENGTH
from yimatong.edge_types import Area, Line, Region, Sid, Time
from yimatong.issuer.api import caller_of
from yimatong.issuer.relay import LISTS, HubRelay
from yimatong.web_common import ORJSONResponse, problem_responses

__all__ = ["router"]

PlaceKind = Annotated[str, Field(pattern=r"^[a-z][a-z_-]{0,15}$")]
Since = Annotated[int | None, Query(ge=0, le=2**62)]


class RelayScan(BaseModel):
    """A scan as the hub takes it (``POST /v1/scans``); ``checkpoint`` is set by the relay."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
    sid: Sid
    at: Time
    area: Area
    decision: Literal["PASS", "DENY", "CHECK"]
    temperature: float | None = Field(default=None, ge=30, le=45)
    checkpoint: Line | None = Field(default=None, max_length=100)


class RelayVerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=MAX_CODE_LENGTH)
    at_region: Region | None = None
    temperature: float | None = Field(default=None, ge=30, le=45)
    place_kind: PlaceKind | None = None


class RelayLookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_type: Annotated[str, Field(pattern=r"^[0-9]{3}$")] = "111"
    id_number: Line = Field(min_length=1, max_length=40)
    at_region: Region | None = None
    temperature: float | None = Field(default=None, ge=30, le=45)
    place_kind: PlaceKind | None = None
    #: the gate's own name (the credential's name is recorded anyway)
    checkpoint: Line | None = Field(default=None, max_length=40)


class RelayScansRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scans: list[RelayScan] = Field(min_length=1, max_length=500)


def _passed_on(status: int, body: bytes, etag: str | None) -> Response:
    headers = {"ETag": etag} if etag else {}
    if status == 304:
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def router(relay: HubRelay) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["hub relay"])

    def list_route(name: str, path: str) -> None:
        @r.get(
            f"/v1/hub/{name}",
            summary=f"The hub's signed {name}, relayed as it came (this issuer's checkpoints)",
            responses=problem_responses(503),
            name=f"relay_{name}",
        )
        def relayed(request: Request, since: Since = None) -> Response:
            got = relay.signed_list(
                caller_of(request),
                path,
                since=since,
                etag=request.headers.get("if-none-match"),
            )
            return _passed_on(got.status, got.body, got.etag)

    for name, path in LISTS.items():
        list_route(name, path)

    @r.get(
        "/v1/hub/policies/{region}",
        summary="The hub's signed policies of a region, relayed as they came",
        responses=problem_responses(503),
    )
    def policies(region: Annotated[Region, Path()], request: Request) -> Response:
        got = relay.signed_list(
            caller_of(request),
            f"/v1/policies/{region}",
            since=None,
            etag=request.headers.get("if-none-match"),
        )
        return _passed_on(got.status, got.body, got.etag)

    @r.post(
        "/v1/hub/codes/verify",
        summary="Mode 2 验码 at the hub for this issuer's checkpoint (named, audited)",
        responses=problem_responses(503),
    )
    def verify(body: RelayVerifyRequest, request: Request) -> Any:
        return relay.verify(caller_of(request), body.model_dump(exclude_none=True))

    @r.post(
        "/v1/hub/lookups",
        summary="A look-up by ID number at the hub for this issuer's checkpoint (audited)",
        responses=problem_responses(429, 503),
    )
    def lookups(body: RelayLookupRequest, request: Request) -> Any:
        return relay.lookup(caller_of(request), body.model_dump(exclude_none=True))

    @r.post(
        "/v1/hub/scans",
        summary="This issuer's checkpoint scans, passed to the hub (each lands once)",
        responses=problem_responses(503),
    )
    def scans(body: RelayScansRequest, request: Request) -> Any:
        wire = [
            {
                "id": s.id,
                "sid": s.sid,
                "at": s.at.isoformat(),
                "area": s.area,
                "decision": s.decision,
                **({"temperature": s.temperature} if s.temperature is not None else {}),
            }
            for s in body.scans
        ]
        return relay.scans(caller_of(request), wire)

    return r
