"""Routes of Mode 2 at the hub: verify any region's code; convert it to a national code.

``POST /v1/codes/verify`` is a checkpoint's hot path, so (like the issuer's 验码) it reads its
body raw with orjson and runs on the event loop (``CodeService.averify``): the wait of up to
``STATUS_TIMEOUT`` for a native issuer is awaited on a pooled async client, not held by a
thread of the pool, and only database work goes to a worker thread.

``POST /v1/codes/convert`` is public (possession of a valid code is the proof, and the answer
shows only what the code already shows), so it is limited per client address, or per
credential for a caller that has one (``CodeService.convert``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from yimatong.credentials import Caller
from yimatong.domain.edge import check_text
from yimatong.domain.errors import InvalidInput
from yimatong.edge_types import Region
from yimatong.hub.codes import CodeService
from yimatong.hub.context import HubContext
from yimatong.issuer.api import caller_of
from yimatong.web_common import (
    ORJSONResponse,
    client_address,
    json_body,
    problem_responses,
)

__all__ = ["ConvertRequest", "HubVerifyRequest", "router"]

#: Longest code accepted (YMT1 codes are capped at 2,560 characters by the wire format).
MAX_CODE = 2560
_REGION = re.compile(r"[0-9]{6}")
_PLACE_KIND = re.compile(r"[a-z][a-z_-]{0,15}")


class HubVerifyRequest(BaseModel):
    """The body of the hub's 验码 (documented here; parsed by hand on the hot path)."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=MAX_CODE)
    at_region: Region | None = None
    temperature: float | None = Field(default=None, ge=30, le=45)
    place_kind: str | None = Field(default=None, pattern=r"^[a-z][a-z_-]{0,15}$")
    #: for whom a node asks (an issuer relaying its checkpoint page's call): for the audit log
    checkpoint: str | None = Field(default=None, min_length=1, max_length=120)


class ConvertRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=MAX_CODE)


def _parse_verify(
    body: Any,
) -> tuple[str, str | None, float | None, str | None, str | None]:
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="code")
    unknown = set(body) - set(HubVerifyRequest.model_fields)
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    code = body.get("code")
    if not isinstance(code, str) or not code or len(code) > MAX_CODE:
        raise InvalidInput(f"code must be a string of at most {MAX_CODE} characters", field="code")
    at_region = body.get("at_region")
    if at_region is not None and not (isinstance(at_region, str) and _REGION.fullmatch(at_region)):
        raise InvalidInput("at_region must be a six-digit region code", field="at_region")
    temperature = body.get("temperature")
    if temperature is not None:
        if (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not math.isfinite(temperature)
            or not 30 <= temperature <= 45
        ):
            raise InvalidInput("temperature must be a number from 30 to 45", field="temperature")
        temperature = float(temperature)
    place_kind = body.get("place_kind")
    if place_kind is not None and not (
        isinstance(place_kind, str) and _PLACE_KIND.fullmatch(place_kind)
    ):
        raise InvalidInput("place_kind must be a short lower-case word", field="place_kind")
    checkpoint = body.get("checkpoint")
    if checkpoint is not None:
        if not isinstance(checkpoint, str) or not 0 < len(checkpoint) <= 120:
            raise InvalidInput(
                "checkpoint must be a name of 1 to 120 characters", field="checkpoint"
            )
        check_text(checkpoint, "checkpoint")  # an InvalidInput naming the field
    return code, at_region, temperature, place_kind, checkpoint


def router(ctx: HubContext, service: CodeService | None = None) -> APIRouter:
    """The Mode 2 routes on ``service`` (whose ``aclose`` the node calls when it stops)."""
    r = APIRouter(default_response_class=ORJSONResponse, tags=["mode 2"])
    service = service or CodeService(ctx)

    @r.post(
        "/v1/codes/verify",
        summary="验码 for any region's code: current colour, reasons and a masked identity",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": HubVerifyRequest.model_json_schema()}},
            }
        },
        responses=problem_responses(503),
    )
    async def verify(request: Request) -> Response:
        caller = caller_of(request)
        code, at_region, temperature, place_kind, checkpoint = _parse_verify(
            await json_body(request)
        )
        result = await service.averify(
            caller,
            code,
            at_region=at_region,
            temperature=temperature,
            place_kind=place_kind,
            checkpoint=checkpoint,
        )
        return ORJSONResponse(result)

    @r.post(
        "/v1/codes/convert",
        summary="Convert any valid regional code into a national code (signed by the hub)",
        responses=problem_responses(429, 503),
    )
    def convert(body: ConvertRequest, request: Request) -> Response:
        caller: Caller | None = request.state.caller
        return ORJSONResponse(
            service.convert(body.code, caller=caller, client=client_address(request))
        )

    return r
