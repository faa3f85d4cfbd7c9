"""The national risk-area list (风险地区): set by health authorities, signed, served as deltas.

Every change takes the next version of the ``risk`` counter; a batch ("sixteen cities off the
red list") is one action and one version, so a verifier that polls never sees half of it.
History is kept (``adapters.db.risk``): a period that a new setting cuts short is ended, not
deleted, because "was this street high-risk when this person was there?" is asked every day.

A provincial, city or county authority (credential scope ``330000``, ``330100``, ``330106``)
may set only codes inside its own area, checked by the code prefix; an authority without a
scope is national.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from yimatong.adapters.db.risk import (
    RiskCache,
    current_version,
    next_risk_version,
    set_risk_period,
)
from yimatong.adapters.db.tables import risk_periods
from yimatong.adapters.signed import sign_document
from yimatong.credentials import Caller, require_role
from yimatong.domain.edge import is_digits
from yimatong.domain.errors import Forbidden, InvalidInput
from yimatong.domain.facts import RiskLevel
from yimatong.domain.regions import Region, default_divisions
from yimatong.hub import translog
from yimatong.hub.context import HubContext

__all__ = [
    "MAX_BATCH",
    "MAX_FOUND",
    "RiskAreas",
    "RiskChange",
    "area_within",
    "scope_prefix",
]

#: areas one batch may change
MAX_BATCH = 5000
#: areas one search answers
MAX_FOUND = 50
#: signed documents kept (one per ``since`` asked for), and how long one is served
_CACHE_SIZE = 64
_CACHE_SECONDS = 60


@dataclass(frozen=True, slots=True)
class RiskChange:
    area: str
    level: RiskLevel
    start: datetime
    end: datetime | None = None


def scope_prefix(scope: str) -> str:
    """The code prefix that every area inside a six-digit region shares.

    ``330000`` (a province) → ``33``; ``330100`` (a city) → ``3301``; ``330106`` → ``330106``.
    """
    if not is_digits(scope, 6):
        raise Forbidden(f"this credential's scope {scope[:12]!r} is not a region code")
    if scope.endswith("0000"):
        return scope[:2]
    if scope.endswith("00"):
        return scope[:4]
    return scope


def area_within(area: str, scope: str | None) -> bool:
    """Whether ``area`` lies inside ``scope`` (None: the whole country)."""
    return scope is None or area.startswith(scope_prefix(scope))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class RiskAreas:
    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, int], tuple[datetime, dict[str, Any]]] = {}
        self._risk = RiskCache()

    # ------------------------------------------------------------------ writes
    def set_area(
        self, caller: Caller, area: str, *, level: RiskLevel, start: datetime, end: datetime | None
    ) -> dict[str, Any]:
        """PUT /v1/risk-areas/{code}: one area from ``start`` (until ``end``)."""
        change = RiskChange(area, level, start, end)
        self._check(caller, change, "code")
        with self.ctx.db.uow() as uow:
            version = set_risk_period(uow.conn, area, level, start, end, caller.name)
            _log(uow.conn, caller, version, [change], self.ctx.clock())
            uow.commit()
        return {"area": area, "level": level.value, "from": start, "to": end, "version": version}

    def set_many(
        self, caller: Caller, changes: Sequence[RiskChange], note: str | None = None
    ) -> dict[str, Any]:
        """POST /v1/risk-areas/batch: many areas in one action, one version, all or nothing."""
        if not changes:
            raise InvalidInput("a batch needs at least one change", field="changes")
        if len(changes) > MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} changes in one batch", field="changes")
        for i, change in enumerate(changes):
            self._check(caller, change, f"changes[{i}]")
        # The note says why (e.g. "16 Hubei cities off the red list"); it is kept with the
        # author in ``set_by``, which the history shows and the public list does not.
        set_by = caller.name if not note else f"{caller.name}: {note}"[:100]
        with self.ctx.db.uow() as uow:
            version = next_risk_version(uow.conn)
            for c in changes:
                set_risk_period(uow.conn, c.area, c.level, c.start, c.end, set_by, version=version)
            _log(uow.conn, caller, version, changes, self.ctx.clock())
            uow.commit()
        return {
            "version": version,
            "count": len(changes),
            "note": note,
            "changes": [
                {"area": c.area, "level": c.level.value, "from": c.start, "to": c.end}
                for c in changes
            ],
        }

    # ------------------------------------------------------------------- reads
    def version(self) -> int:
        with self.ctx.db.read() as conn:
            return current_version(conn)

    def signed_list(self, since: int = 0) -> tuple[int, dict[str, Any]]:
        """(version, signed document) of the periods written after version ``since``.

        The document of a (version, since) pair is signed once and served from memory for a
        minute or until the list moves on: every verifier polls, and most polls ask the same
        question. (``issued_at`` stays within a minute of the truth.)
        """
        now = self.ctx.clock()
        with self.ctx.db.read() as conn:
            version = current_version(conn)
            # Nothing is newer than the current version; and a signed number stays within
            # what JCS (RFC 8785) can write, whatever cursor a client sends.
            since = min(since, version)
            cached = self._cache.get((version, since))
            if cached is not None and 0 <= (now - cached[0]).total_seconds() < _CACHE_SECONDS:
                return version, cached[1]
            # Rows are bounded by the version read first: a write committed in between is
            # left for the next delta rather than counted as seen.
            rows = conn.execute(
                select(risk_periods)
                .where(risk_periods.c.version > since, risk_periods.c.version <= version)
                .order_by(risk_periods.c.id)
            ).all()
        payload = {
            "type": "risk-areas",
            "version": version,
            "since": since,
            "issued_at": now.isoformat(),
            "periods": [
                {
                    "id": r.id,
                    "area": r.area,
                    "level": r.level,
                    "from": _iso(r.effective_from),
                    "to": _iso(r.until),
                    "version": r.version,
                }
                for r in rows
            ],
        }
        document = sign_document(payload, self.ctx.hub_key())
        with self._lock:
            if any(v != version for v, _ in self._cache) or len(self._cache) >= _CACHE_SIZE:
                self._cache = {k: d for k, d in self._cache.items() if k[0] > version}
            self._cache[(version, since)] = (now, document)
        return version, document

    def find(self, caller: Caller, query: str, *, limit: int = MAX_FOUND) -> list[dict[str, Any]]:
        """Areas by code (exact, then by prefix) or by name, down to the street, each with its
        level now; an authority scoped to a region finds only areas within it."""
        require_role(caller, "admin", "authority")
        scope = caller.scope if caller.role == "authority" else None
        divisions = default_divisions()
        needle = "".join(query.split())
        if not needle or len(needle) > 40:
            return []
        found: list[Region] = []
        if needle.isascii() and needle.isdigit():
            if needle in divisions and divisions.is_current(needle):
                found.append(divisions.get(needle))
            if len(needle) >= 2:
                for region in divisions.regions():
                    if len(found) >= limit * 4:
                        break
                    if region.code.startswith(needle) and region.code != needle:
                        found.append(region)
        else:
            found = divisions.find_by_name(needle, limit=limit * 4)
        kept = [r for r in found if scope is None or area_within(r.code, scope)][:limit]
        now = self.ctx.clock()
        with self.ctx.db.read() as conn:
            risk = self._risk.load(conn)
        return [
            {
                "code": r.code,
                "name": r.name,
                "place": _place(r.code),
                "division": r.level.value,
                "level": risk.level_at(r.code, now).value,
                "governed_by": risk.governing(r.code, now),
            }
            for r in kept
        ]

    def describe(self, caller: Caller, area: str) -> dict[str, Any]:
        """One area: its level now (and which code sets it), the resolved history of its
        level, and every period set for the area itself, newest first, with who set it."""
        require_role(caller, "admin", "authority")
        region = default_divisions().validate_area(area)
        if caller.role == "authority" and not area_within(area, caller.scope):
            raise Forbidden(f"an authority of {caller.scope} sees only areas within it")
        now = self.ctx.clock()
        with self.ctx.db.read() as conn:
            risk = self._risk.load(conn)
            rows = conn.execute(
                select(risk_periods)
                .where(risk_periods.c.area == area)
                .order_by(risk_periods.c.effective_from.desc(), risk_periods.c.id.desc())
                .limit(500)
            ).all()
        return {
            "code": region.code,
            "name": region.name,
            "place": _place(region.code),
            "division": region.level.value,
            "level": risk.level_at(area, now).value,
            "governed_by": risk.governing(area, now),
            "may_set": caller.role == "authority" and area_within(area, caller.scope),
            "timeline": [
                {
                    "from": seg.start,
                    "to": seg.end,
                    "level": seg.level.value,
                    "source": seg.source,
                }
                for seg in reversed(risk.timeline(area))
            ],
            "periods": [
                {
                    "id": r.id,
                    "level": r.level,
                    "from": r.effective_from,
                    "to": r.until,
                    "set_by": r.set_by,
                    "version": r.version,
                    "cut": r.until is not None and r.until <= r.effective_from,
                }
                for r in rows
            ],
        }

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _check(caller: Caller, change: RiskChange, field: str) -> None:
        require_role(caller, "authority")
        area_field = field if field == "code" else f"{field}.area"
        try:
            default_divisions().validate_area(change.area)
        except InvalidInput as exc:
            raise type(exc)(exc.message, field=area_field) from None
        if not area_within(change.area, caller.scope):
            raise Forbidden(
                f"an authority of {caller.scope} may set only areas within it, not {change.area}"
            )
        if change.end is not None and change.end <= change.start:
            raise InvalidInput(
                "to must be after from", field="to" if field == "code" else f"{field}.to"
            )


def _log(
    conn: Connection, caller: Caller, version: int, changes: Sequence[RiskChange], now: datetime
) -> None:
    """One log entry per risk-list version: every change in it (the batch's note stays in the
    hub's own history: free text is not published)."""
    translog.append(
        conn,
        "risk.set",
        now,
        by=translog.actor(caller),
        version=version,
        changes=[
            {"area": c.area, "level": c.level.value, "from": _iso(c.start), "to": _iso(c.end)}
            for c in changes
        ],
    )


def _place(code: str) -> str:
    """The full place name, coarsest first: "浙江省 杭州市 西湖区 西溪街道"."""
    return " ".join(r.name for r in reversed(default_divisions().ancestors(code)))
