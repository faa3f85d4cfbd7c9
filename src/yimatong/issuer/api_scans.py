"""The issuer's routes for checkpoints reached through the hub: look-ups by ID number.

``POST /v1/subjects/{sid}/lookup`` is called by the hub (role ``node``) when a checkpoint types
the ID number of someone without a phone; see ``issuer/lookup.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from yimatong.edge_types import Line, Sid
from yimatong.issuer.api import caller_of
from yimatong.issuer.lookup import checkpoint_lookup
from yimatong.issuer.services import IssuerService
from yimatong.web_common import ORJSONResponse

__all__ = ["LookupRequest", "router"]


class LookupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: who asks, for the audit log: the checkpoint's name as the hub knows it
    checkpoint: Line = Field(min_length=1, max_length=100)


def router(service: IssuerService) -> APIRouter:
    r = APIRouter(default_response_class=ORJSONResponse, tags=["checkpoints"])

    @r.post(
        "/v1/subjects/{sid}/lookup",
        summary="A checkpoint's look-up by ID number, through the hub: masked status (audited)",
    )
    def lookup(
        sid: Annotated[Sid, Path()],
        body: LookupRequest,
        request: Request,
    ) -> dict[str, Any]:
        return checkpoint_lookup(service, caller_of(request), sid, checkpoint=body.checkpoint)

    return r
