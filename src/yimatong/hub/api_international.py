"""Routes of international trust at the hub (hub/international.py).

- ``GET /v1/international-trust`` (public): the signed DSCs and SHC issuers (ETag);
- ``PUT /v1/international-trust/dcc`` (hub administrator): a DSC list of the EU gateway's format;
- ``PUT /v1/international-trust/shc`` (hub administrator): a VCI directory snapshot;
- ``PUT /v1/international-trust/dcc-revocation`` (hub administrator): the EU gateway's DCC
  revocation batches.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from yimatong.hub.context import HubContext
from yimatong.hub.international import InternationalTrust
from yimatong.issuer.api import caller_of
from yimatong.web_common import ORJSONResponse, json_body, problem_responses, signed_list_response

__all__ = ["PUBLIC", "router"]

#: Routes of this router that anonymous callers may use (listed in hub/app.py's public paths).
PUBLIC = frozenset({"GET /v1/international-trust"})

_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": ["object", "array"]}}},
    }
}


def router(ctx: HubContext) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["international"])
    store = InternationalTrust(ctx)

    @r.get(
        "/v1/international-trust",
        summary="The signed EU DCC document signers and SMART Health Card issuers (ETag)",
    )
    def international_trust(if_none_match: Annotated[str | None, Header()] = None) -> Response:
        return signed_list_response(
            if_none_match=if_none_match,
            version=store.version(),
            etag=lambda v: f'"international-{v}"',
            build=store.signed,
        )

    @r.put(
        "/v1/international-trust/dcc",
        summary="Replace the EU DCC document signers with a DSC list of the gateway (admin)",
        responses=problem_responses(422),
        openapi_extra=_IMPORT_BODY,
    )
    async def import_dcc(request: Request) -> dict[str, Any]:
        caller = caller_of(request)
        store.require_admin(caller)  # before the body is read: a large list is not parsed
        body = await json_body(request)
        return await run_in_threadpool(store.import_dcc, caller, body)

    @r.put(
        "/v1/international-trust/shc",
        summary="Replace the SMART Health Card issuers with a VCI directory snapshot (admin)",
        responses=problem_responses(422),
        openapi_extra=_IMPORT_BODY,
    )
    async def import_shc(request: Request) -> dict[str, Any]:
        caller = caller_of(request)
        store.require_admin(caller)
        body = await json_body(request)
        return await run_in_threadpool(store.import_shc, caller, body)

    @r.put(
        "/v1/international-trust/dcc-revocation",
        summary="Replace the EU DCC revocation batches with the gateway's (admin)",
        responses=problem_responses(422),
        openapi_extra=_IMPORT_BODY,
    )
    async def import_dcc_revocation(request: Request) -> dict[str, Any]:
        caller = caller_of(request)
        store.require_admin(caller)
        body = await json_body(request)
        return await run_in_threadpool(store.import_dcc_revocation, caller, body)

    return r
