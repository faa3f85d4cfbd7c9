"""A citizen's subjects: 健康码 applications (for oneself or 代办 for a relative), the list of
people on an account, health declarations, itineraries, and the health information query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from yimatong.adapters.db.database import inserted_id
from yimatong.adapters.db.tables import (
    assessments,
    declarations,
    links,
    stays,
    subjects,
)
from yimatong.credentials import Caller, require_role
from yimatong.domain import edge, identity
from yimatong.domain.errors import Forbidden, InvalidInput, NotFound
from yimatong.domain.facts import Declaration, SharedSummary, StaySource, SubjectFacts
from yimatong.issuer.accounts import normalise_phone
from yimatong.issuer.core import CHINA_TZ
from yimatong.issuer.proxies import MAX_RELATIVES, ProxyUseCases, restrict_view

__all__ = ["CHINA_TZ", "MAX_RELATIVES", "SubjectUseCases", "TravelLeg"]


@dataclass(frozen=True)
class TravelLeg:
    area: str
    arrived: datetime
    left: datetime | None = None


class SubjectUseCases(ProxyUseCases):
    """健康码调用申请, 用户健康信息申报, 用户行程申报 and the health information query."""

    # ------------------------------------------------------------- applications
    def apply(
        self,
        caller: Caller,
        *,
        name: str,
        id_type: str,
        id_number: str,
        phone: str | None,
        address: str | None = None,
        relationship: str | None = None,
    ) -> dict[str, Any]:
        """健康码调用申请: for oneself, or for a relative (代办) when ``relationship`` is set.

        A person with no record yet is registered and linked (``status: linked``). A person who
        has one is linked only with their consent (``proxies``): the answer is then a pending
        link request (``status: pending``) that says nothing of the record.
        """
        require_role(caller, "citizen")
        assert caller.account_id is not None
        now = self.clock()
        name = edge.check_name(name.strip(), "name")
        if not 1 <= len(name) <= 64:
            raise InvalidInput("name must be 1 to 64 characters", field="name")
        doc_type, number, sid = self._document(id_type, id_number, now)
        rel = (
            "self"
            if relationship is None
            else edge.check_text(relationship.strip(), "relationship")
        )
        if not rel or len(rel) > 32:
            raise InvalidInput("relationship must be 1 to 32 characters", field="relationship")
        with self.db.uow() as uow:
            conn = uow.conn
            own_phone = self.phonebook.account_phone(conn, caller.account_id)
            if rel == "self":
                if phone is not None and normalise_phone(phone) != own_phone:
                    raise InvalidInput(
                        "for yourself, use the phone you signed in with", field="phone"
                    )
                phone = own_phone
            elif phone is not None:
                phone = normalise_phone(phone)
            self._check_room(conn, caller.account_id, sid, rel, now)
            if conn.execute(select(subjects.c.sid).where(subjects.c.sid == sid)).first():
                # Someone's record already: what was typed in is not used, and not compared.
                view = self._link_existing(conn, caller, sid, rel, own_phone, now)
                uow.commit()
                self.phonebook.outbox.deliver(now=now)  # a consent code, if one was queued
                return view
            masked_name = identity.mask_name(name)
            masked_id = identity.mask_id(number)
            aad = sid.encode()
            birth_year = None
            if doc_type == identity.DocumentType.RESIDENT_ID.value:
                birth_year = int(number[6:10])
            conn.execute(
                insert(subjects).values(
                    sid=sid,
                    region=self.region,
                    doc_type=doc_type,
                    enc_name=self.cipher.encrypt(name, aad=aad),
                    enc_id_number=self.cipher.encrypt(number, aad=aad),
                    enc_phone=self.cipher.encrypt(phone, aad=aad) if phone else None,
                    enc_address=self.cipher.encrypt(address, aad=aad) if address else None,
                    masked_name=masked_name,
                    masked_id=masked_id,
                    birth_year=birth_year,
                    created_at=now,
                    expires_at=now + self.retention,
                )
            )
            self.reassess(conn, sid, now)
            self._insert_link(conn, caller.account_id, sid, rel, "registered", now)
            uow.commit()
        if self.on_new_subject is not None:
            self.on_new_subject(sid)
        return {
            "status": "linked",
            "sid": sid,
            "masked_name": masked_name,
            "masked_id": masked_id,
            "relationship": rel,
            "consent": "registered",
        }

    def my_subjects(self, caller: Caller) -> list[dict[str, Any]]:
        require_role(caller, "citizen")
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    links.c.sid,
                    links.c.relationship,
                    links.c.consent,
                    links.c.grant_itinerary,
                    links.c.grant_tests,
                    subjects.c.masked_name,
                    subjects.c.masked_id,
                    assessments.c.colour,
                )
                .join(subjects, subjects.c.sid == links.c.sid)
                .join(assessments, assessments.c.sid == links.c.sid, isouter=True)
                .where(links.c.account_id == caller.account_id)
                .order_by(links.c.created_at)
            ).all()
        return [
            {
                "sid": r.sid,
                "relationship": r.relationship,
                "consent": r.consent,
                "grants": {
                    "itinerary": r.relationship == "self" or bool(r.grant_itinerary),
                    "tests": r.relationship == "self" or bool(r.grant_tests),
                },
                "masked_name": r.masked_name,
                "masked_id": r.masked_id,
                "colour": r.colour,
            }
            for r in rows
        ]

    # ------------------------------------------------------------ declarations
    def declare(
        self,
        caller: Caller,
        sid: str,
        *,
        temperature: float | None,
        symptoms: Sequence[str],
        travel: Sequence[TravelLeg],
        contact_with_case: bool,
        residence: str | None,
    ) -> dict[str, Any]:
        """用户健康信息申报: store the declaration and its travel, then assess again."""
        now = self.clock()
        if residence is not None:
            self._area(residence, "residence")
        legs = [self._leg(leg, f"travel[{i}]", now) for i, leg in enumerate(travel)]
        clean_symptoms = tuple(sorted({s.strip().lower() for s in symptoms if s.strip()}))
        if any(len(s) > 40 for s in clean_symptoms) or len(clean_symptoms) > 20:
            raise InvalidInput("symptoms: at most 20 words of 40 characters", field="symptoms")
        with self.db.uow() as uow:
            access = self._access(uow.conn, caller, sid, action="declaration.add")
            relationship = access.relationship
            declaration = Declaration(
                declared_at=now,
                temperature=temperature,
                symptoms=clean_symptoms,
                residence=residence,
                contact_with_case=contact_with_case,
                proxy_relationship=None if relationship == "self" else relationship,
            )
            uow.conn.execute(
                insert(declarations).values(
                    sid=sid,
                    declared_at=now,
                    temperature=declaration.temperature,
                    symptoms=list(declaration.symptoms),
                    residence=residence,
                    contact_with_case=contact_with_case,
                    proxy_relationship=declaration.proxy_relationship,
                    expires_at=now + self.retention,
                )
            )
            for leg in legs:
                self._insert_stay(uow.conn, sid, leg, StaySource.SELF, now)
            status = self.reassess(uow.conn, sid, now)
            uow.commit()
        return restrict_view(status.view(), access)

    def add_itinerary(self, caller: Caller, sid: str, leg: TravelLeg) -> dict[str, Any]:
        """用户行程申报."""
        now = self.clock()
        leg = self._leg(leg, "itinerary", now)
        with self.db.uow() as uow:
            self._access(uow.conn, caller, sid, action="itinerary.add")
            stay_id = self._insert_stay(uow.conn, sid, leg, StaySource.SELF, now)
            status = self.reassess(uow.conn, sid, now)
            uow.commit()
        return {"id": stay_id, "colour": status.assessment.colour.value}

    # -------------------------------------------------------------- health query
    def health(self, caller: Caller, sid: str, *, purpose: str | None) -> dict[str, Any]:
        """Health information query: the citizen for self and relatives; staff, audited.

        A proxy sees what its link grants (``proxies.restrict_view``), and the read is audited.
        """
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            access = None  # staff see everything, audited
            if caller.role == "citizen":
                access = self._access(conn, caller, sid, action="health.read")
            elif caller.is_staff:
                if not purpose or not purpose.strip():
                    raise InvalidInput(
                        "staff must state the purpose of reading a person's data", field="purpose"
                    )
                self._audit(conn, caller, "health.read", sid, purpose.strip(), now)
            else:
                raise Forbidden("this needs one of the roles: citizen, staff, authority, admin")
            subject = conn.execute(
                select(subjects.c.masked_name, subjects.c.masked_id).where(subjects.c.sid == sid)
            ).first()
            if subject is None:
                raise NotFound("no such subject")
            status = self.reassess(conn, sid, now)
            facts = self._facts(conn, sid, now)
            stay_rows = conn.execute(
                select(stays.c.id, stays.c.area, stays.c.arrived, stays.c.left_at, stays.c.source)
                .where(stays.c.sid == sid, stays.c.voided_at.is_(None))
                .order_by(stays.c.arrived.desc())
            ).all()
            uow.commit()
        view = status.view()
        view.update(self.data_age(now))
        view.update(
            shared=self._shared_view(facts),
            sid=sid,
            masked_name=subject.masked_name,
            masked_id=subject.masked_id,
            tests=[
                {
                    "sampled_at": t.sampled_at,
                    "reported_at": t.reported_at,
                    "outcome": t.outcome.value,
                    "lab": t.lab,
                    "hours_since_sampling": int((now - t.sampled_at).total_seconds() // 3600),
                }
                for t in sorted(facts.tests, key=lambda t: t.sampled_at, reverse=True)
            ],
            itinerary=[
                {
                    "id": r.id,
                    "area": r.area,
                    "area_name": self._area_name(r.area),
                    "arrived": r.arrived,
                    "left": r.left_at,
                    "source": r.source,
                }
                for r in stay_rows
            ],
        )
        return view if access is None else restrict_view(view, access)

    @staticmethod
    def _shared_view(facts: SubjectFacts) -> list[dict[str, Any]]:
        latest: dict[str, SharedSummary] = {}
        for m in facts.summaries:
            if m.region not in latest or m.assessed_at > latest[m.region].assessed_at:
                latest[m.region] = m
        return [
            {
                "region": m.region,
                "colour": m.colour.value,
                "reasons": list(m.reasons),
                "assessed_at": m.assessed_at,
            }
            for m in sorted(latest.values(), key=lambda m: m.region)
        ]

    # ------------------------------------------------------------------ helpers
    def _leg(self, leg: TravelLeg, field: str, now: datetime) -> TravelLeg:
        self._area(leg.area, f"{field}.area")
        arrived = edge.check_event(leg.arrived, now, f"{field}.from")
        # A stay may end later than now (a planned departure), within the same year's window.
        left = None
        if leg.left is not None:
            left = edge.check_event(leg.left, now, f"{field}.to", ahead=edge.EVENT_PAST)
        if left is not None and left < arrived:
            raise InvalidInput("a stay cannot end before it begins", field=f"{field}.to")
        return TravelLeg(leg.area, arrived, left)

    def _insert_stay(
        self, conn: Connection, sid: str, leg: TravelLeg, source: StaySource, now: datetime
    ) -> int:
        result = conn.execute(
            insert(stays).values(
                sid=sid,
                area=leg.area,
                arrived=leg.arrived,
                left_at=leg.left,
                source=source.value,
                created_at=now,
                expires_at=now + self.retention,
            )
        )
        return inserted_id(result)
