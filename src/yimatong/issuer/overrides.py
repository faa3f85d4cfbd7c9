"""人工赋码 under 四眼原则: manual colours that the rules did not give, and who may make them.

The rules of ``domain/overrides.py`` at the issuer: a member of the health authority asks for
an override (a colour, a reason from the closed list, a note, an expiry, and for each person the
recorded fact it rests on); a *different* member of the authority approves it; if the people
overridden in this region within the hour would then exceed ``override_hourly_limit``, it waits
for the hub's authority, whose signed approval (``POST /v1/overrides/approvals`` at the hub)
is brought here. Only then does it take effect: it is appended to this issuer's transparency
log (``override.applied``: what, why, how many, a digest of who — never names) and its people
are assessed again. The people see it on their page with its reason and can appeal (a
correction of kind ``override``); an accepted appeal lifts it for that person
(``override.lifted``).

The facts an override may rest on are the ones the hub took from a health authority or a
signed lab and this issuer mirrored (their feed ``seq`` is the row's ``origin``): a case,
contact, quarantine order or test of that very person, not yet expired. A checkpoint scan, a
declared stay or anything typed in is not such a fact, so no list of people can be coloured
with nothing behind it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, update

from yimatong.adapters import translog
from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.database import inserted_id
from yimatong.adapters.db.tables import (
    case_facts,
    contact_facts,
    override_subjects,
    overrides,
    quarantine_orders,
    subjects,
    test_results,
)
from yimatong.adapters.signed import BadDocument, verify_document
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from yimatong.domain.facts import TestOutcome
from yimatong.domain.overrides import (
    FACT_KINDS,
    REASONS,
    check_approver,
    check_request,
    needs_hub,
    sids_digest,
)
from yimatong.domain.regions import area_prefix
from yimatong.issuer.core import IssuerCore

__all__ = ["OverrideSubject", "OverrideUseCases"]

_FACT_TABLES: dict[str, Table] = {
    "case": case_facts,
    "contact": contact_facts,
    "quarantine": quarantine_orders,
    "test": test_results,
}
#: How many subjects a reassessment takes at once (one transaction each).
_CHUNK = 2000
#: The most missing facts a refusal names.
_NAMED = 5


@dataclass(frozen=True, slots=True)
class OverrideSubject:
    """One person of an override and the recorded fact under them."""

    sid: str
    fact_kind: str
    fact_seq: int


class OverrideUseCases(IssuerCore):
    """Ask for, approve, refuse and list overrides; the hub's approval; lift on appeal."""

    def _override_staff(self, caller: Caller) -> None:
        require_role(caller, "authority")
        if caller.scope and not self.region.startswith(area_prefix(caller.scope)):
            raise Forbidden(f"this credential's scope {caller.scope} is not {self.region}")

    # ------------------------------------------------------------------ ask
    def request_override(
        self,
        caller: Caller,
        *,
        colour: str,
        reason: str,
        note: str,
        expires_at: datetime,
        people: Sequence[OverrideSubject],
    ) -> dict[str, Any]:
        """A member of the health authority asks; nothing changes until another approves."""
        self._override_staff(caller)
        now = self.clock()
        wanted, found = check_request(
            colour=colour,
            reason=reason,
            note=note,
            expires_at=expires_at,
            subjects=len(people),
            now=now,
        )
        seen: set[str] = set()
        for i, p in enumerate(people):
            if p.sid in seen:
                raise InvalidInput(f"subjects[{i}] names a person twice", field=f"subjects[{i}]")
            seen.add(p.sid)
            if p.fact_kind not in found.facts:
                raise InvalidInput(
                    f"subjects[{i}]: {reason} rests on a recorded "
                    f"{' or '.join(found.facts)} fact, not on {p.fact_kind!r}"
                    f" (an override rests on a fact a health authority or a signed lab"
                    f" recorded through the hub: {', '.join(FACT_KINDS)})",
                    field=f"subjects[{i}].fact",
                )
        with self.db.uow() as uow:
            conn = uow.conn
            # Whether each person has the fact named is a read of their data: audited, and
            # kept even when the request is refused (a refusal names who lacks one).
            purpose = f"人工赋码申请 manual colour asked: {reason}"
            audit(conn, caller, "override.request", (p.sid for p in people), purpose, now)
            try:
                self._check_people(conn, people, reason, now)
            except InvalidInput:
                uow.commit()
                raise
            oid = inserted_id(
                conn.execute(
                    insert(overrides).values(
                        colour=wanted.value,
                        reason=reason,
                        note=note.strip(),
                        status="pending",
                        subjects=len(people),
                        sids_sha256=sids_digest(p.sid for p in people),
                        requested_by=caller.name,
                        requested_at=now,
                        expires_at=expires_at,
                    )
                )
            )
            conn.execute(
                insert(override_subjects),
                [
                    {
                        "override_id": oid,
                        "sid": p.sid,
                        "fact_kind": p.fact_kind,
                        "fact_seq": p.fact_seq,
                        "expires_at": expires_at + self.retention,
                    }
                    for p in people
                ],
            )
            uow.commit()
        return self.get_override(caller, int(oid))

    def _check_people(
        self, conn: Connection, people: Sequence[OverrideSubject], reason: str, now: datetime
    ) -> None:
        """Every person is this issuer's, and has the recorded fact the request names."""
        sids = [p.sid for p in people]
        known: set[str] = set()
        for start in range(0, len(sids), _CHUNK):
            part = sids[start : start + _CHUNK]
            known.update(
                conn.execute(select(subjects.c.sid).where(subjects.c.sid.in_(part))).scalars()
            )
        present: set[tuple[str, str, int]] = set()
        by_kind: dict[str, list[OverrideSubject]] = {}
        for p in people:
            by_kind.setdefault(p.fact_kind, []).append(p)
        for kind, group in by_kind.items():
            table = _FACT_TABLES[kind]
            for start in range(0, len(group), _CHUNK):
                chunk = group[start : start + _CHUNK]
                query = select(table.c.sid, table.c.origin).where(
                    table.c.origin.in_([p.fact_seq for p in chunk]),
                    table.c.sid.in_([p.sid for p in chunk]),
                    table.c.expires_at > now,
                )
                if kind == "test" and reason == "positive_test":
                    query = query.where(table.c.outcome == TestOutcome.POSITIVE.value)
                present.update((kind, r.sid, int(r.origin)) for r in conn.execute(query))
        missing = [
            i
            for i, p in enumerate(people)
            if p.sid not in known or (p.fact_kind, p.sid, p.fact_seq) not in present
        ]
        if missing:
            named = ", ".join(f"subjects[{i}]" for i in missing[:_NAMED])
            more = f" and {len(missing) - _NAMED} more" if len(missing) > _NAMED else ""
            raise InvalidInput(
                f"no recorded fact under {named}{more}: each person needs a fact of theirs that"
                " a health authority or a signed lab recorded through the hub (its feed seq)",
                field=f"subjects[{missing[0]}].fact",
            )

    # ------------------------------------------------------------- decide
    def approve_override(self, caller: Caller, override_id: int) -> dict[str, Any]:
        """The second member of staff approves; above the hourly limit the hub must too."""
        self._override_staff(caller)
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            row = self._pending(conn, override_id, "pending")
            check_approver(row.requested_by, caller.name)
            if row.expires_at <= now:
                raise Conflict("this override expired before it was approved")
            conn.execute(
                update(overrides)
                .where(overrides.c.id == override_id)
                .values(approved_by=caller.name, approved_at=now)
            )
            recent = conn.execute(
                select(func.coalesce(func.sum(overrides.c.subjects), 0)).where(
                    overrides.c.status == "active",
                    overrides.c.effective_at > now - timedelta(hours=1),
                )
            ).scalar_one()
            if needs_hub(int(recent), row.subjects, self.override_hourly_limit):
                conn.execute(
                    update(overrides)
                    .where(overrides.c.id == override_id)
                    .values(status="awaiting_hub")
                )
                uow.commit()
                return self.get_override(caller, override_id)
            self._activate(conn, row, caller, now, hub=None)
            uow.commit()
        self._reassess_override(override_id, now)
        return self.get_override(caller, override_id)

    def hub_approval(
        self, caller: Caller, override_id: int, document: dict[str, Any]
    ) -> dict[str, Any]:
        """The hub's signed approval of an override that waits for it."""
        self._override_staff(caller)
        now = self.clock()
        keys = self.hub_keys()
        if not keys:
            raise Unavailable("this issuer does not know the hub's keys yet (no hub link)")
        try:
            payload = verify_document(document, keys)
        except BadDocument as exc:
            raise InvalidInput(f"not the hub's approval: {exc}", field="approval") from None
        with self.db.uow() as uow:
            conn = uow.conn
            row = self._pending(conn, override_id, "awaiting_hub")
            expected = {"type": "override-approval", **_hub_request(row, self.region)}
            differs = sorted(k for k, v in expected.items() if payload.get(k) != v)
            if differs:
                raise InvalidInput(
                    f"the hub approved another override (differs in {', '.join(differs)})",
                    field="approval",
                )
            if row.expires_at <= now:
                raise Conflict("this override expired before the hub approved it")
            self._activate(conn, row, caller, now, hub=document)
            uow.commit()
        self._reassess_override(override_id, now)
        return self.get_override(caller, override_id)

    def refuse_override(self, caller: Caller, override_id: int, *, note: str) -> dict[str, Any]:
        """Refused by another member of staff, or withdrawn by the one who asked."""
        self._override_staff(caller)
        now = self.clock()
        note = note.strip()
        if not 1 <= len(note) <= 500:
            raise InvalidInput("a refusal needs a note of 1 to 500 characters", field="note")
        with self.db.uow() as uow:
            conn = uow.conn
            row = self._pending(conn, override_id, "pending", "awaiting_hub")
            status = "withdrawn" if row.requested_by == caller.name else "refused"
            conn.execute(
                update(overrides)
                .where(overrides.c.id == override_id)
                .values(status=status, decided_at=now, decision_note=note)
            )
            uow.commit()
        return self.get_override(caller, override_id)

    def _pending(self, conn: Connection, override_id: int, *states: str) -> Any:
        row = conn.execute(select(overrides).where(overrides.c.id == override_id)).first()
        if row is None:
            raise NotFound("no such override")
        if row.status not in states:
            raise Conflict(f"this override is {row.status}")
        return row

    def _activate(
        self,
        conn: Connection,
        row: Any,
        caller: Caller,
        now: datetime,
        *,
        hub: dict[str, Any] | None,
    ) -> None:
        """Put ``row`` (the override as read in this transaction) in force and log it."""
        override_id = int(row.id)
        kinds = Counter(
            conn.execute(
                select(override_subjects.c.fact_kind).where(
                    override_subjects.c.override_id == override_id
                )
            ).scalars()
        )
        index = translog.append(
            conn,
            "override.applied",
            now,
            by=translog.actor(caller),
            region=self.region,
            override=override_id,
            colour=row.colour,
            reason=row.reason,
            subjects=row.subjects,
            sids_sha256=row.sids_sha256,
            facts=dict(sorted(kinds.items())),
            requested_at=row.requested_at.isoformat(),
            expires_at=row.expires_at.isoformat(),
            hub_approved=hub is not None,
            approvals=3 if hub is not None else 2,  # asked, approved (and the hub)
        )
        conn.execute(
            update(overrides)
            .where(overrides.c.id == override_id)
            .values(status="active", effective_at=now, log_index=index, hub_approval=hub)
        )

    def _reassess_override(self, override_id: int, now: datetime) -> None:
        with self.db.read() as conn:
            sids = list(
                conn.execute(
                    select(override_subjects.c.sid)
                    .where(override_subjects.c.override_id == override_id)
                    .order_by(override_subjects.c.sid)
                ).scalars()
            )
        for start in range(0, len(sids), _CHUNK):
            with self.db.uow() as uow:
                self.reassess_many(uow.conn, sids[start : start + _CHUNK], now)
                uow.commit()

    def lift_override(self, conn: Connection, override_id: int, sid: str, now: datetime) -> None:
        """An accepted appeal: the override no longer applies to ``sid`` (in ``conn``)."""
        done = conn.execute(
            update(override_subjects)
            .where(
                override_subjects.c.override_id == override_id,
                override_subjects.c.sid == sid,
                override_subjects.c.lifted_at.is_(None),
            )
            .values(lifted_at=now)
        ).rowcount
        if done:
            translog.append(
                conn,
                "override.lifted",
                now,
                region=self.region,
                override=override_id,
                subjects=1,
                sids_sha256=sids_digest([sid]),
                why="appeal accepted",
            )

    def override_of(self, conn: Connection, override_id: int, sid: str) -> bool:
        """Whether override ``override_id`` is in force for ``sid`` (an appeal names one)."""
        return (
            conn.execute(
                select(override_subjects.c.sid)
                .join(overrides, overrides.c.id == override_subjects.c.override_id)
                .where(
                    override_subjects.c.override_id == override_id,
                    override_subjects.c.sid == sid,
                    override_subjects.c.lifted_at.is_(None),
                    overrides.c.status == "active",
                )
            ).first()
            is not None
        )

    # ------------------------------------------------------------------ read
    def get_override(self, caller: Caller, override_id: int) -> dict[str, Any]:
        """An override as the authority sees it: no names, the people as pseudonyms."""
        self._override_staff(caller)
        with self.db.read() as conn:
            row = conn.execute(select(overrides).where(overrides.c.id == override_id)).first()
            if row is None:
                raise NotFound("no such override")
            return _override_view(row, self.region)

    def list_overrides(self, caller: Caller, *, status: str | None) -> list[dict[str, Any]]:
        self._override_staff(caller)
        query = select(overrides).order_by(overrides.c.id.desc()).limit(200)
        if status is not None:
            query = query.where(overrides.c.status == status)
        with self.db.read() as conn:
            return [_override_view(r, self.region) for r in conn.execute(query)]


def _hub_request(row: Any, region: str) -> dict[str, Any]:
    """What the hub's authority approves: the override as the log will show it."""
    return {
        "region": region,
        "override": int(row.id),
        "colour": row.colour,
        "reason": row.reason,
        "subjects": int(row.subjects),
        "sids_sha256": row.sids_sha256,
        "requested_at": row.requested_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
    }


def _override_view(row: Any, region: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": int(row.id),
        "status": row.status,
        "colour": row.colour,
        "reason": row.reason,
        "reason_zh": REASONS[row.reason].zh,
        "reason_en": REASONS[row.reason].en,
        "note": row.note,
        "subjects": int(row.subjects),
        "sids_sha256": row.sids_sha256,
        "requested_by": row.requested_by,
        "requested_at": row.requested_at,
        "approved_by": row.approved_by,
        "approved_at": row.approved_at,
        "effective_at": row.effective_at,
        "expires_at": row.expires_at,
        "decided_at": row.decided_at,
        "decision_note": row.decision_note,
        "log_index": row.log_index,
        "hub_approved": row.hub_approval is not None,
    }
    if row.status == "awaiting_hub":
        view["hub_request"] = _hub_request(row, region)
    return view
