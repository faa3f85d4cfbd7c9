"""The issuer's relay of the hub's calls for its own checkpoint pages.

A checkpoint page talks only to the node that served it. On an issuer, what the page needs of
the hub — the signed lists, Mode 2 status, look-ups by ID number, the scan upload — is reached
through this relay: a fixed allow-list of hub calls, made with the issuer's own link to the
hub (its ``node`` credential), for callers holding a credential *of this issuer* with role
``checkpoint``. Nothing else of the hub can be reached through it.

- **Lists** (trust list, risk areas, policies, international trust) are passed on byte for
  byte with their ETag: they are signed by the hub and checked in the browser against the
  pinned hub key, so the relay cannot change them (a changed list fails there).
- **Status and look-ups** name the checkpoint (``<region>/<credential name>``, and the gate)
  in the call to the hub, which audits it under the issuer's node credential with that name;
  the issuer writes its own ``audit_log`` row (``relay.code.verify``, ``relay.lookup``) with
  the checkpoint credential as the actor whenever the answer is about a person.
- **Scans** are sent with ``checkpoint`` set to the caller's credential name (a page cannot
  file scans as another checkpoint) and only for areas within this issuer's region.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.database import Database
from yimatong.adapters.hubclient import NodeClient
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import Forbidden, Unavailable

__all__ = ["LISTS", "HubRelay", "Relayed"]

#: list name → the hub's path (the only GETs the relay makes)
LISTS = {
    "trust-list": "/v1/trust-list",
    "risk-areas": "/v1/risk-areas",
    "international-trust": "/v1/international-trust",
}


@dataclass(frozen=True)
class Relayed:
    """A hub answer passed on as it came: status, body bytes, ETag."""

    status: int
    body: bytes
    etag: str | None


class HubRelay:
    def __init__(
        self,
        client: NodeClient | None,
        *,
        region: str,
        db: Database,
        clock: Callable[[], datetime],
    ) -> None:
        self.client = client
        self.region = region
        self.db = db
        self.clock = clock

    def _hub(self, caller: Caller) -> NodeClient:
        require_role(caller, "checkpoint")
        if self.client is None:
            raise Unavailable("this issuer has no link to the hub")
        return self.client

    def who(self, caller: Caller, gate: str | None = None) -> str:
        name = f"{self.region}/{caller.name}"
        return f"{name} ({gate})" if gate else name

    # ------------------------------------------------------------------ signed lists
    def signed_list(
        self, caller: Caller, path: str, *, since: int | None, etag: str | None
    ) -> Relayed:
        hub = self._hub(caller)
        response = hub.request(
            "GET",
            path,
            params={"since": since} if since is not None else None,
            headers={"If-None-Match": etag} if etag else None,
            anonymous=True,  # public documents: fetched without the node's credential
        )
        return Relayed(response.status_code, response.content, response.headers.get("etag"))

    # ------------------------------------------------------------------ reads of a person
    def verify(self, caller: Caller, body: Mapping[str, Any]) -> Any:
        hub = self._hub(caller)
        answer = hub.post_json("/v1/codes/verify", {**body, "checkpoint": self.who(caller)})
        self._audit(caller, answer, "relay.code.verify", "Mode 2 验码 through the issuer's relay")
        return answer

    def lookup(self, caller: Caller, body: Mapping[str, Any]) -> Any:
        hub = self._hub(caller)
        gate = body.get("checkpoint")
        named = {
            **body,
            "checkpoint": self.who(caller, gate if isinstance(gate, str) else None)[:60],
        }
        answer = hub.post_json("/v1/lookups", named)
        self._audit(caller, answer, "relay.lookup", "look-up by ID number through the relay")
        return answer

    def _audit(self, caller: Caller, answer: Any, action: str, purpose: str) -> None:
        sid = answer.get("sid") if isinstance(answer, dict) else None
        if not isinstance(sid, str):
            return
        with self.db.uow() as uow:
            audit(uow.conn, caller, action, [sid], f"{purpose}: {self.who(caller)}", self.clock())
            uow.commit()

    # ------------------------------------------------------------------ scans
    def scans(self, caller: Caller, scans: list[dict[str, Any]]) -> Any:
        hub = self._hub(caller)
        for i, scan in enumerate(scans):
            area = str(scan.get("area", ""))
            if not area.startswith(_prefix(self.region)):
                raise Forbidden(f"scans[{i}]: a checkpoint of {self.region} scans only within it")
        named = [{**s, "checkpoint": caller.name} for s in scans]
        return hub.post_json("/v1/scans", {"scans": named})


def _prefix(region: str) -> str:
    """The area prefix of a region: 330000 → 33, 330100 → 3301, 330106 → 330106."""
    if region.endswith("0000"):
        return region[:2]
    if region.endswith("00"):
        return region[:4]
    return region
