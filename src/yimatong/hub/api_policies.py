"""Routes of entry policies and of checkpoint look-ups by ID number, at the hub.

- ``PUT /v1/policies/{region}`` (health authority): a new version of a policy;
- ``GET /v1/policies/{region}`` (public): the signed policies that concern the region (ETag);
- ``GET /v1/policies/{region}/history`` (public): every version ever set for the region;
- ``POST /v1/lookups`` (checkpoint): the masked status of someone without a phone, by ID number.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from yimatong.edge_types import IdType, Line, Prose, Region, Time
from yimatong.hub.context import HubContext
from yimatong.hub.lookup import SubjectLookup
from yimatong.hub.policies import EntryPolicies, PolicyDecider
from yimatong.issuer.api import caller_of
from yimatong.web_common import (
    ORJSONResponse,
    client_address,
    problem_responses,
    signed_list_response,
)

__all__ = ["PUBLIC", "LookupRequest", "PolicyRequest", "router"]

#: Routes of this router that anonymous callers may use (listed in hub/app.py's public paths).
PUBLIC = frozenset({"GET /v1/policies/{region}", "GET /v1/policies/{region}/history"})

REGION = Annotated[Region, Path()]
PlaceKind = Literal["any", "transport", "residential", "hospital", "school", "office"]


class PolicyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    place_kind: PlaceKind = "any"
    #: a CertLogic expression over the facts of docs/policies.md
    rule: Any
    description: Prose = Field(min_length=1, max_length=500)
    #: default: now (in force at once)
    valid_from: Time | None = None
    valid_to: Time | None = None


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_type: IdType = "111"
    id_number: Line = Field(min_length=1, max_length=40)
    at_region: Region | None = None
    temperature: float | None = Field(default=None, ge=30, le=45)
    place_kind: PlaceKind | None = None
    #: the gate's own name (the credential's name is recorded anyway)
    checkpoint: Line | None = Field(default=None, max_length=60)


def router(ctx: HubContext) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["policies"])
    store = EntryPolicies(ctx)
    # Mode 2's decider when it is wired (build_hub: ctx.decider = PolicyDecider(ctx)), so the
    # two share one cache of compiled policies; else one of our own for look-ups.
    decider = ctx.decider if isinstance(ctx.decider, PolicyDecider) else PolicyDecider(ctx, store)
    lookups = SubjectLookup(ctx, decider)

    @r.put("/v1/policies/{region}", summary="Set the entry policy of one kind of place (authority)")
    def put_policy(region: REGION, body: PolicyRequest, request: Request) -> dict[str, Any]:
        return store.put(
            caller_of(request),
            region,
            place_kind=body.place_kind,
            rule=body.rule,
            description=body.description,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
        )

    @r.get(
        "/v1/policies/{region}",
        summary="The signed entry policies that apply in a region, now and later (ETag)",
    )
    def get_policies(
        region: REGION, if_none_match: Annotated[str | None, Header()] = None
    ) -> Response:
        return signed_list_response(
            if_none_match=if_none_match,
            version=store.version(region),
            etag=lambda v: f'"policies-{region}-{v}"',
            build=lambda: store.signed(region),
        )

    @r.get(
        "/v1/policies/{region}/history",
        summary="Every entry policy ever set for exactly this region, newest first",
    )
    def policy_history(region: REGION) -> dict[str, Any]:
        return {"region": region, "policies": store.history(region)}

    @r.post(
        "/v1/lookups",
        summary="Someone without a phone: masked status by ID number, from the holder's issuer",
        responses=problem_responses(404, 429, 503),
    )
    async def lookup(body: LookupRequest, request: Request) -> dict[str, Any]:
        caller = caller_of(request)
        return await run_in_threadpool(
            lambda: lookups.lookup(
                caller,
                id_type=body.id_type,
                id_number=body.id_number,
                at_region=body.at_region,
                temperature=body.temperature,
                place_kind=body.place_kind,
                checkpoint=body.checkpoint,
                client=client_address(request),
            )
        )

    return r
