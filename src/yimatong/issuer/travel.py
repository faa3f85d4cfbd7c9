"""The travel code (行程码) at the issuer: the view (``GET /v1/subjects/{sid}/travel``) and the
signed code (``POST /v1/travel-codes``); docs/travel.md.

Built by ``domain.travel.travel_record`` from the subject's live stays (declared itineraries,
checkpoint scans from the hub's feed, departmental stays) and this node's risk map, as of now.

Who sees what:

- the person themself: the cities and, finer, the places inside each (district or street as
  recorded) — their own data, not audited;
- a proxy (代办) with the itinerary grant: the cities only, audited as a read of the person's
  data; without the grant: nothing (403 says which grant is missing);
- staff, an authority or an administrator: the cities only, with a stated purpose, audited.

The signed code carries the cities (never the places), their stars as of issue, the kinds of
sources and the masked identity; a checkpoint shows it beside the health code, never instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from yimatong.adapters.db.tables import stays, subjects
from yimatong.adapters.wire.travel_code import encode_travel_code
from yimatong.credentials import Caller
from yimatong.domain.errors import Forbidden, InvalidInput, NotFound
from yimatong.domain.facts import Stay, StaySource
from yimatong.domain.travel import (
    TRAVEL_LIFETIME,
    TravelRecord,
    claims_of,
    source_kind,
    travel_record,
)
from yimatong.issuer.codes import CodeUseCases

__all__ = ["TravelUseCases", "travel_view"]


def travel_view(record: TravelRecord, area_name: Any) -> dict[str, Any]:
    """A travel record as the API answers it (``area_name``: code → full name)."""
    return {
        "as_of": record.as_of,
        "window_start": record.window_start,
        "window_days": record.params.window.days,
        "min_stay_minutes": int(record.params.min_stay.total_seconds() // 60),
        "starred": record.starred,
        "cities": [
            {
                "city": c.city,
                "name": area_name(c.city),
                "shown": area_name(c.city).split(" ")[-1] + ("*" if c.starred else ""),
                "starred": c.starred,
                "star_level": c.star_level.value if c.star_level else None,
                "minutes": c.minutes,
                "first": c.first,
                "last": c.last,
                "sources": [{"source": s.value, "kind": source_kind(s)} for s in c.sources],
                **(
                    {
                        "places": [
                            {
                                "area": p.area,
                                "name": area_name(p.area),
                                "minutes": p.minutes,
                                "first": p.first,
                                "last": p.last,
                                "level": p.level.value,
                                "sources": [
                                    {"source": s.value, "kind": source_kind(s)} for s in p.sources
                                ],
                            }
                            for p in c.places
                        ]
                    }
                    if c.places
                    else {}
                ),
            }
            for c in record.cities
        ],
    }


class TravelUseCases(CodeUseCases):
    """The travel code: ``travel`` (the view) and ``travel_code`` (signed)."""

    def travel(self, caller: Caller, sid: str, *, purpose: str | None) -> dict[str, Any]:
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            fine = False
            if caller.role == "citizen":
                access = self._access(conn, caller, sid)
                if not access.itinerary:
                    raise Forbidden("the travel code needs the itinerary grant of this person")
                if not access.is_self:
                    why = f"代办 ({access.relationship})"
                    self._audit(conn, caller, "travel.read", sid, why, now)
                fine = access.is_self
            elif caller.role in ("staff", "authority", "admin"):
                if not purpose or not purpose.strip():
                    raise InvalidInput(
                        "staff must state the purpose of reading a person's data", field="purpose"
                    )
                self._audit(conn, caller, "travel.read", sid, purpose.strip(), now)
            else:
                raise Forbidden("this needs one of the roles: citizen, staff, authority, admin")
            if conn.execute(select(subjects.c.sid).where(subjects.c.sid == sid)).first() is None:
                raise NotFound("no such subject")
            record = self._travel_record(conn, sid, now, fine=fine)
            uow.commit()
        view = travel_view(record, self._area_name)
        view["sid"] = sid
        view["view"] = "places" if fine else "cities"
        return view

    def travel_code(self, caller: Caller, sid: str) -> dict[str, Any]:
        """A signed travel code (``YMTT1:``) for the person or a proxy with the itinerary grant."""
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            access = self._access(conn, caller, sid, action="travel.code")
            if not access.itinerary:
                raise Forbidden("the travel code needs the itinerary grant of this person")
            subject = conn.execute(
                select(subjects.c.masked_name, subjects.c.masked_id).where(subjects.c.sid == sid)
            ).one()
            record = self._travel_record(conn, sid, now, fine=False)
            key = self._signing_key(conn, now)
            uow.commit()
        claims = claims_of(
            record,
            issuer=self.region,
            sid=sid,
            masked_name=subject.masked_name,
            masked_id=subject.masked_id,
            lifetime=TRAVEL_LIFETIME,
        )
        view = travel_view(record, self._area_name)
        return {
            "code": encode_travel_code(claims, key),
            "kind": "travel",
            "issued_at": claims.issued_at,
            "expires_at": claims.expires_at,
            "starred": claims.starred,
            "cities": view["cities"],
            "display": {"masked_name": subject.masked_name, "masked_id": subject.masked_id},
        }

    def _travel_record(
        self, conn: Connection, sid: str, now: datetime, *, fine: bool
    ) -> TravelRecord:
        params = self.travel_params
        since = now - params.window
        rows = conn.execute(
            select(stays.c.area, stays.c.arrived, stays.c.left_at, stays.c.source).where(
                stays.c.sid == sid,
                stays.c.voided_at.is_(None),
                stays.c.arrived <= now,
                or_(stays.c.left_at.is_(None), stays.c.left_at >= since),
            )
        ).all()
        found = [Stay(r.area, r.arrived, r.left_at, StaySource(r.source)) for r in rows]
        risk = self._risk.load(conn)
        return travel_record(found, risk, now, self.divisions, params=params, fine=fine)
