"""Entry policies (通行规则) at the hub: set by health authorities, signed, served per region.

A policy is a CertLogic rule over the facts a checkpoint has (docs/policies.md), for one region
and one kind of place, in force from ``valid_from`` (until ``valid_to``). Every change is a new
row with the next ``policy`` version; rows are never updated, so the history of what was asked
of whom, when and by whom is the table itself ("a manual override nobody can quietly rewrite").

Which policy applies at a moment: for the place's region and the regions containing it, finest
first, the policy for that kind of place, else for any place; among those in force then, the
newest version. A temporary tightening is a policy with a ``valid_to``; when it ends, the one
it overrode applies again.

``GET /v1/policies/{region}`` serves the policies of a region *and of the regions containing it*
(so a checkpoint fetches one document), currently in force or in force later, as a signed
document with an ETag. It says which of those regions have policies (``governed_by``: the region
itself, its city or province, ``000000`` for a national policy) and, when none has,
``national_default: true``: only that statement makes the national default (a green code)
apply at a checkpoint. The decider (``PolicyDecider``) is Mode 2's seam: the hub's 验码 adds a
decision under the checkpoint's region, made by the same ``decide`` the offline verifier runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.risk import RiskCache
from yimatong.adapters.db.tables import policies
from yimatong.adapters.signed import canonical, sign_document
from yimatong.credentials import Caller, require_role
from yimatong.domain.edge import is_digits
from yimatong.domain.errors import Forbidden, InvalidInput
from yimatong.domain.facts import RiskMap
from yimatong.domain.regions import default_divisions
from yimatong.hub import translog
from yimatong.hub.context import HubContext
from yimatong.rules.certlogic import validate
from yimatong.verifier.demo import demo_policy_entries
from yimatong.verifier.policy import (
    NATIONAL,
    PLACE_KINDS,
    Policy,
    PolicySet,
    decide,
    fact_path_issues,
    facts_from_answer,
    parse_time,
    region_chain,
)

__all__ = [
    "MAX_RULE_BYTES",
    "EntryPolicies",
    "PolicyDecider",
    "check_rule",
    "demo_policies",
    "within_scope",
]

#: Largest rule accepted, as canonical JSON: a policy is a page, not a program.
MAX_RULE_BYTES = 16 * 1024
#: How long a region's parsed policies serve the decider before the version is looked at again
#: (another worker may have taken a PUT): one cheap query per region a second, not per scan.
DECIDER_TTL = 1.0


def within_scope(region: str, scope: str | None) -> bool:
    """Whether an authority scoped to ``scope`` may set the policy of ``region``.

    No scope (or ``000000``) is the national authority. A province (``330000``) may set its
    own and every region inside it; a city (``330100``) its own and its districts'.
    """
    if scope is None or scope == NATIONAL:
        return True
    if region == NATIONAL or not is_digits(scope, 6):
        return False
    if scope.endswith("0000"):
        return region.startswith(scope[:2])
    if scope.endswith("00"):
        return region.startswith(scope[:4])
    return region == scope


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _row_dict(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "region": r.region,
        "place_kind": r.place_kind,
        "version": r.version,
        "rule": r.rule,
        "description": r.description,
        "valid_from": _iso(r.valid_from),
        "valid_to": _iso(r.valid_to),
        "set_by": r.set_by,
        "created_at": _iso(r.created_at),
    }


def _shadowed(row: Any, newer: Iterable[Any], now: datetime) -> bool:
    """Whether a newer row of the same region and kind covers all of ``row``'s future."""
    start = max(row.valid_from, now)
    for n in newer:
        if n.valid_from <= start and (
            n.valid_to is None or (row.valid_to is not None and n.valid_to >= row.valid_to)
        ):
            return True
    return False


class EntryPolicies:
    """The use cases: set a policy, read the signed list of a region, apply the demo's."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self._divisions = default_divisions()

    # ------------------------------------------------------------------ writes
    def put(
        self,
        caller: Caller,
        region: str,
        *,
        place_kind: str,
        rule: Any,
        description: str,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
    ) -> dict[str, Any]:
        """PUT /v1/policies/{region}: a new version of the policy of one kind of place."""
        require_role(caller, "authority")
        self._check_region(region)
        if not within_scope(region, caller.scope):
            raise Forbidden(f"this credential may set policies only within {caller.scope}")
        return self._insert(
            region,
            place_kind=place_kind,
            rule=rule,
            description=description,
            valid_from=valid_from,
            valid_to=valid_to,
            set_by=caller.name,
            by=translog.actor(caller),
        )

    def seed(self, entries: Iterable[Mapping[str, Any]], *, set_by: str = "demo") -> int:
        """Apply policies from data (the demo's defaults); a (region, kind) that has any
        policy already is left alone, so running it again changes nothing. Returns how many
        were set."""
        count = 0
        for entry in entries:
            region = str(entry["region"])
            kind = str(entry.get("place_kind", "any"))
            with self.ctx.db.read() as conn:
                exists = conn.execute(
                    select(policies.c.id).where(
                        policies.c.region == region, policies.c.place_kind == kind
                    )
                ).first()
            if exists:
                continue
            self._insert(
                region,
                place_kind=kind,
                rule=entry["rule"],
                description=str(entry["description"]),
                valid_from=parse_time(entry["valid_from"]) if entry.get("valid_from") else None,
                valid_to=parse_time(entry["valid_to"]) if entry.get("valid_to") else None,
                set_by=set_by,
                by={"role": "hub", "scope": None},
            )
            count += 1
        return count

    def _insert(
        self,
        region: str,
        *,
        place_kind: str,
        rule: Any,
        description: str,
        valid_from: datetime | None,
        valid_to: datetime | None,
        set_by: str,
        by: dict[str, Any],
    ) -> dict[str, Any]:
        if place_kind not in PLACE_KINDS:
            raise InvalidInput(
                f"place_kind must be one of {', '.join(PLACE_KINDS)}", field="place_kind"
            )
        check_rule(rule)
        description = description.strip()
        if not 1 <= len(description) <= 500:
            raise InvalidInput("description must be 1 to 500 characters", field="description")
        now = self.ctx.clock()
        start = valid_from or now
        if valid_to is not None and valid_to <= start:
            raise InvalidInput("valid_to must be after valid_from", field="valid_to")
        with self.ctx.db.uow() as uow:
            conn = uow.conn
            version = next_value(conn, "policy")
            result = conn.execute(
                insert(policies).values(
                    region=region,
                    place_kind=place_kind,
                    version=version,
                    rule=rule,
                    description=description,
                    valid_from=start,
                    valid_to=valid_to,
                    set_by=set_by,
                    created_at=now,
                )
            )
            # The policy is public (the signed list): the log holds all of it.
            translog.append(
                conn,
                "policy.set",
                now,
                by=by,
                region=region,
                place_kind=place_kind,
                version=version,
                rule=rule,
                description=description,
                valid_from=_iso(start),
                valid_to=_iso(valid_to),
            )
            uow.commit()
        return {
            "id": int(result.inserted_primary_key[0]),  # type: ignore[index]
            "region": region,
            "place_kind": place_kind,
            "version": version,
            "rule": rule,
            "description": description,
            "valid_from": _iso(start),
            "valid_to": _iso(valid_to),
            "set_by": set_by,
        }

    def _check_region(self, region: str) -> None:
        if region == NATIONAL:
            return
        if not is_digits(region, 6):
            raise InvalidInput("region must be a six-digit code", field="region")
        self._divisions.validate_area(region)  # UnknownRegion (422) names the problem

    # ------------------------------------------------------------------- reads
    def version(self, region: str) -> int:
        """The newest version among the policies that concern ``region`` (0: none)."""
        with self.ctx.db.read() as conn:
            value = conn.execute(
                select(func.max(policies.c.version)).where(
                    policies.c.region.in_(region_chain(region))
                )
            ).scalar()
        return int(value or 0)

    def current(self, region: str) -> tuple[int, list[dict[str, Any]]]:
        """(version, policies of the region's chain in force now or later, newest first)."""
        now = self.ctx.clock()
        chain = region_chain(region)
        with self.ctx.db.read() as conn:
            version = int(
                conn.execute(
                    select(func.max(policies.c.version)).where(policies.c.region.in_(chain))
                ).scalar()
                or 0
            )
            rows = conn.execute(
                select(policies)
                .where(
                    policies.c.region.in_(chain),
                    policies.c.version <= version,
                    (policies.c.valid_to.is_(None)) | (policies.c.valid_to > now),
                )
                .order_by(policies.c.version.desc())
            ).all()
        kept: list[Any] = []
        for row in rows:
            newer = [k for k in kept if (k.region, k.place_kind) == (row.region, row.place_kind)]
            if not _shadowed(row, newer, now):
                kept.append(row)
        return version, [_row_dict(r) for r in kept]

    def signed(self, region: str) -> tuple[int, dict[str, Any]]:
        """(version, signed ``policies`` document) for ``region``."""
        version, items = self.current(region)
        for item in items:
            item.pop("created_at", None)
        present = {item["region"] for item in items}
        governed = [r for r in region_chain(region) if r in present]
        payload = {
            "type": "policies",
            "region": region,
            "version": version,
            "issued_at": self.ctx.clock().isoformat(),
            # Said outright, so that a checkpoint never mistakes "not fetched" for "none":
            # whose policies apply here, finest first; none at all: the national default.
            "governed_by": governed,
            "national_default": not governed,
            "policies": items,
        }
        return version, sign_document(payload, self.ctx.hub_key())

    def history(self, region: str) -> list[dict[str, Any]]:
        """Every policy ever set for exactly ``region``, newest first (public: accountability)."""
        with self.ctx.db.read() as conn:
            rows = conn.execute(
                select(policies)
                .where(policies.c.region == region)
                .order_by(policies.c.version.desc())
                .limit(1000)
            ).all()
        return [_row_dict(r) for r in rows]


def check_rule(rule: Any) -> None:
    """InvalidInput, naming the JSON pointer into the body, for a rule the hub will not sign."""
    try:
        size = len(canonical(rule))
    except (TypeError, ValueError):  # not JSON, or a number JCS cannot write (beyond 2^53)
        raise InvalidInput(
            "rule must be JSON whose numbers are within ±(2^53 - 1)", field="/rule"
        ) from None
    if size > MAX_RULE_BYTES:
        raise InvalidInput(f"rule is larger than {MAX_RULE_BYTES} bytes", field="/rule")
    issues = validate(rule)
    if issues:
        first = issues[0]
        more = f" ({len(issues) - 1} more)" if len(issues) > 1 else ""
        raise InvalidInput(
            f"rule is not valid CertLogic at /rule{first.path}: {first.message}{more}",
            field=f"/rule{first.path}",
        )
    unknown = fact_path_issues(rule)
    if unknown:
        path, message = unknown[0]
        raise InvalidInput(
            f"rule reads an unknown fact at /rule{path}: {message}", field=f"/rule{path}"
        )


class PolicyDecider:
    """Mode 2's ``ctx.decider``: the decision under ``at_region``'s policy, as a JSON dict.

    Each region's policies are parsed (and their rules compiled) once per version; the
    version is looked at again at most every ``DECIDER_TTL`` seconds.
    """

    def __init__(self, ctx: HubContext, store: EntryPolicies | None = None) -> None:
        self.ctx = ctx
        self.store = store or EntryPolicies(ctx)
        self._risk = RiskCache()
        self._lock = threading.Lock()
        self._sets: dict[str, tuple[float, PolicySet]] = {}
        self._riskmap: tuple[float, RiskMap] | None = None

    def ready(self, region: str) -> bool:
        """True if a decision under ``region``'s policy now needs no database work.

        Mode 2's verify route runs on the event loop and calls the decider there only then;
        otherwise (about once a second per region) in a worker thread.
        """
        tick = time.monotonic()
        riskmap, cached = self._riskmap, self._sets.get(region)
        return riskmap is not None and riskmap[0] > tick and cached is not None and cached[0] > tick

    def _risk_map(self, monotonic: float) -> RiskMap:
        cached = self._riskmap
        if cached is not None and cached[0] > monotonic:
            return cached[1]
        with self.ctx.db.read() as conn:
            risk = self._risk.load(conn)
        self._riskmap = (monotonic + DECIDER_TTL, risk)
        return risk

    def policy_set(self, region: str, monotonic: float) -> PolicySet:
        cached = self._sets.get(region)
        if cached is not None and cached[0] > monotonic:
            return cached[1]
        version = self.store.version(region)
        if cached is not None and cached[1].version == version:
            parsed = cached[1]
        else:
            _, items = self.store.current(region)
            parsed = PolicySet(
                region=region, version=version, policies=tuple(Policy.from_dict(p) for p in items)
            )
        with self._lock:
            self._sets[region] = (monotonic + DECIDER_TTL, parsed)
        return parsed

    def __call__(
        self,
        verification: Mapping[str, Any],
        *,
        at_region: str,
        place_kind: str | None = None,
        temperature: float | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        now = now or self.ctx.clock()
        kind = place_kind if place_kind in PLACE_KINDS else "any"
        tick = time.monotonic()
        facts = facts_from_answer(
            verification,
            now=now,
            region=at_region,
            place_kind=kind,
            temperature=temperature,
            area_level=self._risk_map(tick).level_at(at_region, now).value,
        )
        decision = decide(self.policy_set(at_region, tick), facts)
        return decision.to_dict()


def demo_policies() -> list[dict[str, Any]]:
    """The demo's default policies (``verifier/data/demo-policies.json``), for ``seed``."""
    return demo_policy_entries()
