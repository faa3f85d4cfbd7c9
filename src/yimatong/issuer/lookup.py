"""A checkpoint's look-up of someone without a phone, answered by the holder's issuer.

A person without a smartphone gives their ID number at the gate. The checkpoint asks the hub;
the hub turns the number into the ``sid`` and asks the issuers that hold it (as the ``node``
role, with its outbound credential). The issuer answers only what a checkpoint may see — the
current colour, reason codes and the masked identity — and writes every such read to
``audit_log`` with the checkpoint that asked: a look-up by ID number is a read of a person's
data, and the person may ask who read it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.tables import subjects
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import InvalidInput, NotFound
from yimatong.domain.identity import is_sid
from yimatong.issuer.services import IssuerService

__all__ = ["PURPOSE", "checkpoint_lookup"]

PURPOSE = "checkpoint lookup"
_COLOURS = {"green": ("绿码", "green"), "yellow": ("黄码", "yellow"), "red": ("红码", "red")}


def checkpoint_lookup(
    service: IssuerService, caller: Caller, sid: str, *, checkpoint: str
) -> dict[str, Any]:
    """POST /v1/subjects/{sid}/lookup: the masked current status of ``sid`` (audited)."""
    require_role(caller, "node")
    if not is_sid(sid):
        raise InvalidInput("sid must be 32 lower-case hex characters", field="sid")
    checkpoint = " ".join(checkpoint.split())
    if not 1 <= len(checkpoint) <= 100:
        raise InvalidInput(
            "checkpoint must name who asks (1 to 100 characters)", field="checkpoint"
        )
    now = service.clock()
    with service.db.uow() as uow:
        conn = uow.conn
        subject = conn.execute(
            select(subjects.c.masked_name, subjects.c.masked_id).where(subjects.c.sid == sid)
        ).first()
        if subject is None:
            raise NotFound("no such subject here")
        # Re-assessed now: a look-up is rare, and a colour that lapsed yesterday must not stand.
        status = service.reassess(conn, sid, now)
        audit(conn, caller, "lookup.checkpoint", [sid], f"{PURPOSE}: {checkpoint}", now)
        uow.commit()
    assessment = status.assessment
    body = assessment.to_dict()
    colour = assessment.colour.value
    zh, en = _COLOURS[colour]
    return {
        "valid": True,
        "issuer": service.region,
        "kind": "lookup",
        "sid": sid,
        "colour": colour,
        "colour_since": status.colour_since,
        "reasons": body.get("reasons", []),
        "hours_since_negative_test": assessment.hours_since_negative_test,
        "status": "online",
        "status_checked_at": now,
        "display": {
            "masked_name": subject.masked_name,
            "masked_id": subject.masked_id,
            "colour_zh": zh,
            "colour_en": en,
        },
    }
