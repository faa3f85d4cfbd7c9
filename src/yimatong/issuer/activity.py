"""What a person can see about the use of their own data: who checked their code, which
staff read their record, and the summaries other regions shared about them (Mode 1).

- ``checks``: the checkpoint scans that came back through the hub's feed (``stays`` with
  source ``scan``): which checkpoint (as it named itself), where (its area) and when. A
  checkpoint's read is accounted for by its scan (``codes.verify``), so this is the
  person's view of those reads.
- ``reads``: the person's rows of the audit log (when, the reader's role, the action, the
  purpose). A reader with a credential (staff, a node, an authority) is shown by the
  credential's name, which is an office's label ("西湖区窗口-01"), never a person's record; a
  reader who is a citizen (a 代办 account) is shown by its role and relationship only.
- ``shared``: the latest summary each other region shared through the hub.

A citizen reading their own activity is not audited (it is their own data). A proxy (代办)
sees the checks and the summaries only with the itinerary grant (as ``restrict_view`` cuts
the health view) and never the reads (who acts for and reads a person is the person's own
business, as ``proxies.proxies`` is); a proxy's read is audited like any other.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from yimatong.adapters.db.tables import audit_log, colour_changes, corrections, stays, tree_heads
from yimatong.credentials import Caller, require_role
from yimatong.domain.facts import StaySource
from yimatong.issuer.subjects import SubjectUseCases

__all__ = ["ACTIVITY_LIMIT", "ActivityUseCases"]

#: The newest rows of each kind an activity answer carries.
ACTIVITY_LIMIT = 200

#: Audit actions a person's own proxies cause ("代办 (母亲)" is their purpose).
_PROXY_ROLE = "citizen"


class ActivityUseCases(SubjectUseCases):
    """``activity`` (checks, reads, shared summaries) and a person's own corrections."""

    def activity(self, caller: Caller, sid: str) -> dict[str, Any]:
        """Who checked the code, who read the record, what other regions shared."""
        require_role(caller, "citizen")
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            access = self._access(conn, caller, sid, action="activity.read")
            out: dict[str, Any] = {"sid": sid, "withheld": []}
            if access.itinerary:
                scans = conn.execute(
                    select(stays.c.area, stays.c.arrived, stays.c.checkpoint)
                    .where(
                        stays.c.sid == sid,
                        stays.c.source == StaySource.SCAN.value,
                        stays.c.voided_at.is_(None),
                    )
                    .order_by(stays.c.arrived.desc())
                    .limit(ACTIVITY_LIMIT)
                ).all()
                out["checks"] = [
                    {
                        "at": r.arrived,
                        "area": r.area,
                        "area_name": self._area_name(r.area),
                        "checkpoint": r.checkpoint,
                    }
                    for r in scans
                ]
                out["shared"] = self._shared_view(self._facts(conn, sid, now))
            else:
                out["withheld"] += ["checks", "shared"]
            if access.is_self:
                rows = conn.execute(
                    select(
                        audit_log.c.at,
                        audit_log.c.actor,
                        audit_log.c.actor_role,
                        audit_log.c.action,
                        audit_log.c.purpose,
                    )
                    .where(audit_log.c.sid == sid)
                    .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
                    .limit(ACTIVITY_LIMIT)
                ).all()
                out["reads"] = [
                    {
                        "at": r.at,
                        "role": r.actor_role,
                        # A citizen account (a proxy) is never named: its role and purpose say it.
                        "reader": None if r.actor_role == _PROXY_ROLE else r.actor,
                        "action": r.action,
                        "purpose": r.purpose,
                    }
                    for r in rows
                ]
            else:
                out["withheld"].append("reads")
            if access.is_self:
                out["colours"] = self._colour_history(conn, sid)
            else:
                out["withheld"].append("colours")
            uow.commit()
        return out

    def _colour_history(self, conn: Connection, sid: str) -> list[dict[str, Any]]:
        """Each change of the person's colour, newest first, with what it came from: the rules'
        reasons (rule and event time) and any manual colour, linked to its entry in this
        issuer's transparency log and the inclusion proof of that entry."""
        size = conn.execute(select(func.max(tree_heads.c.tree_size))).scalar() or 0
        rows = conn.execute(
            select(
                colour_changes.c.at,
                colour_changes.c.colour_from,
                colour_changes.c.colour_to,
                colour_changes.c.ruleset,
                colour_changes.c.reasons,
            )
            .where(colour_changes.c.sid == sid)
            .order_by(colour_changes.c.at.desc(), colour_changes.c.id.desc())
            .limit(ACTIVITY_LIMIT)
        ).all()
        out = []
        for r in rows:
            reasons = r.reasons if isinstance(r.reasons, list) else json.loads(r.reasons)
            manual = []
            for reason in reasons:
                detail = reason.get("detail") or {}
                if not str(reason.get("code", "")).startswith("override."):
                    continue
                index = detail.get("log_index")
                manual.append(
                    {
                        "override": detail.get("override"),
                        "reason": reason["code"].removeprefix("override."),
                        "fact": {"kind": detail.get("fact_kind"), "seq": detail.get("fact_seq")},
                        "expires_at": detail.get("expires_at"),
                        "log": self.translog.log_id,
                        "log_index": index,
                        # In a signed head yet: the proof against the newest one.
                        "inclusion_proof": (
                            f"/v1/log/proof/inclusion?index={index}&size={size}"
                            if index is not None and index < size
                            else None
                        ),
                    }
                )
            out.append(
                {
                    "at": r.at,
                    "colour_from": r.colour_from,
                    "colour_to": r.colour_to,
                    "ruleset": r.ruleset,
                    "reasons": [
                        {k: reason.get(k) for k in ("code", "rule_id", "colour", "since")}
                        for reason in reasons
                    ],
                    "overrides": manual,
                }
            )
        return out

    def my_corrections(self, caller: Caller, sid: str) -> list[dict[str, Any]]:
        """The corrections this account submitted for ``sid``, newest first, with their status."""
        require_role(caller, "citizen")
        with self.db.read() as conn:
            self._access(conn, caller, sid)
            rows = conn.execute(
                select(
                    corrections.c.id,
                    corrections.c.kind,
                    corrections.c.target_id,
                    corrections.c.status,
                    corrections.c.created_at,
                    corrections.c.decided_at,
                    corrections.c.decision_note,
                )
                .where(corrections.c.sid == sid, corrections.c.account_id == caller.account_id)
                .order_by(corrections.c.created_at.desc(), corrections.c.id.desc())
                .limit(ACTIVITY_LIMIT)
            ).all()
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "target_id": r.target_id,
                "status": r.status,
                "created_at": r.created_at,
                "decided_at": r.decided_at,
                "decision_note": r.decision_note,
            }
            for r in rows
        ]
