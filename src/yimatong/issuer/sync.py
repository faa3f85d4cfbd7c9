"""An issuer's link to the hub: national data in, Mode 1 summaries out.

One round (``sync_once``) does, in order, each step on its own so one failure does not stop
the others:

1. **push** the colours that changed since they were last shared (Mode 1 summaries); this also
   registers the subjects at the hub, so the hub's feed starts carrying their national data;
2. **backfill** subjects that are new here: the hub's earlier data about them (cases, contacts,
   tests, other regions' summaries) arrives at once instead of never;
3. **pull the feed** from where it got to, in batches, into the local mirror tables (each row
   keeps the feed's ``seq`` as ``origin``, so a row is applied once however often it comes);
4. **pull risk areas** (signed by the hub, verified before use) and mark the subjects who stayed
   in a changed area for reassessment;
5. **reassess** everyone whose ``review_at`` has come (recovery dates, changed areas).

When the hub cannot be reached, the issuer keeps working from what it has; ``sync_state``
records when each list was last fetched, and assessments say how old their data is.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Table, and_, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from yimatong.adapters import keystore
from yimatong.adapters.crypto import VerifyingKey, load_verifying_key
from yimatong.adapters.db.partitions import lock_mirror
from yimatong.adapters.db.read_digest import day_digest, days_to_digest
from yimatong.adapters.db.tables import (
    assessments,
    case_facts,
    contact_facts,
    feed_quarantine,
    identity_checks,
    quarantine_orders,
    risk_periods,
    stays,
    subjects,
    summaries,
    sync_state,
    test_results,
)
from yimatong.adapters.db.upsert import insert_ignore
from yimatong.adapters.hubclient import NodeClient
from yimatong.adapters.messages import prove_key, prove_rotation
from yimatong.adapters.periodic import Periodic
from yimatong.adapters.signed import verify_document
from yimatong.domain.edge import MAX_ID, check_id, check_text, is_digits, parse_time_or_none
from yimatong.domain.errors import Forbidden, Unavailable, YimatongError
from yimatong.domain.facts import CaseStatus, Colour, ContactKind, RiskLevel, TestOutcome
from yimatong.domain.identity import is_sid
from yimatong.domain.regions import area_prefix
from yimatong.issuer.services import IssuerService

__all__ = ["HubApi", "HubLink", "SyncReport"]

log = logging.getLogger("yimatong.sync")

#: Subjects reassessed in one transaction (one bulk read and write): short enough that
#: sign-ins and 验码 writes never wait long for SQLite's single write lock (tens of ms).
_REASSESS_CHUNK = 2000
#: Subjects due for review read in one page (then reassessed chunk by chunk).
_REVIEW_PAGE = 5 * _REASSESS_CHUNK
#: A bound on one round's review pages (batch × pages people), so a round always ends.
_MAX_REVIEW_PAGES = 10_000

NATIONAL = "000000"


@dataclass
class SyncReport:
    keys: int = 0
    pushed: int = 0
    backfilled: int = 0
    feed_rows: int = 0
    risk_periods: int = 0
    reassessed: int = 0
    #: feed rows that could not be applied this round (kept in ``feed_quarantine``)
    quarantined: int = 0
    #: days of this node's reads of personal data digested into the hub's log
    read_digests: int = 0
    #: heads of this issuer's own transparency log signed this round
    log_heads: int = 0
    #: heads of this issuer's own log the hub witnessed this round
    witnessed: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _time(value: Any, field: str = "time") -> datetime | None:
    """A time in a hub document: the shared parser (UTC, in range), None for null."""
    return parse_time_or_none(value, field)


def _need_time(body: Mapping[str, Any], name: str) -> datetime:
    value = parse_time_or_none(body.get(name), name)
    if value is None:
        raise ValueError(f"{name} is missing")
    return value


def _one_of(value: Any, name: str, allowed: frozenset[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}")
    return value


_CASE_STATUSES = frozenset(s.value for s in CaseStatus)
_CONTACT_KINDS = frozenset(k.value for k in ContactKind)
_QUARANTINE_KINDS = frozenset({"central", "home"})
_OUTCOMES = frozenset(o.value for o in TestOutcome)
_COLOURS = frozenset(c.value for c in Colour)
_RISK_LEVELS = frozenset(level.value for level in RiskLevel)
_DEPARTMENT_SOURCES = frozenset({"rail", "aviation", "telecom"})
_MAX_SEQ = MAX_ID
#: What can go wrong turning one feed row into a mirror row, or writing it.
_ROW_ERRORS = (ValueError, KeyError, TypeError, AttributeError, ArithmeticError, SQLAlchemyError)


@dataclass(frozen=True, slots=True)
class _Mirror:
    """One feed row, checked, as the mirror-table row it becomes."""

    seq: int
    sid: str
    table: Table
    values: dict[str, Any]
    item: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Bad:
    """A feed row that cannot be applied, and why (no personal data: the hub's rows are
    pseudonymous, and the reason names fields, not values)."""

    seq: int
    sid: str | None
    kind: str | None
    reason: str
    item: Any


class HubApi(Protocol):
    """What a link needs of the hub: ``NodeClient`` over HTTP, or the hub's own process."""

    def get_json(self, path: str, **kwargs: Any) -> Any: ...

    def post_json(self, path: str, body: Any, **kwargs: Any) -> Any: ...

    def request(self, method: str, path: str, **kwargs: Any) -> Any: ...


class HubLink:
    def __init__(
        self,
        service: IssuerService,
        client: HubApi | NodeClient,
        *,
        hub_keys: Mapping[bytes, VerifyingKey] | None = None,
        interval: float = 5.0,
        batch: int = 1000,
        clock: Callable[[], datetime] | None = None,
        sync_keys: Callable[[], bool] | None = None,
    ) -> None:
        """``sync_keys``: how this node's keys meet the trust list, when not over the hub's
        API — a hosted region's keystore is published by its hub in-process."""
        self.service = service
        self._sync_keys = sync_keys
        self.db = service.db
        self.client = client
        self.interval = interval
        self.batch = batch
        self.clock = clock or service.clock
        self._hub_keys: dict[bytes, VerifyingKey] = dict(hub_keys or {})
        self._round = threading.Lock()
        self._runner = Periodic("hub-sync", self.sync_once, interval)

    # ----------------------------------------------------------------- running
    def start(self) -> None:
        self._runner.start()

    def stop(self) -> None:
        self._runner.stop()

    def sync_once(self) -> SyncReport:
        report = SyncReport()
        with self._round:
            for name, step in (
                ("keys", self._publish_keys),
                ("push", self._push),
                ("digests", self._push_read_digests),
                ("log", self._sign_log_head),
                ("backfill", self._backfill),
                ("feed", self._pull_feed),
                ("risk", self._pull_risk),
                ("review", self._review_due),
            ):
                try:
                    step(report)
                except Exception as exc:  # whatever it was, it is said in sync_state
                    report.errors[name] = _reason(exc)
                    self._note_error(name, report.errors[name])
        return report

    def backfill_now(self, sids: Iterable[str]) -> None:
        """Fetch new subjects' national data right away (best effort; the loop retries)."""
        try:
            self._backfill(SyncReport(), only=list(sids))
        except YimatongError as exc:
            log.info("backfill postponed: %s", type(exc).__name__)

    # ------------------------------------------------------------------- steps
    def _push(self, report: SyncReport) -> None:
        while True:
            with self.db.read() as conn:
                rows = conn.execute(
                    select(
                        assessments.c.sid,
                        assessments.c.colour,
                        assessments.c.colour_since,
                        assessments.c.assessed_at,
                        assessments.c.body,
                    )
                    .where(assessments.c.pushed_at.is_(None))
                    .limit(self.batch)
                ).all()
            if not rows:
                return
            self.client.post_json(
                "/v1/summaries",
                {
                    "summaries": [
                        {
                            "sid": r.sid,
                            "colour": r.colour,
                            "reasons": [x["code"] for x in r.body.get("reasons", [])],
                            "colour_since": r.colour_since.isoformat(),
                            "assessed_at": r.assessed_at.isoformat(),
                        }
                        for r in rows
                    ]
                },
            )
            now = self.clock()
            with self.db.uow() as uow:
                for r in rows:
                    uow.conn.execute(
                        update(assessments)
                        .where(
                            assessments.c.sid == r.sid,
                            assessments.c.assessed_at == r.assessed_at,
                        )
                        .values(pushed_at=now)
                    )
                uow.commit()
            report.pushed += len(rows)
            if len(rows) < self.batch:
                return

    def _sign_log_head(self, report: SyncReport) -> None:
        """A new signed head of this issuer's own log when it grew, and the hub's witness of
        the newest head (docs/transparency.md): sent with the consistency path from the size
        the hub witnessed last ("witness" in ``sync_state``: that size + 1; 0 never)."""
        own = self.service.translog
        try:
            if own.sign_head() is not None:
                report.log_heads += 1
            head = own.latest_head()
        except Unavailable:
            return  # no active signing key: no head to sign (codes say so: 503) until one is
        size = int(head["payload"]["tree_size"])
        witnessed = self._cursor("witness") - 1
        if witnessed == size:
            return
        path = own.consistency(witnessed, size)["consistency_path"] if witnessed > 0 else []
        try:
            self.client.post_json("/v1/log/witness", {"head": head, "consistency_path": path})
        except Forbidden:
            # Signed by a key the hub does not have (yet): one being registered, or revoked.
            # The next head, signed by a registered key, is witnessed; a fork (409) is an error.
            log.warning("the hub did not witness this issuer's log head: its key is not trusted")
            return
        report.witnessed += 1
        with self.db.uow() as uow:
            self._save_cursor(uow.conn, "witness", size + 1, self.clock())
            uow.commit()

    def _push_read_digests(self, report: SyncReport) -> None:
        """Each whole UTC day of this node's audit log (every read of a person's data by
        anyone but the person), as a digest, to the hub's transparency log
        (docs/transparency.md); a day without reads sends nothing. The last day done is kept
        in ``sync_state`` ("read_digest", by its ordinal)."""
        done = self._cursor("read_digest")
        last = date.fromordinal(done) if done else None
        for day in days_to_digest(self.clock(), last):
            with self.db.read() as conn:
                digest = day_digest(conn, day)
            if digest["reads"]:
                self.client.post_json("/v1/log/read-digests", digest)
                report.read_digests += 1
            with self.db.uow() as uow:
                self._save_cursor(uow.conn, "read_digest", day.toordinal(), self.clock())
                uow.commit()

    def _publish_keys(self, report: SyncReport) -> None:
        """Keys both ways: revocations from the hub in, rotations and revocations out.

        A key revoked at the hub is revoked here at once, so the signer (which reads the
        active kid for every code) moves to the next key ready, if any; with none, codes are
        refused (Unavailable) until a new key is registered. A key revoked here is revoked at
        the hub, so its codes fail everywhere from the next trust-list refresh. A new key is
        introduced proved by itself and by a key the hub holds as current; an issuer with no
        current key at the hub (all revoked) is re-keyed by the hub admin (``yimatong keys
        proof`` prints what to send).
        """
        if self._sync_keys is not None:
            report.keys += int(self._sync_keys())
            return
        region = self.service.region
        document = self.client.get_json("/v1/trust-list")
        at_hub = {
            k["kid"]: k
            for k in verify_document(document, self._keys())["keys"]
            if k["region"] == region
        }
        revoked_at_hub = {
            bytes.fromhex(kid): _time(k["revoked_at"])
            for kid, k in at_hub.items()
            if k["revoked_at"]
        }
        with self.db.uow() as uow:
            moved = [
                kid
                for kid, at in revoked_at_hub.items()
                if at is not None and keystore.mark_revoked(uow.conn, kid, at=at)
            ]
            uow.commit()
        if moved:
            self.service.forget_keys()
            report.keys += len(moved)
            log.warning("%d key(s) revoked at the hub were revoked here", len(moved))
        with self.db.read() as conn:
            local = keystore.list_keys(conn, region)
        for info in local:
            kid = info.kid.hex()
            if info.revoked_at is not None and kid in at_hub and not at_hub[kid]["revoked_at"]:
                self.client.request("DELETE", f"/v1/issuers/{region}/keys/{kid}")
                report.keys += 1
        now = self.clock()
        provers = [
            k
            for k in local
            if k.kid.hex() in at_hub and k.revoked_at is None and _current(at_hub[k.kid.hex()], now)
        ]
        for info in local:
            if info.kid.hex() in at_hub or info.revoked_at is not None:
                continue
            if not provers:
                log.warning(
                    "key %s cannot reach the hub: no key of %s is current there; the hub admin "
                    "registers it (yimatong keys proof)",
                    info.kid.hex(),
                    region,
                )
                continue
            with self.db.read() as conn:
                key = keystore.load_key(conn, self.service.cipher, info.kid)
                prover = keystore.load_key(conn, self.service.cipher, provers[-1].kid)
            entry = prove_key(key, region, info.not_before)
            body: dict[str, Any] = entry.to_json()
            body.update(prove_rotation(prover, region, entry.public_key, info.not_before))
            self.client.post_json(f"/v1/issuers/{region}/keys", body)
            report.keys += 1

    def _backfill(self, report: SyncReport, only: list[str] | None = None) -> None:
        with self.db.read() as conn:
            query = select(subjects.c.sid).where(subjects.c.backfilled_at.is_(None))
            if only is not None:
                query = query.where(subjects.c.sid.in_(only))
            sids = [r.sid for r in conn.execute(query.limit(self.batch)).all()]
        if not sids:
            return
        # The registration answer carries what the hub already has about these subjects.
        items = self.client.post_json("/v1/subjects/register", {"sids": sids})["items"]
        now = self.clock()

        def done(conn: Connection) -> None:
            conn.execute(update(subjects).where(subjects.c.sid.in_(sids)).values(backfilled_at=now))

        self._mirror(items, now, report, done)
        report.backfilled += len(sids)

    def _pull_feed(self, report: SyncReport) -> None:
        while True:
            cursor = self._cursor("feed")
            page = self.client.get_json("/v1/feed", params={"since": cursor, "limit": self.batch})
            items = page.get("items", [])
            next_cursor = check_id(page.get("next", cursor), "next")
            now = self.clock()

            def done(conn: Connection, next_cursor: int = next_cursor, now: datetime = now) -> None:
                self._save_cursor(conn, "feed", next_cursor, now, error=_quarantine_note(conn))

            self._mirror(items, now, report, done)
            report.feed_rows += len(items)
            if not page.get("more"):
                return

    def _mirror(
        self,
        items: Any,
        now: datetime,
        report: SyncReport,
        done: Callable[[Connection], None],
    ) -> None:
        """Apply feed rows to the mirror tables and ``done`` (the cursor) at once, then reassess.

        The rows and the cursor commit together (each row is applied once); the subjects they
        touched are marked due for review in the same transaction and reassessed after it in
        short transactions, so a page of a thousand rows never holds the database's write
        lock for long (a citizen signing in meanwhile waits milliseconds, not seconds). If the
        node stops in between, the next round's review picks the marked subjects up.

        A row that cannot be applied - a time out of range, an unknown kind, a missing field,
        or a write the database refuses - is quarantined with its reason and the rest go on:
        one bad row must not hold back every later one (and the lab result behind it).
        """
        if not isinstance(items, list):
            raise TypeError("the hub's answer has no list of items")
        with self.db.read() as conn:
            good, bad = self._check_rows(conn, items, now)
        try:
            with self.db.uow() as uow:
                touched = self._write(uow.conn, good)
                self._quarantine(uow.conn, bad, now)
                _due_now(uow.conn, touched, now)
                done(uow.conn)
                uow.commit()
        except _ROW_ERRORS as exc:
            # Something the checks did not foresee: find the row, one transaction each.
            log.warning("feed page failed as a whole (%s); applying row by row", type(exc).__name__)
            touched = set()
            for row in good:
                try:
                    with self.db.uow() as uow:
                        new = self._write(uow.conn, [row])
                        _due_now(uow.conn, new, now)
                        uow.commit()
                    touched |= new
                except _ROW_ERRORS as row_exc:
                    touched.discard(row.sid)
                    kind = row.item.get("kind")
                    bad.append(_Bad(row.seq, row.sid, kind, _reason(row_exc), row.item))
            with self.db.uow() as uow:
                self._quarantine(uow.conn, bad, now)
                done(uow.conn)
                uow.commit()
        self._reassess(sorted(touched), now)
        report.quarantined += len(bad)
        if bad:
            log.warning("quarantined %d feed rows (first seq %d)", len(bad), bad[0].seq)

    def _check_rows(
        self, conn: Connection, items: list[Any], now: datetime
    ) -> tuple[list[_Mirror], list[_Bad]]:
        """Split feed rows about this node's subjects into mirror rows and bad rows."""
        sids = {i.get("sid") for i in items if isinstance(i, dict) and is_sid(i.get("sid"))}
        known = {
            r.sid for r in conn.execute(select(subjects.c.sid).where(subjects.c.sid.in_(sids)))
        }
        expires = now + self.service.retention
        good: list[_Mirror] = []
        bad: list[_Bad] = []
        for item in items:
            seq = item.get("seq") if isinstance(item, dict) else None
            if type(seq) is not int or not 0 < seq <= _MAX_SEQ:
                # Without a seq it cannot be kept or applied once; the cursor moves past it.
                log.warning("skipped a feed row without a valid seq")
                continue
            sid = item.get("sid")
            if sid not in known:
                continue  # not ours (or not a sid at all): nothing to apply
            kind = item.get("kind")
            try:
                row = self._mirror_row(item, seq, sid, expires, now)
            except _ROW_ERRORS as exc:
                bad.append(_Bad(seq, sid, str(kind)[:12] if kind else None, _reason(exc), item))
                continue
            if row is not None:
                good.append(row)
        return good, bad

    def _mirror_row(
        self, item: dict[str, Any], seq: int, sid: str, expires: datetime, now: datetime
    ) -> _Mirror | None:
        """The mirror row of one feed row (None: nothing to apply), or an error saying why."""
        kind, body = item.get("kind"), item.get("body")
        if not isinstance(body, dict):
            raise TypeError("body must be an object")
        base = {"sid": sid, "origin": seq, "expires_at": expires}
        if kind == "case":
            row = {
                **base,
                "status": _one_of(body.get("status"), "status", _CASE_STATUSES),
                "since": _need_time(body, "since"),
            }
            return _Mirror(seq, sid, case_facts, row, item)
        if kind == "contact":
            row = {
                **base,
                "kind": _one_of(
                    body.get("contact_kind") or body.get("kind"), "contact_kind", _CONTACT_KINDS
                ),
                "last_exposure": _need_time(body, "last_exposure"),
            }
            return _Mirror(seq, sid, contact_facts, row, item)
        if kind == "quarantine":
            row = {
                **base,
                "starts_at": _need_time(body, "start"),
                "ends_at": _need_time(body, "end"),
                "kind": _one_of(
                    body.get("quarantine_kind") or "central", "quarantine_kind", _QUARANTINE_KINDS
                ),
            }
            return _Mirror(seq, sid, quarantine_orders, row, item)
        if kind == "test":
            row = {
                **base,
                "sampled_at": _need_time(body, "sampled_at"),
                "reported_at": _need_time(body, "reported_at"),
                "outcome": _one_of(body.get("outcome"), "outcome", _OUTCOMES),
                "lab": str(body.get("lab") or body.get("lab_id") or "")[:64],
            }
            return _Mirror(seq, sid, test_results, row, item)
        if kind == "summary":
            region = item.get("region")
            if region == self.service.region:
                return None
            if not is_digits(region, 6):
                raise ValueError("region must be a six-digit region code")
            reasons = body.get("reasons", [])
            if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
                raise TypeError("reasons must be a list of strings")
            row = {
                **base,
                "region": region,
                "colour": _one_of(body.get("colour"), "colour", _COLOURS),
                "reasons": list(reasons),
                "colour_since": _time(body.get("colour_since"), "colour_since"),
                "assessed_at": _need_time(body, "assessed_at"),
            }
            return _Mirror(seq, sid, summaries, row, item)
        if kind == "scan":
            at = _need_time(body, "at")
            area = body.get("area")
            if not (is_digits(area, 6) or is_digits(area, 9)):
                raise ValueError("area must be a region or township code")
            row = {
                "sid": sid,
                "origin": seq,
                "area": area,
                "arrived": at,
                "left_at": at,
                "source": "scan",
                "checkpoint": _label(body.get("checkpoint")),
                "created_at": now,
                "expires_at": expires,
            }
            return _Mirror(seq, sid, stays, row, item)
        if kind == "stay":  # a department's: a manifest leg's instant, a telecom stay
            source = _one_of(body.get("source"), "source", _DEPARTMENT_SOURCES)
            at = _need_time(body, "at")
            until = _time(body.get("until"), "until") or at
            area = body.get("area")
            if not (is_digits(area, 6) or is_digits(area, 9)):
                raise ValueError("area must be a region or township code")
            if until < at:
                raise ValueError("until is before at")
            row = {
                "sid": sid,
                "origin": seq,
                "area": area,
                "arrived": at,
                "left_at": until,
                "source": source,
                "checkpoint": _label(body.get("trip") or body.get("department")),
                "created_at": now,
                "expires_at": expires,
            }
            return _Mirror(seq, sid, stays, row, item)
        if kind == "identity":  # the police's check of the name against the document
            matched = body.get("match")
            if type(matched) is not bool:
                raise TypeError("match must be true or false")
            row = {
                **base,
                "matched": matched,
                "department": str(body.get("department") or "")[:32],
                "checked_at": _need_time(body, "checked_at"),
            }
            return _Mirror(seq, sid, identity_checks, row, item)
        raise ValueError(f"unknown kind {str(kind)[:12]!r}")

    @staticmethod
    def _write(conn: Connection, rows: list[_Mirror]) -> set[str]:
        """Insert mirror rows (each once, by origin); the sids that got something new.

        On PostgreSQL ``stays`` and ``test_results`` are partitioned and have no
        ``UNIQUE (origin)`` (adapters/db/partitions.py says why), so "once" is kept here: the
        writer holds the mirror lock until its commit, skips the origins already present and
        any repeated in the page; the other tables' unique keys still back it up.
        """
        if not rows:
            return set()
        lock_mirror(conn)
        wanted: dict[Table, set[int]] = {}
        for row in rows:
            wanted.setdefault(row.table, set()).add(row.seq)
        present = {
            (table.name, origin)
            for table, seqs in wanted.items()
            for origin in conn.execute(
                select(table.c.origin).where(table.c.origin.in_(sorted(seqs)))
            ).scalars()
        }
        touched: set[str] = set()
        for row in rows:
            key = (row.table.name, row.seq)
            if key in present:
                continue
            present.add(key)
            if insert_ignore(conn, row.table, row.values):
                touched.add(row.sid)
        return touched

    def _quarantine(self, conn: Connection, bad: list[_Bad], now: datetime) -> None:
        expires = now + self.service.retention
        for b in bad:
            item = b.item if isinstance(b.item, dict) else {"seq": b.seq}
            insert_ignore(
                conn,
                feed_quarantine,
                {
                    "seq": b.seq,
                    "sid": b.sid,
                    "kind": b.kind,
                    "reason": b.reason,
                    "item": item,
                    "quarantined_at": now,
                    "expires_at": expires,
                },
            )

    def _pull_risk(self, report: SyncReport) -> None:
        cursor = self._cursor("risk")
        document = self.client.get_json("/v1/risk-areas", params={"since": cursor})
        payload = verify_document(document, self._keys())
        periods = payload.get("periods", [])
        if not isinstance(periods, list):
            raise TypeError("the risk-area list has no list of periods")
        # As with the feed, one period that cannot be read must not hold back the others:
        # it is left out and said in sync_state.error (the list is signed; staff look at it).
        checked: list[tuple[int, dict[str, Any]]] = []
        skipped: list[str] = []
        for p in periods:
            try:
                checked.append((check_id(p["id"], "id"), _risk_values(p)))
            except _ROW_ERRORS as exc:
                skipped.append(
                    f"period {str(p.get('id'))[:20] if isinstance(p, dict) else '?'}: "
                    f"{_reason(exc)}"
                )
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            if checked:
                version = (conn.execute(select(func.max(risk_periods.c.version))).scalar() or 0) + 1
                for origin, values in checked:
                    values = {**values, "set_by": "hub", "version": version}
                    done = conn.execute(
                        update(risk_periods).where(risk_periods.c.origin == origin).values(**values)
                    )
                    if not done.rowcount:
                        insert_ignore(conn, risk_periods, {"origin": origin, **values})
                self._mark_for_review(conn, {v["area"] for _, v in checked}, now)
            error = (
                f"{len(skipped)} risk periods left out ({skipped[0]})"[:200] if skipped else None
            )
            version = check_id(payload.get("version", cursor), "version")
            self._save_cursor(conn, "risk", version, now, error=error)
            uow.commit()
        report.risk_periods += len(checked)

    def _review_due(self, report: SyncReport) -> None:
        """Reassess everyone whose ``review_at`` has come, in pages, until none is left.

        No pacing: a risk-area change over a whole province reaches every colour in this round
        (reassessing sets a later ``review_at``, so each page is new people).
        """
        now = self.clock()
        page = max(self.batch, _REVIEW_PAGE)
        for _ in range(_MAX_REVIEW_PAGES):
            with self.db.read() as conn:
                sids = [
                    r.sid
                    for r in conn.execute(
                        select(assessments.c.sid).where(assessments.c.review_at <= now).limit(page)
                    ).all()
                ]
            self._reassess(sids, now)
            report.reassessed += len(sids)
            if len(sids) < page:
                return

    def _reassess(self, sids: list[str], now: datetime) -> None:
        """Reassess ``sids`` in bulk, a short transaction per chunk (the write lock is shared)."""
        for start in range(0, len(sids), _REASSESS_CHUNK):
            with self.db.uow() as uow:
                self.service.reassess_many(uow.conn, sids[start : start + _REASSESS_CHUNK], now)
                uow.commit()

    # ----------------------------------------------------------------- helpers
    def _mark_for_review(self, conn: Connection, areas: set[str], now: datetime) -> None:
        prefixes = {area_prefix(a) for a in areas}
        # A code and everything inside it share the prefix: a range the area index answers
        # (':' sorts right after '9'), where LIKE 'p%' would read every stay.
        condition = or_(*(and_(stays.c.area >= p, stays.c.area < p + ":") for p in prefixes))
        affected = select(stays.c.sid).where(condition, stays.c.voided_at.is_(None)).distinct()
        conn.execute(
            update(assessments).where(assessments.c.sid.in_(affected)).values(review_at=now)
        )

    @property
    def hub_keys(self) -> dict[bytes, VerifyingKey]:
        """The hub keys this link trusts so far (pinned, or learnt on first use)."""
        return dict(self._hub_keys)

    def trusted_keys(self) -> dict[bytes, VerifyingKey]:
        """The hub keys this link trusts, learnt from the hub's trust list if not yet known."""
        return dict(self._keys())

    def _keys(self) -> dict[bytes, VerifyingKey]:
        if not self._hub_keys:
            # Trust on first use, as documented: the national keys of the first trust list
            # that verifies with one of them. Deployments pin YMT_HUB_KEY instead.
            document = self.client.get_json("/v1/trust-list")
            keys = {
                bytes.fromhex(k["kid"]): load_verifying_key(base64.b64decode(k["public_key"]))
                for k in document["payload"]["keys"]
                if k["region"] == NATIONAL and k.get("revoked_at") is None
            }
            verify_document(document, keys)
            self._hub_keys = keys
        return self._hub_keys

    def _cursor(self, name: str) -> int:
        with self.db.read() as conn:
            value = conn.execute(
                select(sync_state.c.cursor).where(sync_state.c.name == name)
            ).scalar()
        return int(value or 0)

    def _save_cursor(
        self, conn: Connection, name: str, cursor: int, now: datetime, *, error: str | None = None
    ) -> None:
        values = {"cursor": cursor, "synced_at": now, "attempted_at": now, "error": error}
        done = conn.execute(update(sync_state).where(sync_state.c.name == name).values(**values))
        if not done.rowcount:
            insert_ignore(conn, sync_state, {"name": name, **values})

    def _note_error(self, name: str, error: str) -> None:
        if name not in ("feed", "risk"):
            return
        now = self.clock()
        with self.db.uow() as uow:
            done = uow.conn.execute(
                update(sync_state)
                .where(sync_state.c.name == name)
                .values(attempted_at=now, error=error)
            )
            if not done.rowcount:
                insert_ignore(
                    uow.conn,
                    sync_state,
                    {"name": name, "cursor": 0, "attempted_at": now, "error": error},
                )
            uow.commit()


def _due_now(conn: Connection, sids: set[str], now: datetime) -> None:
    """Mark ``sids`` for review now: reassessed after this commit, or by the next round."""
    if sids:
        conn.execute(
            update(assessments).where(assessments.c.sid.in_(sorted(sids))).values(review_at=now)
        )


def _current(key: Mapping[str, Any], now: datetime) -> bool:
    """A trust-list key that is active now (one that may prove a rotation)."""
    start, end = _time(key.get("not_before")), _time(key.get("not_after"))
    return (
        not key.get("revoked_at")
        and start is not None
        and start <= now
        and (end is None or end > now)
    )


def _risk_values(period: Any) -> dict[str, Any]:
    """The columns of one period of the hub's risk-area list, checked."""
    if not isinstance(period, dict):
        raise TypeError("a period must be an object")
    area = period.get("area")
    if not (is_digits(area, 6) or is_digits(area, 9)):
        raise ValueError("area must be a region or township code")
    return {
        "area": area,
        "level": _one_of(period.get("level"), "level", _RISK_LEVELS),
        "effective_from": _need_time(period, "from"),
        "until": _time(period.get("to"), "to"),
    }


def _quarantine_note(conn: Connection) -> str | None:
    """What ``sync_state.error`` says while feed rows are quarantined (None: none are)."""
    count = conn.execute(select(func.count()).select_from(feed_quarantine)).scalar() or 0
    if not count:
        return None
    last = conn.execute(
        select(feed_quarantine.c.seq, feed_quarantine.c.reason)
        .order_by(feed_quarantine.c.seq.desc())
        .limit(1)
    ).one()
    return f"{count} feed rows quarantined (last seq {last.seq}: {last.reason})"[:200]


def _reason(exc: BaseException) -> str:
    """Why a row was refused, for the quarantine table and the health view (200 characters)."""
    text = exc.message if isinstance(exc, YimatongError) else str(exc)
    return f"{type(exc).__name__}: {text}"[:200]


def _label(value: Any) -> str | None:
    """A scan's checkpoint label as the hub relayed it: one clean line of at most 100
    characters, or nothing (a label is for the person's view, never a reason to refuse)."""
    if not isinstance(value, str):
        return None
    try:
        return check_text(value, "checkpoint")[:100] or None
    except ValueError:
        return None
