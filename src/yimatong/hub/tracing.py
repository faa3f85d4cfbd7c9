"""Contact tracing (流调) at the hub: ``POST /v1/tracing/queries`` (docs/travel.md).

Why the hub. Scans reach the hub from every region's checkpoints (``POST /v1/scans``); an
issuer mirrors only the scans of its *own* subjects. A case's contacts are whoever scanned at
the same place, from any region — the Guizhou traveller at a Hangzhou station gate is in no
Zhejiang issuer's tables — so only the hub holds both sides. It keeps them pseudonymous and
indexed by place and time in ``scan_places`` (one row per scan feed row, written in the same
transaction; on PostgreSQL partitioned by day, so a query reads only the days it covers).

A query (role ``authority``, with a stated purpose): the case (its pseudonym, or a document the
hub turns into one and drops), a period (default the last 14 days), a window (default
``YMT_TRACE_WINDOW_MINUTES``, ±30). The case's scans in the period at places inside the
authority's region are read by ``(sid, at)``; then every other scan in the same area within
the window of one of them, by ``(area, at)``, in one statement (a UNION ALL of ranges) per
200 case scans; then the case's rail and aviation legs in the period (the departments'
manifests, ``department_records``) that departed or arrived inside the authority's region, and
every other passenger's leg on the same trips, by the ``trip`` index; the domain
(``domain/tracing.py``) keeps the evidence — a scan near the case's, a seat in the same carriage
or within ``seat_rows`` rows (``YMT_TRACE_SEAT_ROWS``, 3) — and scores each candidate.

Identities are pseudonymous here (the hub never holds a name): each candidate carries its
``sid`` — what ``POST /v1/facts`` takes to confirm it as a close or secondary contact — the
regions that hold the person, and, for the best ``MAX_IDENTIFIED``, the *masked* name and ID
and current colour from the holder's issuer (which audits that read too). The full identity
stays at the issuer, for its staff to read (audited) when a confirmed contact must be reached.

Every query is written to the hub's audit log with its purpose, for the case and for every
candidate it returned (``tracing.query``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select, union_all

from yimatong.adapters.db.audit import audit
from yimatong.adapters.db.tables import department_records, scan_places, subject_regions
from yimatong.credentials import Caller, require_role
from yimatong.domain.errors import InvalidInput
from yimatong.domain.identity import DocumentChecks, Pseudonyms
from yimatong.domain.tracing import Candidate, Evidence, Leg, ScanPoint, score_candidates
from yimatong.hub.context import HubContext
from yimatong.hub.data import resolve_sid
from yimatong.hub.data_risk import area_within
from yimatong.hub.lookup import SubjectLookup

__all__ = [
    "DEFAULT_PERIOD",
    "MAX_CANDIDATES",
    "MAX_CASE_SCANS",
    "MAX_IDENTIFIED",
    "ContactTracing",
    "candidate_rows",
    "case_trips",
    "trip_rows",
]

DEFAULT_PERIOD = timedelta(days=14)
MAX_PERIOD = timedelta(days=31)
MAX_CASE_SCANS = 2000
MAX_CANDIDATES = 1000
MAX_IDENTIFIED = 50
_CHUNK = 200


def candidate_rows(
    conn: Any, case: str, scans: Sequence[ScanPoint], window: timedelta, now: datetime
) -> list[ScanPoint]:
    """Every other live scan in the area of one of ``scans`` within ``window`` of it.

    One statement per ``_CHUNK`` case scans: a UNION ALL of ``area = ? AND at BETWEEN ? AND
    ?``, each answered by the ``(area, at)`` index (and, on PostgreSQL, only in the day
    partitions its range touches). Used by the tracing query and by ``yimatong bench trace``.
    """
    found: list[ScanPoint] = []
    for i in range(0, len(scans), _CHUNK):
        part = scans[i : i + _CHUNK]
        params: dict[str, Any] = {"case": case, "now": now}
        for j, s in enumerate(part):
            params.update({f"a{j}": s.area, f"lo{j}": s.at - window, f"hi{j}": s.at + window})
        rows = conn.execute(_ranges(len(part)), params).all()
        found.extend(ScanPoint(r.sid, r.at, r.area, r.checkpoint) for r in rows)
    return found


@functools.lru_cache(maxsize=_CHUNK + 1)
def _ranges(n: int) -> Any:
    """The candidate statement for ``n`` ranges, built once per ``n`` (building it cost more
    than running it): a UNION ALL of one indexed range each, so that on PostgreSQL each branch
    is pruned to the day partitions its own range touches (an OR of ranges is not pruned
    range by range: every partition of the period would probe every range)."""
    columns = (scan_places.c.sid, scan_places.c.at, scan_places.c.area, scan_places.c.checkpoint)
    branches = [
        select(*columns).where(
            scan_places.c.area == bindparam(f"a{j}"),
            scan_places.c.at >= bindparam(f"lo{j}", type_=scan_places.c.at.type),
            scan_places.c.at <= bindparam(f"hi{j}", type_=scan_places.c.at.type),
            scan_places.c.sid != bindparam("case"),
            scan_places.c.expires_at > bindparam("now", type_=scan_places.c.expires_at.type),
        )
        for j in range(n)
    ]
    return branches[0] if n == 1 else union_all(*branches)


def case_trips(
    conn: Any, sid: str, start: datetime, end: datetime, now: datetime
) -> list[tuple[Leg, tuple[str | None, str | None]]]:
    """The case's live rail and aviation legs departing in ``[start, end]``, each with its
    departure and arrival areas (``sid, starts_at`` index)."""
    r = department_records.c
    rows = conn.execute(
        select(r.trip, r.carriage, r.seat, r.seat_row, r.starts_at, r.ends_at, r.from_area, r.area)
        .where(
            r.sid == sid,
            r.kind.in_(("rail", "aviation")),
            r.starts_at >= start,
            r.starts_at <= end,
            r.expires_at > now,
        )
        .order_by(r.starts_at)
        .limit(MAX_CASE_SCANS)
    ).all()
    return [
        (
            Leg(sid, x.trip, x.carriage, x.seat, x.seat_row, x.starts_at, x.ends_at),
            (x.from_area, x.area),
        )
        for x in rows
    ]


def trip_rows(conn: Any, sid: str, legs: Sequence[Leg], now: datetime, seat_rows: int) -> list[Leg]:
    """Every other passenger's live leg that can be evidence against one of ``legs``: on a
    train, in its carriage; on a flight, within ``seat_rows`` rows (by the ``trip`` index)."""
    r = department_records.c
    near = []
    for leg in legs[:_CHUNK]:
        if leg.trip.startswith("rail:"):
            if leg.carriage is not None:
                near.append(and_(r.trip == leg.trip, r.carriage == leg.carriage))
        elif leg.seat_row is not None:
            lo, hi = leg.seat_row - seat_rows, leg.seat_row + seat_rows
            near.append(and_(r.trip == leg.trip, r.seat_row.between(lo, hi)))
    if not near:
        return []
    rows = conn.execute(
        select(r.sid, r.trip, r.carriage, r.seat, r.seat_row, r.starts_at, r.ends_at).where(
            or_(*near), r.sid != sid, r.expires_at > now
        )
    ).all()
    return [
        Leg(x.sid, x.trip, x.carriage, x.seat, x.seat_row, x.starts_at, x.ends_at) for x in rows
    ]


def _evidence(e: Any) -> dict[str, Any]:
    """One piece of evidence as the answer gives it: a scan near the case's, or a seat near the
    case's on the same trip."""
    if isinstance(e, Evidence):
        return {
            "kind": "scan",
            "case_at": e.case_at,
            "at": e.at,
            "area": e.area,
            "checkpoint": e.checkpoint,
            "case_checkpoint": e.case_checkpoint,
            "minutes_apart": e.minutes_apart,
            "same_checkpoint": e.same_checkpoint,
            "weight": e.weight,
        }
    source, number, day = e.trip.split(":", 2)
    return {
        "kind": source,  # rail | aviation
        "trip": number,
        "date": day,
        "departs_at": e.departs,
        "arrives_at": e.arrives,
        "carriage": e.carriage,
        "seat": e.seat,
        "case_carriage": e.case_carriage,
        "case_seat": e.case_seat,
        "same_carriage": e.same_carriage,
        "rows_apart": e.rows_apart,
        "weight": e.weight,
    }


class ContactTracing:
    def __init__(self, ctx: HubContext, lookup: SubjectLookup | None = None) -> None:
        self.ctx = ctx
        self.lookup = lookup

    def query(
        self,
        caller: Caller,
        *,
        purpose: str,
        subject: str | None = None,
        id_type: str | None = None,
        id_number: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        window_minutes: int | None = None,
        seat_rows: int | None = None,
        identify: bool = True,
    ) -> dict[str, Any]:
        require_role(caller, "authority")
        purpose = " ".join(purpose.split())
        if not purpose:
            raise InvalidInput("a tracing query states its purpose", field="purpose")
        now = self.ctx.clock()
        sid = resolve_sid(
            Pseudonyms(self.ctx.federation_secret),
            DocumentChecks(now.date()),
            subject=subject,
            id_type=id_type,
            id_number=id_number,
            where="case",
        )
        end = end or now
        start = start or end - DEFAULT_PERIOD
        if start >= end:
            raise InvalidInput("from must be before to", field="from")
        if end - start > MAX_PERIOD:
            raise InvalidInput(f"a query covers at most {MAX_PERIOD.days} days", field="from")
        minutes = window_minutes or self.ctx.settings.trace_window_minutes
        if not 1 <= minutes <= 240:
            raise InvalidInput("window_minutes must be 1 to 240", field="window_minutes")
        window = timedelta(minutes=minutes)
        rows_near = self.ctx.settings.trace_seat_rows if seat_rows is None else seat_rows
        if not 0 <= rows_near <= 30:
            raise InvalidInput("seat_rows must be 0 to 30", field="seat_rows")
        started = time.perf_counter()
        with self.ctx.db.uow() as uow:
            conn = uow.conn
            rows = conn.execute(
                select(scan_places.c.at, scan_places.c.area, scan_places.c.checkpoint)
                .where(
                    scan_places.c.sid == sid,
                    scan_places.c.at >= start,
                    scan_places.c.at <= end,
                    scan_places.c.expires_at > now,
                )
                .order_by(scan_places.c.at)
                .limit(MAX_CASE_SCANS + 1)
            ).all()
            if len(rows) > MAX_CASE_SCANS:
                raise InvalidInput(
                    f"the case has more than {MAX_CASE_SCANS} scans in the period: narrow it",
                    field="from",
                )
            case_scans = [
                ScanPoint(sid, r.at, r.area, r.checkpoint)
                for r in rows
                if area_within(r.area, caller.scope)
            ]
            others = candidate_rows(conn, sid, case_scans, window, now)
            case_legs = [
                leg
                for leg, areas in case_trips(conn, sid, start, end, now)
                if any(area_within(a, caller.scope) for a in areas if a)
            ]
            found = score_candidates(
                sid,
                case_scans,
                others,
                window=window,
                case_legs=case_legs,
                other_legs=trip_rows(conn, sid, case_legs, now, rows_near),
                seat_rows=rows_near,
            )
            truncated = len(found) > MAX_CANDIDATES
            found = found[:MAX_CANDIDATES]
            took = time.perf_counter() - started
            holders: dict[str, list[str]] = {}
            wanted = [c.sid for c in found]
            for i in range(0, len(wanted), 500):
                for row in conn.execute(
                    select(subject_regions.c.sid, subject_regions.c.region)
                    .where(subject_regions.c.sid.in_(wanted[i : i + 500]))
                    .order_by(subject_regions.c.region)
                ):
                    holders.setdefault(row.sid, []).append(row.region)
            audit(conn, caller, "tracing.query", [sid, *(c.sid for c in found)], purpose, now)
            uow.commit()
        who = f"流调 {caller.name}: {purpose}"[:100]
        return {
            "case": sid,
            "from": start,
            "to": end,
            "window_minutes": minutes,
            "seat_rows": rows_near,
            "scope": caller.scope,
            "case_scans": [
                {"at": s.at, "area": s.area, "checkpoint": s.checkpoint} for s in case_scans
            ],
            "case_trips": [
                {
                    "trip": leg.trip,
                    "carriage": leg.carriage,
                    "seat": leg.seat,
                    "departs_at": leg.departs,
                    "arrives_at": leg.arrives,
                }
                for leg in case_legs
            ],
            "candidates": [
                self._candidate(c, holders.get(c.sid, []), who, identify and i < MAX_IDENTIFIED)
                for i, c in enumerate(found)
            ],
            "truncated": truncated,
            "query_ms": round(took * 1000, 2),
        }

    def _candidate(
        self, c: Candidate, holders: list[str], who: str, identify: bool
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sid": c.sid,
            "score": c.score,
            "last_exposure": c.last_exposure,
            "evidence": [_evidence(e) for e in c.evidence],
            "holders": holders,
            "identity": None,
        }
        if identify and self.lookup is not None and holders:
            _regions, answer = self.lookup.masked(c.sid, who)
            if answer is not None:
                shown = answer.get("display") or {}
                out["identity"] = {
                    "issuer": answer.get("issuer"),
                    "masked_name": shown.get("masked_name"),
                    "masked_id": shown.get("masked_id"),
                    "colour": answer.get("colour"),
                }
        return out
