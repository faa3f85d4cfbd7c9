"""The link between the hub and the regions it hosts (Mode 3), without a network hop.

A hosted region is an issuer like any other, so it runs the same ``HubLink`` rounds as a
native issuer: it shares its colours (Mode 1), registers its subjects, mirrors the national
feed and the risk areas. Its hub is the process it lives in, so instead of HTTP to its own
public address (which the hub may not know) the link calls the hub's use cases directly,
as a node credential scoped to the hosted region would — same checks, same answers.

Keys are the exception: the hosted keystore lives in the hub's own process, so the link's key
step is the hub's ``HostedRegions.sync_keys`` (``HubLink(sync_keys=...)``), not the key routes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson

from yimatong.credentials import Caller
from yimatong.domain.edge import parse_time, parse_time_or_none
from yimatong.domain.errors import NotFound
from yimatong.hub.context import HubContext
from yimatong.hub.data import NationalData, Summary
from yimatong.hub.data_risk import RiskAreas
from yimatong.web_common import json_default

__all__ = ["InProcessHub"]


def _plain(value: Any) -> Any:
    """What the same answer would look like after a trip through JSON."""
    return orjson.loads(orjson.dumps(value, default=json_default))


def _time(value: Any, field: str) -> datetime | None:
    """What the hub's HTTP edge would make of a time in the body (the shared parser)."""
    return parse_time_or_none(value, field)


class InProcessHub:
    """The part of ``NodeClient`` a ``HubLink`` uses, answered by the hub's own services."""

    def __init__(self, ctx: HubContext, region: str) -> None:
        self.ctx = ctx
        self.region = region
        self.caller = Caller(role="node", name=f"hosted-{region}", scope=region)
        self._data = NationalData(ctx)
        self._risk = RiskAreas(ctx)
        self.base_url = f"in-process hub for {region}"

    def close(self) -> None:
        return None

    def get_json(self, path: str, *, params: dict[str, Any] | None = None, **_: Any) -> Any:
        params = params or {}
        since = int(params.get("since", 0))
        if path == "/v1/trust-list":
            return _plain(self.ctx.registry.trust_list(since)[1])
        if path == "/v1/risk-areas":
            return _plain(self._risk.signed_list(since)[1])
        if path == "/v1/feed":
            limit = int(params.get("limit", 1000))
            return _plain(self._data.feed(self.caller, since, limit))
        raise NotFound(f"no in-process route for GET {path}")

    def post_json(self, path: str, body: Any, **_: Any) -> Any:
        if path == "/v1/summaries":
            summaries = [
                Summary(
                    sid=s["sid"],
                    colour=s["colour"],
                    reasons=tuple(s.get("reasons", ())),
                    colour_since=_time(s.get("colour_since"), "colour_since"),
                    assessed_at=parse_time(s["assessed_at"], "assessed_at"),
                )
                for s in body["summaries"]
            ]
            return _plain(self._data.add_summaries(self.caller, summaries))
        if path == "/v1/subjects/register":
            return _plain(self._data.register_subjects(self.caller, list(body["sids"])))
        if path == "/v1/log/read-digests":
            return _plain(
                self.ctx.translog.add_read_digest(
                    self.caller,
                    day=date.fromisoformat(body["day"]),
                    reads=int(body["reads"]),
                    by_role=body["by_role"],
                    sha256=body["sha256"],
                )
            )
        if path == "/v1/log/witness":
            return _plain(
                self.ctx.translog.witness(
                    self.caller, body["head"], list(body.get("consistency_path", []))
                )
            )
        raise NotFound(f"no in-process route for POST {path}")

    def request(self, method: str, path: str, **_: Any) -> Any:
        raise NotFound(f"no in-process route for {method} {path}")
