"""Mode 2 at the hub: verify any region's code, and convert it to a national code.

One answer for every kind of code, in the shared vocabulary (the same shape as an issuer's
验码 answer), so a checkpoint in Guizhou reads a Hubei legacy code, a Zhejiang code and a
code of a region the hub hosts in the same way::

    {"valid": true, "issuer": "330000", "issuer_kind": "native|legacy|hosted|national",
     "kind": "dynamic|printed|legacy", "sid": ..., "colour": ..., "claimed_colour"?: ...,
     "colour_since"?, "reasons": [{"code", ...}], "turns_green"?, "hours_since_negative_test",
     "display": {"masked_name", "masked_id", "colour_zh", "colour_en"},
     "status": "online|summary|claims", "status_checked_at", "issued_at"?, "expires_at"?,
     "decision"?: (only when ``ctx.decider`` is set and a region is given)}

Where the colour comes from (``status``):

* ``online`` — the issuer said so just now: a native issuer over HTTP (``POST /v1/codes/verify``
  with the hub's outbound credential, a short timeout), a hosted region in-process, a legacy
  system through its adapter;
* ``summary`` — the native issuer did not answer, but it shared (Mode 1) a summary of this
  person newer than the code: the newest such summary;
* ``claims`` — neither: the colour the issuer signed into the code (a national code is always
  answered this way: it lives sixty seconds and *is* the hub's statement).

``CodeService.averify`` is the same answer for the event loop (Mode 2's verify route): the
signature is checked there, the native issuer is asked over keep-alive connections
(``adapters.nodehttp``, aiohttp), and the audit row is committed by the audit log's writer
thread while the request waits for it; only what needs the database or a synchronous adapter
(a refresh of the keyring or of a policy, a hosted region, a legacy system, a summary to fall
back on) goes to a worker thread.

A code that fails any check is ``InvalidCode`` (422, opaque). A legacy code whose system does
not answer is ``Unavailable`` (503): a legacy code carries nothing to fall back on, and a
checkpoint must be told "cannot check now", never "invalid".
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from yimatong.adapters.db.audit import AuditWriter
from yimatong.adapters.db.counters import next_value
from yimatong.adapters.db.tables import hub_feed
from yimatong.adapters.hubclient import AsyncNodeClient, NodeClient, ThreadedSend
from yimatong.adapters.legacy_hbjkm import HbjkmAdapter, LegacyVerdict
from yimatong.adapters.nodehttp import PooledSend
from yimatong.adapters.wire.code import PREFIX, Keyring, encode_code, peek_code, verify_code_at
from yimatong.credentials import Caller, require_role
from yimatong.domain.edge import is_digits
from yimatong.domain.errors import (
    InvalidCode,
    InvalidInput,
    Unavailable,
    UnknownKey,
    YimatongError,
)
from yimatong.domain.facts import TestOutcome
from yimatong.domain.token import CodeKind, HealthClaims
from yimatong.hub.codes_answer import (
    COLOURS,
    Verification,
    display,
    from_answer,
    from_claims,
    national_claims,
    read_hours,
    read_reasons,
    read_time,
    readable_answer,
)
from yimatong.hub.context import HubContext
from yimatong.hub.data import register_subjects
from yimatong.hub.registry import NATIONAL

__all__ = [
    "LEGACY_ADAPTERS",
    "RETRY_AFTER",
    "STATUS_TIMEOUT",
    "CodeService",
    "Decider",
    "HostedStatus",
    "LegacyAdapter",
]

log = logging.getLogger("yimatong.hub")

#: Seconds the hub waits for an issuer's status; a checkpoint is waiting behind it.
STATUS_TIMEOUT = 1.5
#: After an issuer failed to answer, the hub skips it (summary or claims at once) this long,
#: so that a dead issuer costs its checkpoints one timeout, not one per scan.
RETRY_AFTER = timedelta(seconds=5)
#: A legacy verdict identical to the last one recorded is recorded again only after this.
SUMMARY_REFRESH = timedelta(hours=1)

_EPOCH = datetime.fromtimestamp(0, UTC)


# ---------------------------------------------------------------------------- contracts
class Decider(Protocol):
    """The seam for entry policies (built with the checkpoint work, wired as ``ctx.decider``).

    Called with the verification answer (the JSON-ready dict above, without ``decision``) and
    the region whose policy applies; what it returns is answered under ``"decision"``. A
    decider may also have ``ready(region) -> bool``, True when a call needs no database work:
    ``averify`` then calls it on the event loop, otherwise in a worker thread.
    """

    def __call__(
        self,
        verification: Mapping[str, Any],
        *,
        at_region: str,
        place_kind: str | None,
        temperature: float | None,
        now: datetime,
    ) -> Mapping[str, Any] | None: ...


class HostedStatus(Protocol):
    """A hosted region as Mode 2 sees it (``hub.hosting.HostedIssuer``)."""

    def verify(self, code: str) -> Mapping[str, Any]: ...

    def sync_keys(self) -> bool: ...


class LegacyAdapter(Protocol):
    """What the hub needs of a legacy system's adapter (``adapters/legacy_hbjkm.py``)."""

    def verify(self, code: str, *, now: datetime) -> LegacyVerdict: ...

    def close(self) -> None: ...


def _hbjkm(
    base_url: str,
    *,
    app_key: str,
    app_secret: str,
    region: str,
    federation_secret: bytes,
    client: httpx.Client | None,
) -> LegacyAdapter:
    return HbjkmAdapter(
        base_url,
        app_key=app_key,
        app_secret=app_secret,
        region=region,
        federation_secret=federation_secret,
        client=client,
        timeout=STATUS_TIMEOUT,
    )


#: Legacy systems the hub can speak to, by the prefix of their codes. A legacy issuer is
#: registered with that prefix and ``outbound_token`` = ``"appKey:appSecret"`` (its partner
#: credentials for the hub, stored encrypted by the registry).
LEGACY_ADAPTERS: dict[str, Callable[..., LegacyAdapter]] = {"HBJKM:": _hbjkm}


# ---------------------------------------------------------------------------- the service
@dataclass
class _Registered:
    """The registry as of one trust-list version: keyring, issuers by region, legacy prefixes."""

    ring: Keyring
    issuers: dict[str, Any]
    legacy: list[tuple[str, Any]] = field(default_factory=list)


class CodeService:
    """Mode 2's use cases: ``verify`` (checkpoints, nodes, staff) and ``convert`` (anyone)."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.retention = timedelta(days=ctx.settings.retention_days)
        self._lock = threading.Lock()
        self._registered: _Registered | None = None
        self._http: httpx.Client | None = None
        self._nodes: dict[tuple[str, str, bytes | None], NodeClient] = {}
        # averify's clients: one connection pool for the event loop they belong to
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: PooledSend | None = None
        self._anodes: dict[tuple[str, str, bytes | None], AsyncNodeClient] = {}
        self._legacy: dict[tuple[str, str, bytes | None], LegacyAdapter] = {}
        self._down_until: dict[str, datetime] = {}
        self._audits = AuditWriter(ctx.db)

    def close(self) -> None:
        """Release the clients and stop the audit writer (after the requests in flight).

        The service stays usable: a later call makes new clients (a node started again).
        """
        self._audits.close()
        with self._lock:
            legacy, self._legacy = self._legacy, {}
            http, self._http = self._http, None
            self._nodes = {}
        for adapter in legacy.values():
            adapter.close()
        if http is not None:
            http.close()

    async def aclose(self) -> None:
        """``close``, on the event loop that ``averify`` ran on (the node's shutdown)."""
        pool, self._loop, self._pool, self._anodes = self._pool, None, None, {}
        if pool is not None:
            await pool.aclose()
        await run_in_threadpool(self.close)

    # ------------------------------------------------------------------ use cases
    def verify(
        self,
        caller: Caller,
        code: str,
        *,
        at_region: str | None = None,
        temperature: float | None = None,
        place_kind: str | None = None,
        checkpoint: str | None = None,
    ) -> dict[str, Any]:
        """验码 for a code of any region; adds a decision under ``at_region`` (see Decider).

        ``checkpoint``: for whom a node asks (an issuer relaying its checkpoint page), named
        in the audit row's purpose.
        """
        require_role(caller, "checkpoint", "node", "staff", "admin")
        now = self.ctx.clock()
        region = at_region or _region_scope(caller)
        # Counted for the dashboards (in memory, adapters/db/tallies.py), answered or not.
        try:
            checked = self.check(code, now)
        except YimatongError:
            self.ctx.tallies.count("mode2", region=region or "", label="refused")
            raise
        self.ctx.tallies.count("mode2", region=region or "", grp=checked.issuer, label="verify")
        self._audit(caller, checked, "code.verify", _verify_purpose(region, checkpoint), now)
        result = checked.view()
        decider = self.ctx.decider
        if decider is not None and region is not None:
            result["decision"] = self._decide(
                decider,
                result,
                region=region,
                place_kind=place_kind,
                temperature=temperature,
                now=now,
            )
        return result

    async def averify(
        self,
        caller: Caller,
        code: str,
        *,
        at_region: str | None = None,
        temperature: float | None = None,
        place_kind: str | None = None,
        checkpoint: str | None = None,
    ) -> dict[str, Any]:
        """``verify`` on the event loop: the same answer, the same audit row before it."""
        require_role(caller, "checkpoint", "node", "staff", "admin")
        now = self.ctx.clock()
        region = at_region or _region_scope(caller)
        try:
            checked = await self._acheck(code, now)
        except YimatongError:
            await self._acount(region=region or "", label="refused")
            raise
        await self._acount(region=region or "", grp=checked.issuer, label="verify")
        purpose = _audit_purpose(checked, _verify_purpose(region, checkpoint))
        if purpose is not None:
            await self._audits.awrite(caller, "code.verify", [checked.sid], purpose, now)
        result = checked.view()
        decider = self.ctx.decider
        if decider is not None and region is not None:

            def decide() -> Any:
                return self._decide(
                    decider,
                    result,
                    region=region,
                    place_kind=place_kind,
                    temperature=temperature,
                    now=now,
                )

            ready = getattr(decider, "ready", None)
            if ready is not None and ready(region):
                result["decision"] = decide()
            else:
                result["decision"] = await run_in_threadpool(decide)
        return result

    async def _acount(self, *, region: str, grp: str = "", label: str) -> None:
        """A Mode 2 call counted; a due write of the counts goes to a worker thread."""
        if self.ctx.tallies.count("mode2", region=region, grp=grp, label=label, write=False):
            await run_in_threadpool(lambda: self.ctx.tallies.flush(wait=False))

    def convert(
        self, code: str, *, caller: Caller | None = None, client: str = "unknown"
    ) -> dict[str, Any]:
        """Any valid regional code → a national code (``iss`` 000000, dynamic, 60 s).

        Public: an anonymous caller is limited per client address (``convert.address``), a
        credential (a node converting for its citizens) per credential (``convert.credential``).
        Bad codes count too: the limit protects the signature checks and the issuers.
        """
        if caller is None:
            self.ctx.limits.hit("convert.address", client, what="conversions from this address")
        else:
            self.ctx.limits.hit("convert.credential", caller.name, what="conversions")
        now = self.ctx.clock()
        try:
            checked = self.check(code, now)
        except YimatongError:
            self.ctx.tallies.count("mode2", label="refused")
            raise
        self.ctx.tallies.count("mode2", grp=checked.issuer, label="convert")
        self._audit(caller, checked, "code.convert", "Mode 2 conversion to a national code", now)
        if checked.issuer_kind == "national":
            raise InvalidInput(
                "this is already a national code; convert the code of the issuing region",
                field="code",
            )
        if checked.sid is None:
            raise InvalidInput(
                f"legacy issuer {checked.issuer} did not disclose who holds this code, so the "
                "hub cannot make a national code of it; show the original code instead",
                field="code",
            )
        if checked.status == "claims" and checked.kind != CodeKind.DYNAMIC.value:
            # A printed card's colour may be weeks old: it is converted only with a fresh status.
            raise Unavailable(
                f"issuer {checked.issuer} cannot confirm this card's colour now; try again later"
            )
        claims = national_claims(checked, now)
        return {
            "code": encode_code(claims, self.ctx.hub_key()),
            "issuer": NATIONAL,
            "kind": claims.kind.value,
            "colour": claims.colour.value,
            "issued_at": claims.issued_at,
            "expires_at": claims.expires_at,
            "display": display(claims.masked_name, claims.masked_id, claims.colour.value),
            "source_issuer": checked.issuer,
            "source_issuer_kind": checked.issuer_kind,
            "source_status": checked.status,
        }

    def _audit(
        self, caller: Caller | None, checked: Verification, action: str, purpose: str, now: datetime
    ) -> None:
        """A status the hub read for the caller is audited (``_audited`` says when)."""
        audited = _audit_purpose(checked, purpose)
        if audited is None:
            return
        # Group commits: the row is durable before the answer, one flush for many readers.
        self._audits.write(caller, action, [checked.sid], audited, now)

    def check(self, code: str, now: datetime) -> Verification:
        """Verify ``code`` and find its current status; InvalidCode or Unavailable if not."""
        if not isinstance(code, str):
            raise TypeError("a code is a str")
        try:
            return self._check(code, now)
        except InvalidCode as exc:
            log.info("code refused: %s", exc.detail)  # the operator's reason; never the code
            raise

    def _check(self, code: str, now: datetime) -> Verification:
        if code.startswith(PREFIX):
            return self._check_ymt1(code, now)
        return self._check_legacy(code, now)

    async def _acheck(self, code: str, now: datetime) -> Verification:
        """``check`` on the event loop: a native issuer's code without a worker thread."""
        if not isinstance(code, str):
            raise TypeError("a code is a str")
        try:
            if not code.startswith(PREFIX):
                return await run_in_threadpool(self._check_legacy, code, now)
            registered = self._fresh()
            if registered is None:
                registered = await run_in_threadpool(self._current)
            try:
                claims = verify_code_at(code, registered.ring, now)
            except UnknownKey:  # perhaps a hosted region's new key: publish it, then retry
                return await run_in_threadpool(self._check_ymt1, code, now)
            row = registered.issuers.get(claims.issuer)
            kind = row.kind if row is not None else "native"
            if claims.issuer == NATIONAL or kind == "national":
                return from_claims(claims, "national", now)
            if kind == "hosted":
                return await run_in_threadpool(self._status, claims, row, kind, code, now)
            answer = await self._aonline_status(row, code, now)
            if answer is not None:
                return from_answer(claims, kind, answer, now)
            return await run_in_threadpool(self._fallback, claims, kind, now)
        except InvalidCode as exc:
            log.info("code refused: %s", exc.detail)  # the operator's reason; never the code
            raise

    # ------------------------------------------------------------------ YMT1 codes
    def _check_ymt1(self, code: str, now: datetime) -> Verification:
        registered = self._current()
        try:
            claims = verify_code_at(code, registered.ring, now)
        except UnknownKey:
            if not self._sync_hosted(code):
                raise
            registered = self._current()
            claims = verify_code_at(code, registered.ring, now)
        row = registered.issuers.get(claims.issuer)
        kind = row.kind if row is not None else "native"
        if claims.issuer == NATIONAL or kind == "national":
            return from_claims(claims, "national", now)
        return self._status(claims, row, kind, code, now)

    def _status(
        self, claims: HealthClaims, row: Any, kind: str, code: str, now: datetime
    ) -> Verification:
        """The current status of a verified code of a hosted or native issuer."""
        if kind == "hosted":
            hosted = self.ctx.hosted_services.get(claims.issuer)
            answer = self._hosted_status(hosted, code) if hosted is not None else None
        else:
            answer = self._online_status(row, code, now)
        if answer is not None:
            return from_answer(claims, kind, answer, now)
        return self._fallback(claims, kind, now)

    def _sync_hosted(self, code: str) -> bool:
        """A kid the trust list lacks may be a hosted region's new key: publish, then retry."""
        try:
            issuer = peek_code(code).issuer
        except InvalidCode:
            return False
        hosted = self.ctx.hosted_services.get(issuer)
        if hosted is None:
            return False
        try:
            return bool(hosted.sync_keys())
        except SQLAlchemyError as exc:
            log.warning("could not publish hosted region %s's keys: %s", issuer, type(exc).__name__)
            return False

    def _hosted_status(self, hosted: HostedStatus, code: str) -> Mapping[str, Any] | None:
        try:
            answer: Mapping[str, Any] = hosted.verify(code)
            return answer
        except Unavailable:
            return None

    def _online_status(self, row: Any, code: str, now: datetime) -> Mapping[str, Any] | None:
        """The native issuer's own 验码 answer, or None if it cannot give one now."""
        if not self._may_ask(row, now):
            return None
        try:
            answer = self._node_client(row).post_json(
                "/v1/codes/verify", {"code": code}, timeout=STATUS_TIMEOUT
            )
        except InvalidCode:
            raise  # the issuer itself refuses the code (a key it revoked, a purged subject)
        except YimatongError as exc:
            self._no_answer(row.region, exc, now)
            return None
        return self._readable(row.region, answer)

    async def _aonline_status(self, row: Any, code: str, now: datetime) -> Mapping[str, Any] | None:
        """``_online_status`` awaited on the event loop, through the pooled AsyncClient."""
        if not self._may_ask(row, now):
            return None
        try:
            answer = await self._async_node_client(row).post_json(
                "/v1/codes/verify", {"code": code}, timeout=STATUS_TIMEOUT
            )
        except InvalidCode:
            raise  # the issuer itself refuses the code (a key it revoked, a purged subject)
        except YimatongError as exc:
            self._no_answer(row.region, exc, now)
            return None
        return self._readable(row.region, answer)

    def _may_ask(self, row: Any, now: datetime) -> bool:
        """A native issuer with an endpoint, active, and not skipped after a failure."""
        if row is None or not row.endpoint or row.status != "active":
            return False
        return self._down_until.get(row.region, _EPOCH) <= now

    def _no_answer(self, region: str, exc: YimatongError, now: datetime) -> None:
        if isinstance(exc, Unavailable):
            log.warning("issuer %s: no status (%s)", region, exc.message)
        else:
            log.error(
                "issuer %s refused the hub's status look-up (%s: %s): check the outbound "
                "credential registered for it",
                region,
                type(exc).__name__,
                exc.message,
            )
        self._down_until[region] = now + RETRY_AFTER

    @staticmethod
    def _readable(region: str, answer: Any) -> Mapping[str, Any] | None:
        if not readable_answer(answer, region):
            log.warning("issuer %s: an answer the hub cannot read", region)
            return None
        readable: Mapping[str, Any] = answer
        return readable

    def _fallback(self, claims: HealthClaims, kind: str, now: datetime) -> Verification:
        """The newest Mode 1 summary newer than the code, else the signed claims."""
        with self.ctx.db.read() as conn:
            row = conn.execute(
                _LATEST_SUMMARY, {"sid": claims.sid, "region": claims.issuer, "now": now}
            ).first()
        summary = _summary(row) if row is not None else None
        if summary is None or summary[1] <= claims.issued_at:
            return from_claims(claims, kind, now)
        body, assessed_at = summary
        colour = str(body["colour"])
        return Verification(
            issuer=claims.issuer,
            issuer_kind=kind,
            kind=claims.kind.value,
            sid=claims.sid,
            colour=colour,
            claimed_colour=claims.colour.value,
            colour_since=read_time(body.get("colour_since")),
            reasons=read_reasons(body.get("reasons")),
            hours_since_negative_test=read_hours(body.get("hours_since_negative_test")),
            masked_name=claims.masked_name,
            masked_id=claims.masked_id,
            status="summary",
            status_checked_at=assessed_at,
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
        )

    # ------------------------------------------------------------------ legacy codes
    def _check_legacy(self, code: str, now: datetime) -> Verification:
        registered = self._current()
        row = next((r for prefix, r in registered.legacy if code.startswith(prefix)), None)
        if row is None:
            raise InvalidCode("unknown prefix")
        verdict = self._adapter(row).verify(code, now=now)
        if verdict.sid is not None:
            self._record(verdict, now)
        since_negative = None
        tested = verdict.test_sampled_at or verdict.test_reported_at
        if verdict.test_outcome is TestOutcome.NEGATIVE and tested is not None:
            since_negative = max(0, int((now - tested).total_seconds() // 3600))
        return Verification(
            issuer=verdict.issuer,
            issuer_kind="legacy",
            kind="legacy",
            sid=verdict.sid,
            colour=verdict.colour.value,
            colour_since=verdict.status_since,
            reasons=tuple(
                {"code": r, "legacy_status": verdict.legacy_status} for r in verdict.reasons
            ),
            hours_since_negative_test=since_negative,
            masked_name=verdict.masked_name,
            masked_id=verdict.masked_id,
            status="online",
            status_checked_at=verdict.checked_at,
        )

    def _adapter(self, row: Any) -> LegacyAdapter:
        key = (row.region, row.endpoint or "", row.enc_outbound)
        adapter = self._legacy.get(key)
        if adapter is not None:
            return adapter
        make = next(
            (f for p, f in LEGACY_ADAPTERS.items() if (row.legacy_prefix or "").startswith(p)),
            None,
        )
        if make is None or not row.endpoint:
            raise Unavailable(f"the hub has no adapter configured for legacy issuer {row.region}")
        token = self.ctx.registry.outbound_token(row) or ""
        app_key, sep, app_secret = token.partition(":")
        if not sep or not app_key or not app_secret:
            log.error(
                "legacy issuer %s is registered without partner credentials "
                "(outbound_token 'appKey:appSecret')",
                row.region,
            )
            raise Unavailable(f"the hub has no partner credentials for legacy issuer {row.region}")
        adapter = make(
            row.endpoint,
            app_key=app_key,
            app_secret=app_secret,
            region=row.region,
            federation_secret=self.ctx.federation_secret,
            client=self.ctx.clients(row.endpoint) if self.ctx.clients is not None else None,
        )
        with self._lock:
            for old in [k for k in self._legacy if k[0] == row.region]:
                self._legacy.pop(old).close()
            self._legacy[key] = adapter
        return adapter

    def _record(self, verdict: LegacyVerdict, now: datetime) -> None:
        """What the hub learned from a legacy system, shared as a Mode 1 summary."""
        assert verdict.sid is not None
        body = {
            "colour": verdict.colour.value,
            "reasons": list(verdict.reasons),
            "colour_since": verdict.status_since.isoformat() if verdict.status_since else None,
            "assessed_at": verdict.checked_at.isoformat(),
        }
        params = {"sid": verdict.sid, "region": verdict.issuer, "now": now}
        try:
            with self.ctx.db.uow() as uow:
                conn = uow.conn
                last = conn.execute(_LATEST_SUMMARY, params).first()
                same = (
                    last is not None
                    and last.created_at > now - SUMMARY_REFRESH
                    and {k: last.body.get(k) for k in ("colour", "reasons", "colour_since")}
                    == {k: body[k] for k in ("colour", "reasons", "colour_since")}
                )
                if not same:
                    conn.execute(
                        insert(hub_feed).values(
                            seq=next_value(conn, "feed"),
                            sid=verdict.sid,
                            kind="summary",
                            region=verdict.issuer,
                            body=body,
                            dedupe=None,
                            created_at=now,
                            expires_at=now + self.retention,
                        )
                    )
                register_subjects(conn, [verdict.sid], verdict.issuer, now)
                uow.commit()
        except SQLAlchemyError as exc:
            # The checkpoint still gets its answer; the summary waits for the next scan.
            log.warning("could not record a legacy summary: %s", type(exc).__name__)

    # ------------------------------------------------------------------ helpers
    def _fresh(self) -> _Registered | None:
        """The registry as ``_current`` has it, if that needs no database work now."""
        ring = self.ctx.registry.cached_keyring()
        cached = self._registered
        if ring is not None and cached is not None and cached.ring is ring:
            return cached
        return None

    def _current(self) -> _Registered:
        """The registry's keyring and issuers, re-read only when the trust version moves."""
        ring = self.ctx.registry.keyring()
        cached = self._registered
        if cached is not None and cached.ring is ring:
            return cached
        rows = self.ctx.registry.issuers_by_kind("native")
        rows += self.ctx.registry.issuers_by_kind("hosted")
        rows += self.ctx.registry.issuers_by_kind("national")
        legacy = [r for r in self.ctx.registry.issuers_by_kind("legacy") if r.status == "active"]
        rows += legacy
        registered = _Registered(
            ring=ring,
            issuers={r.region: r for r in rows},
            legacy=sorted(
                ((r.legacy_prefix, r) for r in legacy if r.legacy_prefix),
                key=lambda item: -len(item[0]),
            ),
        )
        self._registered = registered
        return registered

    def _node_client(self, row: Any) -> NodeClient:
        key = (row.region, row.endpoint, row.enc_outbound)
        client = self._nodes.get(key)
        if client is not None:
            return client
        if self.ctx.clients is not None:
            http = self.ctx.clients(row.endpoint)
        else:
            with self._lock:
                if self._http is None:
                    self._http = httpx.Client(
                        timeout=STATUS_TIMEOUT,
                        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                    )
                http = self._http
        client = NodeClient(
            row.endpoint,
            self.ctx.registry.outbound_token(row),
            client=http,
            timeout=STATUS_TIMEOUT,
            name=f"issuer {row.region}",
        )
        with self._lock:
            for old in [k for k in self._nodes if k[0] == row.region]:
                del self._nodes[old]
            self._nodes[key] = client
        return client

    def _async_node_client(self, row: Any) -> AsyncNodeClient:
        """The issuer's client for the running event loop (one pool for every issuer)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # the first call (or a test's new loop): a fresh pool
            self._loop, self._pool, self._anodes = loop, None, {}
        key = (row.region, row.endpoint, row.enc_outbound)
        client = self._anodes.get(key)
        if client is not None:
            return client
        if self.ctx.clients is not None:
            send: Any = ThreadedSend(self.ctx.clients(row.endpoint))
        else:
            if self._pool is None:
                self._pool = PooledSend()
            send = self._pool
        client = AsyncNodeClient(
            row.endpoint,
            self.ctx.registry.outbound_token(row),
            send=send,
            timeout=STATUS_TIMEOUT,
            name=f"issuer {row.region}",
        )
        for old in [k for k in self._anodes if k[0] == row.region]:
            del self._anodes[old]
        self._anodes[key] = client
        return client

    @staticmethod
    def _decide(
        decider: Decider,
        result: Mapping[str, Any],
        *,
        region: str,
        place_kind: str | None,
        temperature: float | None,
        now: datetime,
    ) -> Any:
        try:
            return decider(
                result, at_region=region, place_kind=place_kind, temperature=temperature, now=now
            )
        except YimatongError:
            raise
        except Exception as exc:
            # A broken policy must not turn a scan into a 500: a person checks instead.
            log.error("entry policy of %s failed: %s", region, type(exc).__name__)
            return {
                "outcome": "CHECK",
                "reasons_zh": ["通行规则无法执行，请人工核验"],
                "reasons_en": ["the entry policy could not be evaluated; check by hand"],
            }


# ---------------------------------------------------------------------------- pure helpers
_LATEST_SUMMARY = (
    select(hub_feed.c.body, hub_feed.c.created_at)
    .where(
        hub_feed.c.sid == bindparam("sid"),
        hub_feed.c.kind == "summary",
        hub_feed.c.region == bindparam("region"),
        hub_feed.c.expires_at > bindparam("now"),
    )
    .order_by(hub_feed.c.seq.desc())
    .limit(1)
)


def _verify_purpose(region: str | None, checkpoint: str | None) -> str:
    purpose = f"Mode 2 验码 at {region or 'no region'}"
    return f"{purpose} for checkpoint {checkpoint}" if checkpoint else purpose


def _audit_purpose(checked: Verification, purpose: str) -> str | None:
    """The audit row's purpose for a read of ``checked`` (with the status it was read from),
    or None when nothing of the person's was read (``_audited``)."""
    return f"{purpose} ({checked.status})" if _audited(checked) else None


def _audited(checked: Verification) -> bool:
    """A status read for the caller (from the issuer or a summary) leaves an audit row.

    A national code, or a code answered from its own claims, shows only what the holder
    already shows: nothing of the person's was read, so nothing is written.
    """
    return checked.sid is not None and checked.status in ("online", "summary")


def _region_scope(caller: Caller) -> str | None:
    """A checkpoint's credential is scoped to the region where it stands."""
    scope = caller.scope
    if caller.role == "checkpoint" and is_digits(scope, 6):
        return scope
    return None


def _summary(row: Any) -> tuple[Mapping[str, Any], datetime] | None:
    body = row.body
    if not isinstance(body, Mapping) or body.get("colour") not in COLOURS:
        return None
    return body, read_time(body.get("assessed_at")) or row.created_at
