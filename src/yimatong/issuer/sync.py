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
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, func, or_, select, update

from yimatong.adapters import keystore
from yimatong.adapters.crypto import VerifyingKey, load_verifying_key
from yimatong.adapters.db.tables import (
    assessments,
    case_facts,
    contact_facts,
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
from yimatong.adapters.signed import BadDocument, verify_document
from yimatong.domain.errors import YimatongError
from yimatong.issuer.services import IssuerService

__all__ = ["HubApi", "HubLink", "SyncReport"]

log = logging.getLogger("yimatong.sync")

NATIONAL = "000000"


@dataclass
class SyncReport:
    keys: int = 0
    pushed: int = 0
    backfilled: int = 0
    feed_rows: int = 0
    risk_periods: int = 0
    reassessed: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("a time without an offset")
    return parsed


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
                ("backfill", self._backfill),
                ("feed", self._pull_feed),
                ("risk", self._pull_risk),
                ("review", self._review_due),
            ):
                try:
                    step(report)
                except (YimatongError, BadDocument, ValueError, KeyError, TypeError) as exc:
                    report.errors[name] = f"{type(exc).__name__}: {exc}"[:200]
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
        with self.db.uow() as uow:
            touched = self._apply(uow.conn, items, now)
            uow.conn.execute(
                update(subjects).where(subjects.c.sid.in_(sids)).values(backfilled_at=now)
            )
            for sid in touched:
                self.service.reassess(uow.conn, sid, now)
            uow.commit()
        report.backfilled += len(sids)

    def _pull_feed(self, report: SyncReport) -> None:
        while True:
            cursor = self._cursor("feed")
            page = self.client.get_json("/v1/feed", params={"since": cursor, "limit": self.batch})
            items = page.get("items", [])
            now = self.clock()
            with self.db.uow() as uow:
                touched = self._apply(uow.conn, items, now)
                for sid in touched:
                    self.service.reassess(uow.conn, sid, now)
                self._save_cursor(uow.conn, "feed", int(page.get("next", cursor)), now)
                uow.commit()
            report.feed_rows += len(items)
            if not page.get("more"):
                return

    def _pull_risk(self, report: SyncReport) -> None:
        cursor = self._cursor("risk")
        document = self.client.get_json("/v1/risk-areas", params={"since": cursor})
        payload = verify_document(document, self._keys())
        periods = payload.get("periods", [])
        now = self.clock()
        with self.db.uow() as uow:
            conn = uow.conn
            if periods:
                version = (conn.execute(select(func.max(risk_periods.c.version))).scalar() or 0) + 1
                for p in periods:
                    values = {
                        "area": p["area"],
                        "level": p["level"],
                        "effective_from": _time(p["from"]),
                        "until": _time(p.get("to")),
                        "set_by": "hub",
                        "version": version,
                    }
                    done = conn.execute(
                        update(risk_periods)
                        .where(risk_periods.c.origin == p["id"])
                        .values(**values)
                    )
                    if not done.rowcount:
                        insert_ignore(conn, risk_periods, {"origin": p["id"], **values})
                self._mark_for_review(conn, {p["area"] for p in periods}, now)
            self._save_cursor(conn, "risk", int(payload.get("version", cursor)), now)
            uow.commit()
        report.risk_periods += len(periods)

    def _review_due(self, report: SyncReport) -> None:
        now = self.clock()
        with self.db.read() as conn:
            sids = [
                r.sid
                for r in conn.execute(
                    select(assessments.c.sid)
                    .where(assessments.c.review_at <= now)
                    .limit(self.batch)
                ).all()
            ]
        for start in range(0, len(sids), 200):
            with self.db.uow() as uow:
                for sid in sids[start : start + 200]:
                    self.service.reassess(uow.conn, sid, now)
                uow.commit()
        report.reassessed += len(sids)

    # ----------------------------------------------------------------- helpers
    def _apply(self, conn: Connection, items: list[dict[str, Any]], now: datetime) -> set[str]:
        """Write feed rows about this node's subjects into the mirror tables."""
        if not items:
            return set()
        sids = {i["sid"] for i in items}
        known = {
            r.sid for r in conn.execute(select(subjects.c.sid).where(subjects.c.sid.in_(sids)))
        }
        expires = now + self.service.retention
        touched: set[str] = set()
        for item in items:
            sid, kind, body, seq = item["sid"], item["kind"], item["body"], int(item["seq"])
            if sid not in known:
                continue
            base = {"sid": sid, "origin": seq, "expires_at": expires}
            if kind == "case":
                row = {**base, "status": body["status"], "since": _time(body["since"])}
                wrote = insert_ignore(conn, case_facts, row)
            elif kind == "contact":
                row = {
                    **base,
                    "kind": body.get("contact_kind") or body.get("kind"),
                    "last_exposure": _time(body["last_exposure"]),
                }
                wrote = insert_ignore(conn, contact_facts, row)
            elif kind == "quarantine":
                row = {
                    **base,
                    "starts_at": _time(body["start"]),
                    "ends_at": _time(body["end"]),
                    "kind": body.get("quarantine_kind") or "central",
                }
                wrote = insert_ignore(conn, quarantine_orders, row)
            elif kind == "test":
                row = {
                    **base,
                    "sampled_at": _time(body["sampled_at"]),
                    "reported_at": _time(body["reported_at"]),
                    "outcome": body["outcome"],
                    "lab": str(body.get("lab") or body.get("lab_id") or "")[:64],
                }
                wrote = insert_ignore(conn, test_results, row)
            elif kind == "summary":
                if item.get("region") == self.service.region:
                    continue
                row = {
                    **base,
                    "region": item.get("region") or "",
                    "colour": body["colour"],
                    "reasons": list(body.get("reasons", [])),
                    "colour_since": _time(body.get("colour_since")),
                    "assessed_at": _time(body["assessed_at"]),
                }
                wrote = insert_ignore(conn, summaries, row)
            elif kind == "scan":
                at = _time(body["at"])
                row = {
                    "sid": sid,
                    "origin": seq,
                    "area": body["area"],
                    "arrived": at,
                    "left_at": at,
                    "source": "scan",
                    "created_at": now,
                    "expires_at": expires,
                }
                wrote = insert_ignore(conn, stays, row)
            else:
                continue
            if wrote:
                touched.add(sid)
        return touched

    def _mark_for_review(self, conn: Connection, areas: set[str], now: datetime) -> None:
        prefixes = {_prefix(a) for a in areas}
        condition = or_(*(stays.c.area.startswith(p) for p in prefixes))
        affected = select(stays.c.sid).where(condition, stays.c.voided_at.is_(None)).distinct()
        conn.execute(
            update(assessments).where(assessments.c.sid.in_(affected)).values(review_at=now)
        )

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

    def _save_cursor(self, conn: Connection, name: str, cursor: int, now: datetime) -> None:
        values = {"cursor": cursor, "synced_at": now, "attempted_at": now, "error": None}
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


def _current(key: Mapping[str, Any], now: datetime) -> bool:
    """A trust-list key that is active now (one that may prove a rotation)."""
    start, end = _time(key.get("not_before")), _time(key.get("not_after"))
    return (
        not key.get("revoked_at")
        and start is not None
        and start <= now
        and (end is None or end > now)
    )


def _prefix(area: str) -> str:
    """The code prefix shared by an area and everything inside it (330000 → 33, 330100 → 3301)."""
    if len(area) > 6:
        return area
    if area.endswith("0000"):
        return area[:2]
    if area.endswith("00"):
        return area[:4]
    return area
