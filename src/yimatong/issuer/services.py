"""The issuer node's use cases (GB/T 38963 service list).

Each public method is one use case: it takes the caller and plain values, opens a unit of
work, commits on a visible line and returns plain data. Routes in ``api.py`` only parse and
map errors. Time comes from ``clock`` and randomness from ``rng``, so tests are exact.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from yimatong.adapters import keystore
from yimatong.adapters.crypto import FieldCipher, SigningKey
from yimatong.adapters.db.database import Database
from yimatong.adapters.db.risk import RiskCache, risk_changes, set_risk_period
from yimatong.adapters.db.tables import (
    assessments,
    audit_log,
    case_facts,
    contact_facts,
    corrections,
    declarations,
    links,
    quarantine_orders,
    stays,
    subjects,
    summaries,
    sync_state,
    test_results,
)
from yimatong.adapters.wire.code import Keyring, encode_code, verify_code_at
from yimatong.credentials import Caller, require_role
from yimatong.domain import identity
from yimatong.domain.assessment import Assessment, RuleSet, assess_at
from yimatong.domain.errors import (
    Conflict,
    Forbidden,
    InvalidCode,
    InvalidInput,
    NotFound,
    Unavailable,
)
from yimatong.domain.facts import (
    CaseFact,
    CaseStatus,
    Colour,
    ContactFact,
    ContactKind,
    Declaration,
    QuarantineOrder,
    RiskLevel,
    SharedSummary,
    Stay,
    StaySource,
    SubjectFacts,
    TestOutcome,
    TestResult,
)
from yimatong.domain.regions import Divisions
from yimatong.domain.token import CodeKind, new_claims
from yimatong.issuer.accounts import PhoneBook, normalise_phone

__all__ = ["CHINA_TZ", "IssuerService", "Status", "TravelLeg", "set_risk_period"]

log = logging.getLogger("yimatong.issuer")

#: Birth dates and "today" for document checks are reckoned in Beijing time.
CHINA_TZ = timezone(timedelta(hours=8), "CST")
#: How many relatives one account may act for (代办), as Beijing allowed.
MAX_RELATIVES = 4
KEYRING_TTL = 5.0


@dataclass(frozen=True)
class Status:
    """An assessment and since when the subject has had its colour."""

    assessment: Assessment
    colour_since: datetime

    def view(self) -> dict[str, Any]:
        body = self.assessment.to_dict()
        body["colour_since"] = self.colour_since
        return body


@dataclass(frozen=True)
class TravelLeg:
    area: str
    arrived: datetime
    left: datetime | None = None


class IssuerService:
    def __init__(
        self,
        *,
        region: str,
        db: Database,
        cipher: FieldCipher,
        federation_secret: bytes,
        phonebook: PhoneBook,
        ruleset: RuleSet,
        divisions: Divisions,
        clock: Callable[[], datetime],
        retention: timedelta = timedelta(days=30),
    ) -> None:
        self.region = region
        self.db = db
        self.cipher = cipher
        self.secret = federation_secret
        self.phonebook = phonebook
        self.ruleset = ruleset
        self.divisions = divisions
        self.clock = clock
        self.retention = retention
        self._lock = threading.Lock()
        self._signing = keystore.SigningKeyCache(cipher)
        self._keyring: tuple[float, Keyring] | None = None
        self._risk = RiskCache()
        #: called after a new subject is stored (the hub link fetches its national data)
        self.on_new_subject: Callable[[str], None] | None = None

    # ------------------------------------------------------------------ sign-in
    def request_otp(self, phone: str) -> None:
        with self.db.uow() as uow:
            self.phonebook.send_code(uow.conn, phone, now=self.clock())
            uow.commit()

    def open_session(self, phone: str, otp: str) -> tuple[str, datetime]:
        with self.db.uow() as uow:
            token, expires = self.phonebook.sign_in(uow.conn, phone, otp, now=self.clock())
            uow.commit()
        return token, expires

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
        """健康码调用申请: for oneself, or for a relative (代办) when ``relationship`` is set."""
        require_role(caller, "citizen")
        assert caller.account_id is not None
        now = self.clock()
        name = name.strip()
        if not 1 <= len(name) <= 64:
            raise InvalidInput("name must be 1 to 64 characters", field="name")
        try:
            doc_type = identity.DocumentType(id_type)
        except ValueError:
            valid = ", ".join(d.value for d in identity.DocumentType)
            raise InvalidInput(f"id_type must be one of {valid}", field="id_type") from None
        number = identity.validate_document(
            doc_type, id_number, today=now.astimezone(CHINA_TZ).date()
        )
        sid = identity.subject_id(self.secret, doc_type, number)
        rel = "self" if relationship is None else relationship.strip()
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
            existing = conn.execute(
                select(links.c.relationship, links.c.sid).where(
                    links.c.account_id == caller.account_id
                )
            ).all()
            if any(r.sid == sid for r in existing):
                raise Conflict("this person is already on your account")
            if rel == "self" and any(r.relationship == "self" for r in existing):
                raise Conflict("your account already has your own application")
            if rel != "self" and sum(r.relationship != "self" for r in existing) >= MAX_RELATIVES:
                raise Conflict(f"one account may act for at most {MAX_RELATIVES} relatives")
            masked_name = identity.mask_name(name)
            masked_id = identity.mask_id(number)
            aad = sid.encode()
            if conn.execute(select(subjects.c.sid).where(subjects.c.sid == sid)).first() is None:
                birth_year = None
                if doc_type is identity.DocumentType.RESIDENT_ID:
                    birth_year = int(number[6:10])
                conn.execute(
                    insert(subjects).values(
                        sid=sid,
                        region=self.region,
                        doc_type=doc_type.value,
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
            conn.execute(
                insert(links).values(
                    account_id=caller.account_id, sid=sid, relationship=rel, created_at=now
                )
            )
            uow.commit()
        if self.on_new_subject is not None:
            self.on_new_subject(sid)
        return {"sid": sid, "masked_name": masked_name, "masked_id": masked_id, "relationship": rel}

    def my_subjects(self, caller: Caller) -> list[dict[str, Any]]:
        require_role(caller, "citizen")
        with self.db.read() as conn:
            rows = conn.execute(
                select(
                    links.c.sid,
                    links.c.relationship,
                    subjects.c.masked_name,
                    subjects.c.masked_id,
                    assessments.c.colour,
                )
                .join(subjects, subjects.c.sid == links.c.sid)
                .join(assessments, assessments.c.sid == links.c.sid, isouter=True)
                .where(links.c.account_id == caller.account_id)
                .order_by(links.c.created_at)
            ).all()
        return [dict(r._mapping) for r in rows]

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
            relationship = self._authorise_citizen(uow.conn, caller, sid)
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
        return status.view()

    def add_itinerary(self, caller: Caller, sid: str, leg: TravelLeg) -> dict[str, Any]:
        """用户行程申报."""
        now = self.clock()
        leg = self._leg(leg, "itinerary", now)
        with self.db.uow() as uow:
            self._authorise_citizen(uow.conn, caller, sid)
            stay_id = self._insert_stay(uow.conn, sid, leg, StaySource.SELF, now)
            status = self.reassess(uow.conn, sid, now)
            uow.commit()
        return {"id": stay_id, "colour": status.assessment.colour.value}

    # -------------------------------------------------------------- health query
    def health(self, caller: Caller, sid: str, *, purpose: str | None) -> dict[str, Any]:
        """Health information query: the citizen for self and relatives; staff, audited."""
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            if caller.role == "citizen":
                self._authorise_citizen(conn, caller, sid)
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
        return view

    # ------------------------------------------------------------------- codes
    def generate_code(self, caller: Caller, sid: str, kind: CodeKind) -> dict[str, Any]:
        """制码: a signed YMT1 code carrying the current colour and a masked identity."""
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            self._authorise_citizen(conn, caller, sid)
            status = self.reassess(conn, sid, now)
            assessment = status.assessment
            subject = conn.execute(
                select(subjects.c.masked_name, subjects.c.masked_id).where(subjects.c.sid == sid)
            ).one()
            key = self._signing_key(conn, now)
            uow.commit()
        claims = new_claims(
            issuer=self.region,
            sid=sid,
            colour=assessment.colour,
            colour_since=status.colour_since,
            reasons=tuple(r.code for r in assessment.reasons),
            hours_since_negative_test=assessment.hours_since_negative_test,
            masked_name=subject.masked_name,
            masked_id=subject.masked_id,
            kind=kind,
            now=now,
        )
        return {
            "code": encode_code(claims, key),
            "colour": claims.colour.value,
            "kind": kind.value,
            "issued_at": claims.issued_at,
            "expires_at": claims.expires_at,
            "display": _display(claims.masked_name, claims.masked_id, claims.colour.value),
        }

    def verify(self, code: str) -> dict[str, Any]:
        """验码: signature, key and expiry offline, then the current colour from the status table.

        The hot path: one signature check, one primary-key lookup, no ORM objects.
        """
        now = self.clock()
        try:
            claims = self._verify_claims(code, now)
        except InvalidCode as exc:
            log.info("code refused: %s", exc.detail)  # the operator's reason; no code, no data
            raise
        with self.db.read() as conn:
            row = conn.execute(_STATUS_QUERY, {"sid": claims.sid}).first()
        if row is None:
            raise InvalidCode("subject unknown or purged")
        if row.review_at is not None and row.review_at <= now:
            # A recovery date has passed since the last assessment: bring the status up to date.
            with self.db.uow() as uow:
                self.reassess(uow.conn, claims.sid, now)
                uow.commit()
            with self.db.read() as conn:
                row = conn.execute(_STATUS_QUERY, {"sid": claims.sid}).one()
        body = row.body
        return {
            "valid": True,
            "issuer": claims.issuer,
            "kind": claims.kind.value,
            "colour": row.colour,
            "claimed_colour": claims.colour.value,
            "colour_since": row.colour_since,
            "reasons": body.get("reasons", []),
            "turns_green": body.get("turns_green"),
            "hours_since_negative_test": body.get("hours_since_negative_test"),
            "status": "online",
            "issued_at": claims.issued_at,
            "expires_at": claims.expires_at,
            "display": _display(row.masked_name, row.masked_id, row.colour),
        }

    def _verify_claims(self, code: str, now: datetime) -> Any:
        ring = self._current_keyring(force=False)
        try:
            return verify_code_at(code, ring, now)
        except InvalidCode as exc:
            if exc.detail != "unknown kid":
                raise
        # A key made a moment ago by another worker: refresh once and try again.
        return verify_code_at(code, self._current_keyring(force=True), now)

    def public_keys(self) -> dict[str, Any]:
        """The trust entries of this issuer's keys, as the hub's trust list carries them."""
        with self.db.read() as conn:
            infos = keystore.list_keys(conn, self.region)
        return {
            "issuer": self.region,
            "keys": [
                {
                    "kid": k.kid.hex(),
                    "alg": k.alg.value,
                    "public_key": base64.b64encode(k.public_der).decode("ascii"),
                    "not_before": k.not_before,
                    "not_after": k.not_after,
                    "revoked_at": k.revoked_at,
                }
                for k in infos
            ],
        }

    # -------------------------------------------------------------- corrections
    def submit_correction(
        self, caller: Caller, sid: str, *, kind: str, target_id: int | None, statement: str
    ) -> dict[str, Any]:
        """纠错: the citizen disputes a record; staff decide."""
        now = self.clock()
        statement = statement.strip()
        if not 1 <= len(statement) <= 2000:
            raise InvalidInput("statement must be 1 to 2000 characters", field="statement")
        if kind not in ("itinerary", "other"):
            raise InvalidInput("kind must be itinerary or other", field="kind")
        with self.db.uow() as uow:
            conn = uow.conn
            self._authorise_citizen(conn, caller, sid)
            if kind == "itinerary":
                if target_id is None:
                    raise InvalidInput(
                        "an itinerary correction names the record", field="target_id"
                    )
                owner = conn.execute(
                    select(stays.c.sid).where(stays.c.id == target_id, stays.c.voided_at.is_(None))
                ).first()
                if owner is None or owner.sid != sid:
                    raise NotFound("no such itinerary record for this person")
            new_id = conn.execute(
                insert(corrections).values(
                    sid=sid,
                    account_id=caller.account_id,
                    kind=kind,
                    target_id=target_id,
                    statement=statement,
                    status="pending",
                    created_at=now,
                    expires_at=now + self.retention,
                )
            ).inserted_primary_key[0]
            uow.commit()
        return self.get_correction(caller, int(new_id))

    def get_correction(self, caller: Caller, correction_id: int) -> dict[str, Any]:
        with self.db.uow() as uow:
            row = uow.conn.execute(
                select(corrections).where(corrections.c.id == correction_id)
            ).first()
            if row is None:
                raise NotFound("no such correction")
            if caller.role == "citizen":
                if row.account_id != caller.account_id:
                    raise NotFound("no such correction")
            elif caller.is_staff:
                self._audit(
                    uow.conn, caller, "correction.read", row.sid, "correction review", self.clock()
                )
            else:
                raise Forbidden("this needs one of the roles: citizen, staff")
            uow.commit()
        return _correction_view(row)

    def pending_corrections(self, caller: Caller) -> list[dict[str, Any]]:
        require_role(caller, "staff", "admin")
        with self.db.read() as conn:
            rows = conn.execute(
                select(corrections)
                .where(corrections.c.status == "pending")
                .order_by(corrections.c.created_at)
                .limit(500)
            ).all()
        return [_correction_view(r, with_statement=False) for r in rows]

    def decide_correction(
        self, caller: Caller, correction_id: int, *, accept: bool, note: str
    ) -> dict[str, Any]:
        require_role(caller, "staff", "admin")
        now = self.clock()
        note = note.strip()
        if not 1 <= len(note) <= 2000:
            raise InvalidInput("a decision needs a note of 1 to 2000 characters", field="note")
        with self.db.uow() as uow:
            conn = uow.conn
            row = conn.execute(select(corrections).where(corrections.c.id == correction_id)).first()
            if row is None:
                raise NotFound("no such correction")
            if row.status != "pending":
                raise Conflict(f"this correction was already {row.status}")
            conn.execute(
                update(corrections)
                .where(corrections.c.id == correction_id)
                .values(
                    status="accepted" if accept else "rejected",
                    decided_at=now,
                    decided_by=caller.name,
                    decision_note=note,
                )
            )
            if accept and row.kind == "itinerary":
                conn.execute(update(stays).where(stays.c.id == row.target_id).values(voided_at=now))
            self._audit(conn, caller, "correction.decide", row.sid, note[:200], now)
            self.reassess(conn, row.sid, now)
            uow.commit()
        return self.get_correction(caller, correction_id)

    # -------------------------------------------------------------- risk areas
    def set_risk_area(
        self, caller: Caller, area: str, *, level: RiskLevel, start: datetime, end: datetime | None
    ) -> dict[str, Any]:
        """Set an area's level from ``start`` (until ``end``); the history is kept."""
        require_role(caller, "authority", "admin")
        self._area(area, "code")
        if end is not None and end <= start:
            raise InvalidInput("to must be after from", field="to")
        with self.db.uow() as uow:
            version = set_risk_period(uow.conn, area, level, start, end, caller.name)
            uow.commit()
        return {"area": area, "level": level.value, "from": start, "to": end, "version": version}

    def risk_areas(self, since: int = 0) -> dict[str, Any]:
        with self.db.read() as conn:
            return risk_changes(conn, since)

    def data_age(self, now: datetime) -> dict[str, Any]:
        """How fresh the national data behind assessments is (None: this node has no hub)."""
        with self.db.read() as conn:
            row = conn.execute(
                select(sync_state.c.synced_at, sync_state.c.error).where(
                    sync_state.c.name == "feed"
                )
            ).first()
        if row is None or row.synced_at is None:
            return {"data_as_of": None, "data_age_seconds": None}
        return {
            "data_as_of": row.synced_at,
            "data_age_seconds": int((now - row.synced_at).total_seconds()),
            "hub_error": row.error,
        }

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
    def _authorise_citizen(self, conn: Connection, caller: Caller, sid: str) -> str:
        """The caller's relationship to ``sid``; NotFound (not Forbidden) if there is none."""
        require_role(caller, "citizen")
        row = conn.execute(
            select(links.c.relationship).where(
                links.c.account_id == caller.account_id, links.c.sid == sid
            )
        ).first()
        if row is None:
            raise NotFound("no such subject on your account")
        return str(row.relationship)

    def _audit(
        self,
        conn: Connection,
        caller: Caller,
        action: str,
        sid: str | None,
        purpose: str,
        now: datetime,
    ) -> None:
        conn.execute(
            insert(audit_log).values(
                at=now,
                actor=caller.name,
                actor_role=caller.role,
                action=action,
                sid=sid,
                purpose=purpose[:200],
            )
        )

    def _area(self, code: str, field: str) -> str:
        try:
            self.divisions.validate_area(code)
        except InvalidInput as exc:
            raise type(exc)(exc.message, field=field) from None
        return code

    def _area_name(self, code: str) -> str:
        try:
            return " ".join(r.name for r in reversed(self.divisions.ancestors(code)))
        except InvalidInput:
            return code

    def _leg(self, leg: TravelLeg, field: str, now: datetime) -> TravelLeg:
        self._area(leg.area, f"{field}.area")
        if leg.arrived > now + timedelta(minutes=5):
            raise InvalidInput("a stay cannot begin in the future", field=f"{field}.from")
        if leg.left is not None and leg.left < leg.arrived:
            raise InvalidInput("a stay cannot end before it begins", field=f"{field}.to")
        return leg

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
        return int(result.inserted_primary_key[0])

    def _facts(self, conn: Connection, sid: str, now: datetime) -> SubjectFacts:
        decl = conn.execute(
            select(declarations)
            .where(declarations.c.sid == sid)
            .order_by(declarations.c.declared_at.desc())
            .limit(20)
        ).all()
        stay_rows = conn.execute(
            select(stays.c.area, stays.c.arrived, stays.c.left_at, stays.c.source).where(
                stays.c.sid == sid, stays.c.voided_at.is_(None)
            )
        ).all()
        tests = conn.execute(select(test_results).where(test_results.c.sid == sid)).all()
        cases = conn.execute(select(case_facts).where(case_facts.c.sid == sid)).all()
        contacts = conn.execute(select(contact_facts).where(contact_facts.c.sid == sid)).all()
        orders = conn.execute(select(quarantine_orders).where(quarantine_orders.c.sid == sid)).all()
        shared = conn.execute(
            select(summaries).where(summaries.c.sid == sid, summaries.c.region != self.region)
        ).all()
        return SubjectFacts(
            declarations=tuple(
                Declaration(
                    declared_at=d.declared_at,
                    temperature=d.temperature,
                    symptoms=tuple(d.symptoms),
                    residence=d.residence,
                    contact_with_case=d.contact_with_case,
                    proxy_relationship=d.proxy_relationship,
                )
                for d in decl
            ),
            stays=tuple(
                Stay(area=s.area, arrived=s.arrived, left=s.left_at, source=StaySource(s.source))
                for s in stay_rows
            ),
            tests=tuple(
                TestResult(
                    sampled_at=t.sampled_at,
                    reported_at=t.reported_at,
                    outcome=TestOutcome(t.outcome),
                    lab=t.lab,
                )
                for t in tests
            ),
            cases=tuple(CaseFact(status=CaseStatus(c.status), since=c.since) for c in cases),
            contacts=tuple(
                ContactFact(kind=ContactKind(c.kind), last_exposure=c.last_exposure)
                for c in contacts
            ),
            quarantines=tuple(
                QuarantineOrder(start=q.starts_at, end=q.ends_at, kind=q.kind) for q in orders
            ),
            summaries=tuple(
                SharedSummary(
                    region=m.region,
                    colour=Colour(m.colour),
                    reasons=tuple(m.reasons),
                    assessed_at=m.assessed_at,
                )
                for m in shared
            ),
        )

    def reassess(self, conn: Connection, sid: str, now: datetime) -> Status:
        """Assess ``sid`` from its facts and store the result as the online status.

        A new colour is marked for sharing with the hub (``pushed_at`` cleared), and
        ``review_at`` records when the colour may change with no new fact, so the sync loop
        (and 验码) can reassess on time.
        """
        assessment = assess_at(
            self._facts(conn, sid, now), self._risk.load(conn), self.ruleset, now
        )
        columns = (assessments.c.colour, assessments.c.colour_since)
        prior = conn.execute(select(*columns).where(assessments.c.sid == sid)).first()
        values: dict[str, Any] = {
            "colour": assessment.colour.value,
            "colour_since": now,
            "assessed_at": now,
            "ruleset": f"{self.ruleset.id}@{self.ruleset.version}",
            "body": assessment.to_dict(),
            "review_at": _review_at(assessment, now),
        }
        if prior is None:
            conn.execute(insert(assessments).values(sid=sid, pushed_at=None, **values))
        else:
            if prior.colour == assessment.colour.value:
                values["colour_since"] = prior.colour_since
            else:
                values["pushed_at"] = None
            conn.execute(update(assessments).where(assessments.c.sid == sid).values(**values))
        return Status(assessment, values["colour_since"])

    def _signing_key(self, conn: Connection, now: datetime) -> SigningKey:
        key = self._signing.get(conn, region=self.region, now=now)
        if key is None:
            raise Unavailable("this issuer has no active signing key; run `yimatong keys new`")
        return key

    def _current_keyring(self, *, force: bool) -> Keyring:
        now = time.monotonic()
        cached = self._keyring
        if cached is not None and not force and cached[0] > now:
            return cached[1]
        with self._lock, self.db.read() as conn:
            ring = keystore.keyring(conn, self.region)
        self._keyring = (now + KEYRING_TTL, ring)
        return ring


def _review_at(assessment: Assessment, now: datetime) -> datetime | None:
    """The next moment the colour may change by itself: a recovery date or a lapse."""
    turn = assessment.turns_green
    if turn is None:
        return None
    times = [t for t in (turn.not_before, turn.lapses_at) if t is not None and t > now]
    return min(times) if times else now + timedelta(hours=1)


def _display(masked_name: str, masked_id: str, colour: str) -> dict[str, str]:
    labels = {"green": ("绿码", "green"), "yellow": ("黄码", "yellow"), "red": ("红码", "red")}
    zh, en = labels[colour]
    return {"masked_name": masked_name, "masked_id": masked_id, "colour_zh": zh, "colour_en": en}


def _correction_view(row: Any, *, with_statement: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "subject": row.sid,
        "kind": row.kind,
        "target_id": row.target_id,
        "status": row.status,
        "created_at": row.created_at,
        "decided_at": row.decided_at,
        "decision_note": row.decision_note,
    }
    if with_statement:
        view["statement"] = row.statement
    return view


_STATUS_QUERY = (
    select(
        assessments.c.colour,
        assessments.c.colour_since,
        assessments.c.body,
        assessments.c.review_at,
        subjects.c.masked_name,
        subjects.c.masked_id,
    )
    .join(subjects, subjects.c.sid == assessments.c.sid)
    .where(assessments.c.sid == bindparam("sid"))
)
