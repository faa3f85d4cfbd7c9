"""纠错: a citizen disputes a record about a subject, staff read it (audited) and decide.

An accepted itinerary correction voids the stay it names; an accepted appeal against a manual
colour (kind ``override``, naming the override) lifts it for that person (``overrides.py``);
either way the subject is assessed again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from yimatong.adapters import translog
from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.database import inserted_id
from yimatong.adapters.db.tables import corrections, stays
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from yimatong.issuer.overrides import OverrideUseCases

__all__ = ["CorrectionUseCases"]

_REVIEW = "correction review"


class CorrectionUseCases(OverrideUseCases):
    """Submit, read, list and decide corrections."""

    def submit_correction(
        self, caller: Caller, sid: str, *, kind: str, target_id: int | None, statement: str
    ) -> dict[str, Any]:
        """纠错: the citizen disputes a record; staff decide."""
        now = self.clock()
        statement = statement.strip()
        if not 1 <= len(statement) <= 2000:
            raise InvalidInput("statement must be 1 to 2000 characters", field="statement")
        if kind not in ("itinerary", "override", "other"):
            raise InvalidInput("kind must be itinerary, override or other", field="kind")
        with self.db.uow() as uow:
            conn = uow.conn
            access = self._access(conn, caller, sid, action="correction.add")
            if kind == "itinerary":
                if not access.itinerary:
                    raise Forbidden("correcting the itinerary needs the person's itinerary grant")
                if target_id is None:
                    raise InvalidInput(
                        "an itinerary correction names the record", field="target_id"
                    )
                owner = conn.execute(
                    # By sid too: on PostgreSQL the key of stays leads with it (partitions.py).
                    select(stays.c.sid).where(
                        stays.c.sid == sid, stays.c.id == target_id, stays.c.voided_at.is_(None)
                    )
                ).first()
                if owner is None or owner.sid != sid:
                    raise NotFound("no such itinerary record for this person")
            if kind == "override" and (
                target_id is None or not self.override_of(conn, target_id, sid)
            ):
                # An appeal names the manual colour (its id, shown on the person's page).
                raise NotFound("no such manual colour in force for this person")
            new_id = inserted_id(
                conn.execute(
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
                )
            )
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
                try:  # a proxy removed since loses sight of it too
                    self._access(uow.conn, caller, row.sid)
                except NotFound:
                    raise NotFound("no such correction") from None
            elif caller.role in ("staff", "admin"):
                # The region's staff review corrections; a health authority is not one of them.
                self._audit(uow.conn, caller, "correction.read", row.sid, _REVIEW, self.clock())
            else:
                raise Forbidden("this needs one of the roles: citizen, staff, admin")
            uow.commit()
        return _correction_view(row)

    def pending_corrections(self, caller: Caller) -> list[dict[str, Any]]:
        """The pending corrections, oldest first; the listing is a read of each person's."""
        require_role(caller, "staff", "admin")
        now = self.clock()
        with self.db.uow() as uow:
            rows = uow.conn.execute(
                select(corrections)
                .where(corrections.c.status == "pending")
                .order_by(corrections.c.created_at)
                .limit(500)
            ).all()
            audit(uow.conn, caller, "correction.list", (r.sid for r in rows), _REVIEW, now)
            uow.commit()
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
                conn.execute(
                    update(stays)
                    .where(stays.c.sid == row.sid, stays.c.id == row.target_id)
                    .values(voided_at=now)
                )
            if accept and row.kind == "override" and row.target_id is not None:
                self.lift_override(conn, row.target_id, row.sid, now)
            self._audit(conn, caller, "correction.decide", row.sid, note[:200], now)
            self.reassess(conn, row.sid, now)
            # Public: that a correction was decided, and how; not whose, nor the note.
            translog.append(
                conn,
                "correction.decided",
                now,
                by=translog.actor(caller),
                correction=correction_id,
                correction_kind=row.kind,
                decision="accepted" if accept else "rejected",
            )
            uow.commit()
        return self.get_correction(caller, correction_id)


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
