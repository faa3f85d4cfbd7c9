"""Routes of the issuer registry and the trust list."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from yimatong.adapters.messages import ProvedKey
from yimatong.edge_types import Cursor, Kid, Line, Region, Time
from yimatong.hub.context import HubContext
from yimatong.hub.registry import MAX_CHANGES_PAGE
from yimatong.issuer.api import caller_of
from yimatong.web_common import ORJSONResponse, problem_responses, signed_list_response

__all__ = ["registry_router"]

REGION = Region


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


POSSESSION = Field(
    max_length=200,
    description="base64url signature by this key over the possession message "
    "(adapters/messages.py: region, public_key, not_before)",
)


class RegisteredKey(Strict):
    public_key: str = Field(max_length=2000)
    not_before: Time
    not_after: Time | None = None
    possession: str = POSSESSION

    def proved(self) -> ProvedKey:
        return ProvedKey(self.public_key, self.not_before, self.possession, self.not_after)


class IssuerRequest(Strict):
    region: REGION
    name: Line = Field(min_length=1, max_length=100)
    kind: Literal["native", "legacy", "hosted"] = "native"
    endpoint: str | None = Field(default=None, max_length=300)
    legacy_prefix: str | None = Field(default=None, max_length=20)
    keys: list[RegisteredKey] = Field(
        default_factory=list,
        max_length=10,
        description="the issuer's first keys, each with its window and proof of possession "
        "(`yimatong keys proof` at the issuer prints them)",
    )
    outbound_token: str | None = Field(default=None, max_length=200)


class KeyRequest(Strict):
    public_key: str = Field(max_length=2000)
    not_before: Time
    possession: str = POSSESSION
    proof: str | None = Field(
        default=None,
        max_length=200,
        description="a rotation: base64url signature by a current key over the rotation message",
    )
    proof_kid: Kid | None = None


def registry_router(ctx: HubContext) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["registry"])
    registry = ctx.registry

    @r.get("/v1/trust-list", summary="The signed trust list: issuers and keys (ETag, deltas)")
    def trust_list(
        since: Annotated[Cursor, Query()] = 0,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        return signed_list_response(
            if_none_match=if_none_match,
            version=registry.version(),
            etag=lambda v: f'"trust-{v}-{since}"',
            build=lambda: registry.trust_list(since),
        )

    @r.post(
        "/v1/issuers",
        status_code=201,
        summary="Register or update an issuer (hub admin)",
        responses=problem_responses(409),
    )
    def register(body: IssuerRequest, request: Request) -> dict[str, Any]:
        return registry.register_issuer(
            caller_of(request),
            region=body.region,
            name=body.name,
            kind=body.kind,
            endpoint=body.endpoint,
            legacy_prefix=body.legacy_prefix,
            keys=[k.proved() for k in body.keys],
            outbound_token=body.outbound_token,
        )

    @r.post(
        "/v1/issuers/{region}/keys",
        status_code=201,
        summary="Add a key: proved by itself and, to rotate, by a current key of the issuer",
        responses=problem_responses(409),
    )
    def add_key(region: REGION, body: KeyRequest, request: Request) -> dict[str, Any]:
        return registry.add_key(
            caller_of(request),
            region,
            public_key=body.public_key,
            not_before=body.not_before,
            possession=body.possession,
            proof=body.proof,
            proof_kid=body.proof_kid,
        )

    @r.delete(
        "/v1/issuers/{region}/keys/{kid}",
        summary="Revoke a key",
        responses=problem_responses(409),
    )
    def revoke(region: REGION, kid: Kid, request: Request) -> dict[str, Any]:
        return registry.revoke_key(caller_of(request), region, kid)

    @r.get(
        "/v1/registry/changes",
        summary="The registry's change log: who registered, added, rotated or revoked what",
    )
    def changes(
        request: Request,
        since: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_CHANGES_PAGE)] = 100,
    ) -> dict[str, Any]:
        return registry.changes(caller_of(request), since, limit)

    return r
