"""People without phones: a checkpoint types an ID number; the hub asks the holder's issuer.

``POST /v1/lookups`` (role ``checkpoint``) {"id_type", "id_number", "at_region"?,
"temperature"?, "place_kind"?, "checkpoint"?}. The hub validates the number, derives the
``sid`` (the number goes no further than the hub), and asks the issuers that hold that person
(``subject_regions``; when none is known, the issuer of the province a resident ID number was
issued in) for the masked current status — ``POST /v1/subjects/{sid}/lookup`` on a native
issuer, in-process for a region the hub hosts. The issuer audits the read with the checkpoint's
name. If several issuers hold the person, the worst colour stands. The answer has the shape of
Mode 2's 验码 (``kind`` = ``lookup``), plus the decision under ``at_region``'s policy.

Legacy issuers cannot be asked by ``sid``; a person known only there shows their card instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import select

from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.tables import subject_regions
from yimatong.adapters.hubclient import NodeClient
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import InvalidInput, NotFound, Unavailable, YimatongError
from yimatong.domain.identity import DocumentType, subject_id, validate_document
from yimatong.hub.context import HubContext
from yimatong.hub.policies import PolicyDecider
from yimatong.issuer.lookup import checkpoint_lookup

__all__ = ["LOOKUP_TIMEOUT", "SubjectLookup"]

log = logging.getLogger("yimatong.hub")

LOOKUP_TIMEOUT = 1.5
_CHINA = timezone(timedelta(hours=8))
_SEVERITY = {"green": 0, "yellow": 1, "red": 2}


class SubjectLookup:
    def __init__(self, ctx: HubContext, decider: PolicyDecider | None = None) -> None:
        self.ctx = ctx
        self.decider = decider
        self._http: httpx.Client | None = None

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def lookup(
        self,
        caller: Caller,
        *,
        id_type: str,
        id_number: str,
        at_region: str | None = None,
        temperature: float | None = None,
        place_kind: str | None = None,
        checkpoint: str | None = None,
        client: str = "unknown",
    ) -> dict[str, Any]:
        """The masked status of the holder of a document, from their issuer (audited here).

        Limited per checkpoint credential and per client address (``lookup.credential``,
        ``lookup.address``): a checkpoint cannot walk the space of ID numbers. Every look-up
        of a valid number leaves a row in the hub's audit log (the sid, never the number),
        and the issuer that answers audits it again with the checkpoint's name.
        """
        require_role(caller, "checkpoint", "node")
        # A node asks for one of its own checkpoints (an issuer's relay): it must say which,
        # and each of its checkpoints is limited as a checkpoint of the hub is.
        if caller.role == "node" and not checkpoint:
            raise InvalidInput(
                "a node's look-up names the checkpoint it asks for", field="checkpoint"
            )
        limited = f"{caller.name}/{checkpoint}" if caller.role == "node" else caller.name
        limits = self.ctx.limits
        limits.hit("lookup.credential", limited, what="look-ups by this checkpoint")
        limits.hit("lookup.address", client, what="look-ups from this address")
        who = f"{caller.name} ({checkpoint})" if checkpoint else caller.name
        result = self.status(
            caller, id_type=id_type, id_number=id_number, who=who, purpose="checkpoint lookup"
        )
        scope = caller.scope if caller.scope and len(caller.scope) == 6 else None
        decide_at = at_region or scope
        if self.decider is not None and decide_at is not None:
            result["decision"] = self.decider(
                result,
                at_region=decide_at,
                place_kind=place_kind,
                temperature=temperature,
                now=result["status_checked_at"],
            )
        return result

    def status(
        self, caller: Caller, *, id_type: str, id_number: str, who: str, purpose: str
    ) -> dict[str, Any]:
        """The masked status of a document's holder, audited here as ``purpose: who`` and by
        the issuer that answers. The caller's role and limits are its user's to check."""
        try:
            doc_type = DocumentType(id_type)
        except ValueError:
            raise InvalidInput("id_type is not a known document type", field="id_type") from None
        now = self.ctx.clock()
        number = validate_document(doc_type, id_number, today=now.astimezone(_CHINA).date())
        sid = subject_id(self.ctx.federation_secret, doc_type, number)
        with self.ctx.db.uow() as uow:
            audit(uow.conn, caller, "lookup.id_number", [sid], f"{purpose}: {who}", now)
            uow.commit()
        answers = []
        failures = 0
        for region in self._holders(sid, doc_type, number):
            try:
                answer = self._ask(region, sid, who)
            except NotFound:
                continue
            except YimatongError as exc:
                log.warning("lookup at issuer %s failed: %s", region, type(exc).__name__)
                failures += 1
                continue
            if answer is not None:
                answers.append((region, answer))
        if not answers:
            if failures:
                raise Unavailable("the issuer that holds this person could not be asked now")
            raise NotFound("no health code is on record for this document")
        region, best = max(answers, key=lambda a: _SEVERITY.get(str(a[1].get("colour")), 2))
        row = self.ctx.registry.issuer(region)
        result: dict[str, Any] = {
            "valid": True,
            "issuer": region,
            "issuer_kind": row.kind,
            "kind": "lookup",
            "sid": sid,
            "colour": best["colour"],
            "colour_since": best.get("colour_since"),
            "reasons": list(best.get("reasons") or []),
            "hours_since_negative_test": best.get("hours_since_negative_test"),
            "display": dict(best["display"]),
            "status": "online",
            "status_checked_at": now,
        }
        return result

    def masked(self, sid: str, who: str) -> tuple[list[str], Mapping[str, Any] | None]:
        """The regions that hold ``sid`` and the masked identity and status the first of them
        answers (None if none could); the issuer audits the read as ``who``. For tracing:
        the caller has audited its own read already."""
        with self.ctx.db.read() as conn:
            regions = sorted(
                conn.execute(
                    select(subject_regions.c.region).where(subject_regions.c.sid == sid)
                ).scalars()
            )
        for region in regions:
            try:
                answer = self._ask(region, sid, who)
            except YimatongError as exc:
                log.warning("masked identity at issuer %s failed: %s", region, type(exc).__name__)
                continue
            if answer is not None:
                return regions, answer
        return regions, None

    def _holders(self, sid: str, doc_type: DocumentType, number: str) -> list[str]:
        with self.ctx.db.read() as conn:
            regions = [
                r.region
                for r in conn.execute(
                    select(subject_regions.c.region).where(subject_regions.c.sid == sid)
                ).all()
            ]
        if not regions and doc_type is DocumentType.RESIDENT_ID:
            regions = [number[:2] + "0000"]  # the province the number was issued in
        return regions

    def _ask(self, region: str, sid: str, who: str) -> Mapping[str, Any] | None:
        try:
            row = self.ctx.registry.issuer(region)
        except NotFound:
            return None
        if row.status != "active" or row.kind not in ("native", "hosted"):
            return None
        hosted = self.ctx.hosted_services.get(region)
        if hosted is not None:
            return checkpoint_lookup(
                hosted.service, Caller(role="node", name="hub"), sid, checkpoint=who
            )
        if not row.endpoint:
            return None
        client = NodeClient(
            row.endpoint,
            self.ctx.registry.outbound_token(row),
            client=self._client(row.endpoint),
            timeout=LOOKUP_TIMEOUT,
            name=f"issuer {region}",
        )
        answer = client.post_json(f"/v1/subjects/{sid}/lookup", {"checkpoint": who[:100]})
        if not isinstance(answer, Mapping) or answer.get("colour") not in _SEVERITY:
            raise Unavailable(f"issuer {region} gave an answer the hub cannot read")
        shown = answer.get("display")
        if not isinstance(shown, Mapping) or not isinstance(shown.get("masked_name"), str):
            raise Unavailable(f"issuer {region} gave an answer the hub cannot read")
        return answer

    def _client(self, endpoint: str) -> httpx.Client:
        if self.ctx.clients is not None:
            return self.ctx.clients(endpoint)
        if self._http is None:
            self._http = httpx.Client(timeout=LOOKUP_TIMEOUT)
        return self._http
