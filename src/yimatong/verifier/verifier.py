"""The offline-first verifier: what a checkpoint does with one scan.

For a ``YMT1`` code: check the signature, the key's validity and the expiry against the cached
trust list (offline, microseconds); ask the hub's Mode 2 verify for the current status (online,
a short timeout); decide PASS/DENY/CHECK under the cached policy of the region where the gate
stands; record the scan. With no network the decision is made from the signed claims and marked
``offline`` — unless the local clock cannot be trusted, the lists are too old, or the code is a
printed card (whose colour may be weeks old): then CHECK, saying why.

A travel code (行程码, ``YMTT1:``, docs/travel.md) is not a health code: it is verified offline
against the same trust list and shown with its cities, with no colour, no decision and no scan
record; the gate checks a health code too.

A legacy code (a prefix from the trust list) and an ID number typed at the gate can only be
checked online, through the hub; offline they are CHECK.

The policy that decides is the one the hub signed for the region where the gate stands; one
never fetched is not known, and a decision without it is CHECK (or, online, the hub's own
decision), never the national default. When a call to the hub fails, ``link`` says what
happened (``verifier/link.py``: credential refused, hub unreachable, not a hub) and every scan
decided without the hub carries it.

Lists (trust list, risk areas, policies) are kept in a ``DiskCache`` as the hub signed them,
refreshed with ETags and deltas; see ``verifier/cache.py`` and ``verifier/lists.py``. Clock
safety is ``verifier/clock.py``. Every scan goes into the ``ScanQueue`` before its decision is
returned, and is uploaded by ``upload()``.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from yimatong.adapters.crypto import VerifyingKey, load_verifying_key
from yimatong.adapters.hubclient import NodeClient
from yimatong.adapters.signed import BadDocument, verify_document
from yimatong.adapters.wire.code import PREFIX, verify_code_at
from yimatong.adapters.wire.hc1 import PREFIX as HC1_PREFIX
from yimatong.adapters.wire.shc import PREFIX as SHC_PREFIX
from yimatong.adapters.wire.travel_code import TRAVEL_PREFIX, verify_travel_code_at
from yimatong.domain.errors import (
    ExpiredCode,
    InvalidCode,
    InvalidDocument,
    InvalidInput,
    NotANode,
    NotFound,
    Unavailable,
    UnknownKey,
    YimatongError,
)
from yimatong.domain.identity import mask_name
from yimatong.domain.regions import default_divisions
from yimatong.domain.token import HealthClaims
from yimatong.verifier import texts
from yimatong.verifier.cache import CorruptCache, DiskCache, Stored
from yimatong.verifier.clock import (
    DEFAULT_MAX_DRIFT,
    Anchor,
    ClockVerdict,
    SystemTime,
    TimeSource,
    check_clock,
    parse_http_date,
)
from yimatong.verifier.international import InternationalResult, verify_dcc, verify_shc
from yimatong.verifier.link import LinkProblem, Trouble, diagnose
from yimatong.verifier.lists import (
    InternationalState,
    PolicyState,
    RiskState,
    TrustState,
    build_international,
    build_policies,
    build_risk,
    build_trust,
)
from yimatong.verifier.policy import (
    PLACE_KINDS,
    Decision,
    Facts,
    Outcome,
    decide,
    facts_from_answer,
    facts_from_claims,
    parse_time,
)
from yimatong.verifier.queue import Scan, ScanQueue, UploadReport, new_scan_id, upload

__all__ = ["CheckpointConfig", "Result", "Verifier", "load_hub_key"]

log = logging.getLogger("yimatong.verifier")

#: The cache entry of the hub's international trust (EU DCC signers, SMART Health Card issuers).
INTERNATIONAL = "international-trust"
NATIONAL_REGION = "000000"
#: Deltas kept on disk before the next refresh asks for the whole list again.
MAX_CHAIN = 50
#: "ID:414:E12345678" (a document type and number) or a bare resident ID number
_TYPED_ID = re.compile(r"ID:(?P<type>[0-9]{3}):(?P<number>\S{1,40})")
_RESIDENT_ID = re.compile(r"[0-9]{17}[0-9Xx]")
_PREFIXED = re.compile(r"[A-Z][A-Z0-9]{1,9}:")


def load_hub_key(text: str) -> VerifyingKey:
    """A pinned hub key from PEM text, a PEM file's path or base64 DER (ValueError if none)."""
    value = text.strip()
    path = Path(value)
    if not value.startswith("-----") and len(value) < 4096 and path.is_file():
        value = path.read_text(encoding="ascii").strip()
    if value.startswith("-----BEGIN"):
        return load_verifying_key(value.encode("ascii"))
    try:
        return load_verifying_key(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValueError("a hub key is PEM, a PEM file or base64 DER") from exc


@dataclass(frozen=True)
class CheckpointConfig:
    """Where the checkpoint stands and how it talks to the hub."""

    cache_dir: Path
    hub_url: str | None = None
    token: str | None = None
    #: the region whose entry policy applies; None: verify only, no decision
    at_region: str | None = None
    place_kind: str = "any"
    #: the checkpoint's name and area (6- or 9-digit) in scan records; no name: no records
    name: str | None = None
    area: str | None = None
    #: hub keys pinned by configuration; empty: trust the hub's key on first use (TOFU)
    hub_keys: tuple[VerifyingKey, ...] = ()
    #: ask this node's ``POST /v1/codes/verify`` for status instead of the hub's
    status_url: str | None = None
    offline: bool = False
    online_timeout: float = 1.5
    list_timeout: float = 5.0
    max_drift: timedelta = DEFAULT_MAX_DRIFT
    max_list_age: timedelta = timedelta(days=3)
    #: after a failed online call, scans are decided offline at once for this many seconds
    retry_after: float = 5.0
    retention: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        if self.place_kind not in PLACE_KINDS:
            raise ValueError(f"place_kind must be one of {', '.join(PLACE_KINDS)}")
        if self.at_region is not None and not re.fullmatch(r"[0-9]{6}", self.at_region):
            raise ValueError("at_region must be a six-digit region code")
        if self.area is not None and not re.fullmatch(r"[0-9]{6}(?:[0-9]{3})?", self.area):
            raise ValueError("area must be a six- or nine-digit code")


@dataclass(frozen=True)
class Result:
    """One scan's answer: the decision, where it came from, and what the gate may show."""

    at: datetime
    #: online: the hub answered; offline: decided from signed claims (or could not decide)
    mode: str
    decision: Decision | None
    valid: bool | None = None
    colour: str | None = None
    issuer: str | None = None
    kind: str | None = None
    status: str | None = None
    display: Mapping[str, str] | None = None
    temperature: float | None = None
    #: for the operator (English), e.g. why the hub was not asked
    notes: tuple[str, ...] = ()
    scan_id: str | None = None
    #: kept for the scan record only, never shown
    sid: str | None = field(default=None, repr=False)
    #: a travel code (行程码, ``YMTT1:``): its cities, as signed; never a colour or a decision
    travel: tuple[Mapping[str, Any], ...] | None = None

    @property
    def outcome(self) -> str | None:
        return self.decision.outcome.value if self.decision else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "decision": self.decision.to_dict() if self.decision else None,
            "mode": self.mode,
            "valid": self.valid,
            "colour": self.colour,
            "issuer": self.issuer,
            "kind": self.kind,
            "status": self.status,
            "display": dict(self.display) if self.display else None,
            "temperature": self.temperature,
            "at": self.at.isoformat(),
            "notes": list(self.notes),
            "scan_id": self.scan_id,
            "travel": [dict(c) for c in self.travel] if self.travel is not None else None,
        }

    def line(self) -> str:
        """One line for a gate's display or log: outcome, colour, masked identity, why."""
        shown = self.display or {}
        if self.travel is not None:
            cities = "、".join(str(c["shown"]) for c in self.travel) or "-"
            head = "VALID" if self.valid else "INVALID"
            parts = [
                f"{head:<5}",
                f"{texts.TRAVEL_CODE[0]}/{texts.TRAVEL_CODE[1]}",
                shown.get("masked_name") or "-",
                shown.get("masked_id") or "-",
                self.issuer or "-",
                cities,
            ]
            if any(c.get("star") for c in self.travel):
                parts.append(f"{texts.TRAVEL_STAR[0]} | {texts.TRAVEL_STAR[1]}")
            parts.extend(self.notes)
            return " ".join(p.replace("\n", " ").replace("\t", " ") for p in parts)
        colour_zh, colour_en = texts.colour_label(self.colour)
        outcome = self.outcome or ("VALID" if self.valid else "INVALID")
        label_zh, label_en = texts.OUTCOME.get(outcome, (outcome, outcome))
        mode = "在线 online" if self.mode == "online" else "离线 offline"
        parts = [
            f"{outcome:<5}",
            f"{label_zh}/{label_en}",
            f"{colour_zh}/{colour_en}" if self.colour else "-",
            shown.get("masked_name") or "-",
            shown.get("masked_id") or "-",
            self.issuer or "-",
            f"[{mode}]",
        ]
        if self.decision is not None:
            parts.append(
                "；".join(self.decision.reasons_zh) + " | " + "; ".join(self.decision.reasons_en)
            )
        return " ".join(p.replace("\n", " ").replace("\t", " ") for p in parts)


class Verifier:
    """One checkpoint's verifier: lists, clock, online status, decisions and scan records.

    Safe to use from the gate's thread while another thread calls ``refresh`` and ``upload``.
    """

    def __init__(
        self,
        config: CheckpointConfig,
        *,
        time_source: TimeSource | None = None,
        http: httpx.Client | None = None,
        status_http: httpx.Client | None = None,
    ) -> None:
        self.config = config
        self.time = time_source or SystemTime()
        self.cache = DiskCache(config.cache_dir)
        self.notes: list[str] = []
        self.trust: TrustState | None = None
        self.risk: RiskState | None = None
        self.policy: PolicyState | None = None
        #: EU DCC document signers and SMART Health Card issuers, from the hub
        self.international: InternationalState | None = None
        self._stored: dict[str, Stored] = {}
        self._pins: dict[bytes, VerifyingKey] = {k.kid: k for k in config.hub_keys}
        self._read_pins_saved = False
        self._floor: Anchor | None = None
        self._estimate: Anchor | None = None
        self._estimate_saved = float("-inf")
        self._down_until = float("-inf")
        self._refresh_lock = threading.Lock()
        #: the hub refused a code the cached lists accept (a key revoked since): refresh now
        self.stale = False
        #: what went wrong with the last call to the hub that failed (None: nothing since)
        self.link: LinkProblem | None = None
        self._lists: NodeClient | None = None
        self._status: NodeClient | None = None
        if config.hub_url and not config.offline:
            self._lists = NodeClient(
                config.hub_url, config.token, client=http, timeout=config.list_timeout, name="hub"
            )
        status_url = config.status_url or config.hub_url
        if status_url and not config.offline:
            self._status = NodeClient(
                status_url,
                config.token,
                client=status_http or http,
                timeout=config.online_timeout,
                name="hub" if not config.status_url else "node",
            )
        self._queue: ScanQueue | None = None
        self.load()

    # ------------------------------------------------------------------ life cycle
    def close(self) -> None:
        for client in (self._lists, self._status):
            if client is not None:
                client.close()
        if self._queue is not None:
            self._queue.close()

    @property
    def queue(self) -> ScanQueue:
        if self._queue is None:
            self.cache.ensure()
            self._queue = ScanQueue(self.config.cache_dir / "scans.sqlite")
        return self._queue

    @property
    def policy_name(self) -> str | None:
        region = self.config.at_region
        return f"policies-{region}" if region else None

    def load(self) -> None:
        """Read the lists from disk; a damaged file is discarded (fetched at the next refresh)."""
        pins = self._read("pins")
        if pins is not None:
            try:
                for item in pins.extra.get("keys", []):
                    key = load_verifying_key(base64.b64decode(item["public_key"]))
                    self._pins[key.kid] = key
                self._read_pins_saved = True
            except (KeyError, TypeError, ValueError):
                self._damaged("pins", "unreadable pinned keys")
        clock = self._read("clock")
        if clock is not None and clock.anchor:
            try:
                self._estimate = Anchor.from_dict(clock.anchor)
            except (KeyError, TypeError, ValueError):
                self._damaged("clock", "unreadable")
        trust = self._read("trust-list")
        if trust is not None:
            try:
                self.trust = build_trust(trust.documents, self._doc_keys())
                self._stored["trust-list"] = trust
                self._note_floor(trust)
            except BadDocument as exc:
                self._damaged("trust-list", str(exc))
        if self.trust is None:
            return
        risk = self._read("risk-areas")
        if risk is not None:
            try:
                self.risk = build_risk(risk.documents, self.trust.hub_keys)
                self._stored["risk-areas"] = risk
                self._note_floor(risk)
            except BadDocument as exc:
                self._damaged("risk-areas", str(exc))
        international = self._read(INTERNATIONAL)
        if international is not None:
            try:
                self.international = build_international(
                    international.documents, self.trust.hub_keys
                )
                self._stored[INTERNATIONAL] = international
                self._note_floor(international)
            except BadDocument as exc:
                self._damaged(INTERNATIONAL, str(exc))
        name = self.policy_name
        if name is not None and self.config.at_region is not None:
            stored = self._read(name)
            if stored is not None:
                try:
                    self.policy = build_policies(
                        stored.documents, self.trust.hub_keys, self.config.at_region
                    )
                    self._stored[name] = stored
                    self._note_floor(stored)
                except BadDocument as exc:
                    self._damaged(name, str(exc))

    def _read(self, name: str) -> Stored | None:
        try:
            return self.cache.load(name)
        except CorruptCache as exc:
            self._damaged(name, str(exc))
            return None

    def _damaged(self, name: str, why: str) -> None:
        log.warning("cache %s is damaged (%s): discarded, it will be fetched again", name, why)
        self.notes.append(f"cache {name} was damaged ({why}); it is fetched again")
        self.cache.discard(name)

    def _note_floor(self, stored: Stored) -> None:
        if not stored.anchor:
            return
        try:
            anchor = Anchor.from_dict(stored.anchor)
        except (KeyError, TypeError, ValueError):
            return
        floor, boot = self._floor, self.time.boot()
        if floor is None or (anchor.boot == boot and floor.boot != boot):
            self._floor = anchor
        elif anchor.boot == floor.boot:
            # Within one boot, hub >= anchor.hub + elapsed since: the larger bound wins.
            if anchor.hub.timestamp() - anchor.elapsed > floor.hub.timestamp() - floor.elapsed:
                self._floor = anchor
        elif floor.boot != boot and anchor.hub > floor.hub:
            self._floor = anchor

    # ------------------------------------------------------------------ the hub's time
    def _saw_hub(self, response: httpx.Response) -> None:
        """Every answer of the hub carries its time (``Date``): keep it as the clock estimate."""
        when = parse_http_date(response.headers.get("date"))
        if when is None:
            return
        anchor = Anchor.now(when, self.time, signed=False)
        self._estimate = anchor
        # Kept on disk only when the lists come from the hub too (not for ``--node`` alone).
        if self._lists is not None and anchor.elapsed - self._estimate_saved > 60:
            self._estimate_saved = anchor.elapsed
            self.cache.save(Stored(name="clock", documents=[], anchor=anchor.to_dict()))

    def clock_verdict(self) -> ClockVerdict:
        return check_clock(
            floor=self._floor,
            estimate=self._estimate,
            source=self.time,
            max_drift=self.config.max_drift,
        )

    def lists_age(self) -> timedelta | None:
        """How long since the hub last confirmed the trust list current (None: never)."""
        return self.list_age("trust-list")

    def _oldest_list_age(self) -> timedelta | None:
        """The age of the oldest list an offline decision here rests on (None: none is kept)."""
        names = ["trust-list", "risk-areas"]
        if self.policy is not None and self.policy_name is not None:
            names.append(self.policy_name)
        ages = [a for a in (self.list_age(n) for n in names) if a is not None]
        return max(ages) if ages else None

    # ------------------------------------------------------------------ refreshing
    @property
    def online_possible(self) -> bool:
        if self._status is None or self.time.elapsed() < self._down_until:
            return False
        # A URL whose lists are not our hub's is not asked for a status either: its "green"
        # would be believed without anything signed behind it.
        link = self.link
        return not (link and link.lists_unusable and link.url == self._status.base_url)

    def _trouble(self, exc: Exception, client: NodeClient, *, trust_list: bool = False) -> None:
        """Note what a failed call says about the hub (``link``), said once in the log."""
        problem = diagnose(exc, client.base_url, trust_list=trust_list)
        if problem is None:
            return
        if problem.trouble is Trouble.NOT_A_HUB and trust_list:
            problem = self._what_is_there(client, problem)
        if problem != self.link:
            log.info("%s", problem.line())
        self.link = problem
        if problem.trouble is not Trouble.CREDENTIAL_REFUSED:
            self._went_down()

    def _what_is_there(self, client: NodeClient, problem: LinkProblem) -> LinkProblem:
        """A URL without a trust list: say what it is when it says so itself (``/healthz``)."""
        try:
            health = client.decode(client.request("GET", "/healthz", anonymous=True))
        except YimatongError:
            return problem
        role = health.get("role") if isinstance(health, dict) else None
        if not isinstance(role, str) or role == "hub":
            return problem
        region = health.get("region")
        what = f"the {role} node of {region}" if isinstance(region, str) else f"a {role} node"
        return replace(problem, detail=f"it is {what}; {problem.detail}")

    def _reached(self, client: NodeClient, *, authenticated: bool) -> None:
        """A call to ``client`` worked: a problem seen there is over (a refused credential only
        when the call carried it)."""
        link = self.link
        if link is None or link.url != client.base_url:
            return
        if authenticated or link.trouble is not Trouble.CREDENTIAL_REFUSED:
            log.info("the hub at %s answers again", link.url)
            self.link = None

    def list_age(self, name: str) -> timedelta | None:
        """How long since the hub last confirmed list ``name`` current (None: never)."""
        stored = self._stored.get(name)
        if stored is None or not stored.checked_at:
            return None
        return self.time.wall() - datetime.fromisoformat(stored.checked_at)

    def _went_down(self) -> None:
        self._down_until = self.time.elapsed() + self.config.retry_after

    def refresh(self, *, force: bool = False, max_age: timedelta | None = None) -> dict[str, str]:
        """Bring the lists up to date; {list: "updated" | "unchanged" | "error: ..."}.

        ``max_age``: ask only for the lists the hub confirmed longer ago than that. A list
        never fetched — the policies of a region this cache has not stood in — is always
        asked for, however fresh the others are.
        """
        if self._lists is None:
            return {}

        def due(name: str) -> bool:
            if force or max_age is None:
                return True
            age = self.list_age(name)
            return age is None or age > max_age

        report: dict[str, str] = {}
        away = False
        with self._refresh_lock:
            self.stale = False
            if due("trust-list"):
                report["trust-list"] = self._refresh_one("trust-list", force)
                away = report["trust-list"].startswith("error")  # do not wait for it again
            if self.trust is not None and not away:
                names = ["risk-areas", INTERNATIONAL]
                names += [self.policy_name] if self.policy_name else []
                for name in names:
                    if due(name):
                        report[name] = self._refresh_one(name, force)
        if report and all(not v.startswith("error") for v in report.values()):
            self._down_until = float("-inf")
        return report

    def _refresh_one(self, name: str, force: bool) -> str:
        assert self._lists is not None
        try:
            outcome = self._fetch(name, force)
        except BadDocument as exc:
            if name == "trust-list":
                self._trouble(exc, self._lists, trust_list=True)  # says it in ``link``
            else:
                log.warning("list %s did not verify: %s", name, exc)
            return f"error: BadDocument: {exc}"
        except NotFound as exc:
            if name == INTERNATIONAL:  # a hub without international trust: nothing wrong
                return f"error: NotFound: {exc.message}"
            self._trouble(exc, self._lists, trust_list=name == "trust-list")
            return f"error: {type(exc).__name__}: {exc.message}"
        except YimatongError as exc:
            self._trouble(exc, self._lists, trust_list=name == "trust-list")
            return f"error: {type(exc).__name__}: {exc.message}"
        self._reached(self._lists, authenticated=False)
        return outcome

    def _fetch(self, name: str, force: bool) -> str:
        assert self._lists is not None
        stored = self._stored.get(name)
        if name == "trust-list":
            path, current = "/v1/trust-list", self.trust.version if self.trust else 0
            full = (
                force or stored is None or (self.trust is not None and self.trust.hub_key_revoked)
            )
        elif name == "risk-areas":
            path, current = "/v1/risk-areas", self.risk.version if self.risk else 0
            full = force or stored is None
        elif name == INTERNATIONAL:
            path, current = "/v1/international-trust", 0  # one document, never a delta
            full = force or stored is None
        else:
            path, current = f"/v1/policies/{self.config.at_region}", 0
            full = force or stored is None
        if stored is not None and len(stored.documents) >= MAX_CHAIN:
            full = True
        since = 0 if full else current
        headers = {"If-None-Match": stored.etag} if stored is not None and stored.etag else {}
        if full:
            headers = {}
        params = {"since": since} if name in ("trust-list", "risk-areas") else None
        response = self._lists.request("GET", path, params=params, headers=headers, anonymous=True)
        self._saw_hub(response)
        now = self.time.wall().isoformat()
        if response.status_code == 304 and stored is not None:
            stored.checked_at = now
            self.cache.save(stored)
            return "unchanged"
        try:
            document = response.json()
        except ValueError:
            raise BadDocument("the hub's answer is not JSON") from None
        if name == "trust-list":
            if not self._pins:
                self._pin_first_use(document)
            payload = verify_document(document, self._doc_keys())
        else:
            payload = verify_document(document, self._hub_keys())
        version = int(payload.get("version") or 0)
        if since and version == current and int(payload.get("since") or 0) == current:
            # Nothing changed: keep the chain as it is, note the fresh signed time.
            assert stored is not None
            stored.etag = response.headers.get("etag")
            stored.checked_at = now
            stored.anchor = self._signed_anchor(payload)
            self.cache.save(stored)
            self._note_floor(stored)
            return "unchanged"
        documents = [*stored.documents, document] if since and stored is not None else [document]
        try:
            self._apply(name, documents)
        except BadDocument:
            if not since:
                raise
            return self._fetch(name, True)  # a broken chain: start again from a full list
        new = Stored(
            name=name,
            documents=documents,
            etag=response.headers.get("etag"),
            fetched_at=now,
            checked_at=now,
            anchor=self._signed_anchor(payload),
        )
        self.cache.save(new)
        self._stored[name] = new
        self._note_floor(new)
        return "updated"

    def _hub_keys(self) -> Mapping[bytes, VerifyingKey]:
        if self.trust is None:
            raise BadDocument("no trust list yet")
        return self.trust.hub_keys

    def _doc_keys(self) -> Mapping[bytes, VerifyingKey]:
        """Keys for a new trust-list document: the pins and every hub key trusted so far."""
        return {**self._pins, **(self.trust.hub_keys if self.trust else {})}

    def _apply(self, name: str, documents: list[dict[str, Any]]) -> None:
        if name == "trust-list":
            self.trust = build_trust(documents, self._doc_keys())
            self._save_pins(self.trust.hub_keys)
        elif name == "risk-areas":
            self.risk = build_risk(documents, self._hub_keys())
        elif name == INTERNATIONAL:
            self.international = build_international(documents, self._hub_keys())
        else:
            assert self.config.at_region is not None
            self.policy = build_policies(documents, self._hub_keys(), self.config.at_region)

    def _signed_anchor(self, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            issued = parse_time(payload.get("issued_at"))
        except ValueError:
            return None
        return Anchor.now(issued, self.time, signed=True).to_dict()

    def _pin_first_use(self, document: Any) -> None:
        """No hub key configured: trust the key that signs the first trust list (TOFU)."""
        try:
            kid_hex = document["signature"]["kid"]
            entry = next(
                k
                for k in document["payload"]["keys"]
                if k["kid"] == kid_hex and k["region"] == "000000"
            )
            key = load_verifying_key(base64.b64decode(entry["public_key"]))
        except (KeyError, TypeError, ValueError, StopIteration):
            raise BadDocument("the trust list is not signed by a hub key it lists") from None
        verify_document(document, {key.kid: key})
        self._save_pins({key.kid: key})
        self.notes.append(
            f"no hub key configured: trusting hub key {key.kid.hex()} on first use "
            "(pin it with --hub-key)"
        )

    def _save_pins(self, keys: Mapping[bytes, VerifyingKey]) -> None:
        """Remember the hub keys trusted now (pins, first use, rollover) for the next start.

        A rolled-over key must be kept: the next full trust list may be signed by it alone.
        """
        pins = {k.kid: k for k in self.config.hub_keys} | dict(keys)
        if pins.keys() == self._pins.keys() and self._read_pins_saved:
            return
        self._pins = pins
        self.cache.save(
            Stored(
                name="pins",
                documents=[],
                extra={
                    "keys": [
                        {
                            "kid": kid.hex(),
                            "public_key": base64.b64encode(key.spki_der()).decode("ascii"),
                        }
                        for kid, key in sorted(pins.items())
                    ]
                },
            )
        )
        self._read_pins_saved = True

    # ------------------------------------------------------------------ deciding
    def verify(self, text: str, *, temperature: float | None = None) -> Result:
        """Decide on one scanned code or typed ID number, and record the scan."""
        text = text.strip()
        now = self.time.wall()
        if text.startswith(PREFIX):
            result = self._ymt1(text, now, temperature)
        elif text.startswith((HC1_PREFIX, SHC_PREFIX)):
            result = self._international(text, now, temperature)
        elif text.startswith(TRAVEL_PREFIX):
            return self._travel(text, now)  # not a health code: no decision, no scan record
        else:
            typed = _TYPED_ID.fullmatch(text)
            if typed is not None:
                result = self._lookup(typed["type"], typed["number"], now, temperature)
            elif _RESIDENT_ID.fullmatch(text):
                result = self._lookup("111", text, now, temperature)
            else:
                result = self._other(text, now, temperature)
        return self._record(result)

    def _area_level(self, now: datetime) -> str | None:
        if self.risk is None:
            return None
        area = self.config.area or self.config.at_region
        return self.risk.level(area, now) if area else None

    def _decide(self, facts: Facts) -> Decision | None:
        if self.config.at_region is None:
            return None
        return decide(self.policy.policies if self.policy else None, facts)

    def _ask(self, path: str, body: dict[str, Any]) -> Any:
        """POST to the status node; what a failure says about the link is noted (``link``)."""
        client = self._status
        assert client is not None
        try:
            response = client.request("POST", path, json=body)
            answer = client.decode(response)
            if not isinstance(answer, dict) or answer.get("valid") is not True:
                raise NotANode(
                    f"{client.name} at {client.base_url} answered {path} with something that "
                    "is not a verification"
                )
        except YimatongError as exc:
            self._trouble(exc, client)
            raise
        self._saw_hub(response)
        self._reached(client, authenticated=True)
        return answer

    def _request_body(self, temperature: float | None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.config.at_region and self.config.status_url is None:
            body["at_region"] = self.config.at_region
            body["place_kind"] = self.config.place_kind
        if temperature is not None and self.config.status_url is None:
            body["temperature"] = temperature
        return body

    def _ymt1(self, code: str, now: datetime, temperature: float | None) -> Result:
        notes: list[str] = []
        verdict = self.clock_verdict()
        claims: HealthClaims | None = None
        refused: InvalidCode | None = None
        if self.trust is not None and verdict.ok:
            try:
                claims = verify_code_at(code, self.trust.keyring, now)
            except InvalidCode as exc:
                refused = exc
        if refused is not None and not isinstance(refused, UnknownKey):
            # Signature, key or expiry failed against a list and a clock both trusted: final.
            log.info("code refused offline: %s", refused.detail)
            reason = texts.EXPIRED if isinstance(refused, ExpiredCode) else texts.INVALID
            return self._invalid(
                now, "offline", temperature, (f"refused: {refused.detail}",), reason
            )
        if self.online_possible:
            try:
                answer = self._ask(
                    "/v1/codes/verify", {"code": code, **self._request_body(temperature)}
                )
            except InvalidCode as exc:
                log.info("code refused by the hub: %s", exc.detail)
                if claims is not None:
                    self.stale = True  # valid by our lists, not by the hub's: refresh soon
                return self._invalid(now, "online", temperature, ())
            except YimatongError as exc:
                notes.append(self._unavailable_note(exc))
            else:
                if isinstance(refused, UnknownKey):
                    self.stale = True  # a key newer than our trust list: fetch it soon
                return self._from_answer(answer, now, temperature, notes, claims)
        else:
            notes.append(self._offline_note())
        # ---- offline; the trust list first: without one the hub's time was never seen either
        if self.trust is None:
            return self._pre(Outcome.CHECK, texts.NO_TRUST, now, "offline", temperature, notes)
        if not verdict.ok:
            return self._pre(
                Outcome.CHECK,
                (verdict.reason_zh, verdict.reason_en),
                now,
                "offline",
                temperature,
                notes,
            )
        age = self._oldest_list_age()
        if age is not None and age > self.config.max_list_age:
            notes.append(f"lists last confirmed {age} ago")
            return self._pre(Outcome.CHECK, texts.LISTS_TOO_OLD, now, "offline", temperature, notes)
        if claims is None:
            return self._pre(Outcome.CHECK, texts.UNKNOWN_KEY, now, "offline", temperature, notes)
        facts = facts_from_claims(
            claims,
            now=now,
            region=self.config.at_region or claims.issuer,
            place_kind=self.config.place_kind,
            temperature=temperature,
            area_level=self._area_level(now),
            issuer_kind=self.trust.issuer_kind(claims.issuer),
        )
        return Result(
            at=now,
            mode="offline",
            decision=self._decide(facts),
            valid=True,
            colour=facts.colour,
            issuer=claims.issuer,
            kind=claims.kind.value,
            status="claims",
            display=_display(claims.masked_name, claims.masked_id, facts.colour),
            temperature=temperature,
            notes=tuple(notes),
            sid=claims.sid,
        )

    def _international(self, text: str, now: datetime, temperature: float | None) -> Result:
        """An EU DCC or a SMART Health Card: verified offline only, against the hub's signed
        international trust; the entry policy decides on its facts (``certificate``)."""
        dcc = text.startswith(HC1_PREFIX)
        notes = ["international certificates are verified offline"]
        state = self.international
        if state is None:
            return self._pre(
                Outcome.CHECK, texts.NO_INTERNATIONAL, now, "offline", temperature, notes
            )
        verdict = self.clock_verdict()
        if not verdict.ok:
            reason = (verdict.reason_zh, verdict.reason_en)
            return self._pre(Outcome.CHECK, reason, now, "offline", temperature, notes)
        age = self.list_age(INTERNATIONAL)
        if age is not None and age > self.config.max_list_age:
            notes.append(f"international trust last confirmed {age} ago")
            return self._pre(Outcome.CHECK, texts.LISTS_TOO_OLD, now, "offline", temperature, notes)
        result: InternationalResult = (
            verify_dcc(text, certificates=state.signers, now=now, revoked=state.revocation)
            if dcc
            else verify_shc(text, jwks=state.issuers, now=now)
        )
        kind = "dcc" if dcc else "shc"
        if result.reason in ("unknown kid", "unknown issuer"):
            # As for a YMT1 code: a signer this device's list lacks may be newer than the list.
            notes.append(f"refused: {result.reason}")
            return self._pre(Outcome.CHECK, texts.UNKNOWN_KEY, now, "offline", temperature, notes)
        if not result.valid or result.facts is None:
            log.info("%s refused offline: %s", kind, result.reason)
            expired = result.reason in ("expired", "dsc expired")
            return self._invalid(
                now,
                "offline",
                temperature,
                (f"refused: {result.reason}",),
                texts.EXPIRED if expired else texts.INVALID,
            )
        cert = result.facts
        hours: int | None = None
        test = cert.data(now)["test"]
        if test is not None and test["negative"] and test["hours_since_sample"] is not None:
            hours = max(0, int(test["hours_since_sample"]))
        facts = Facts(
            now=now,
            region=self.config.at_region or NATIONAL_REGION,
            place_kind=self.config.place_kind,
            online=False,
            source="claims",
            kind=kind,
            issuer=cert.issuer,
            issued_at=cert.issued_at,
            hours_since_negative=hours,
            temperature=temperature,
            area_level=self._area_level(now),
            certificate=cert,
        )
        return Result(
            at=now,
            mode="offline",
            decision=self._decide(facts),
            valid=True,
            issuer=cert.issuer_country or cert.issuer,
            kind=kind,
            status="claims",
            display=_holder_display(cert.holder_name, cert.holder_dob),
            temperature=temperature,
            notes=tuple(notes),
        )

    def _travel(self, code: str, now: datetime) -> Result:
        """A travel code (行程码): verified offline against the trust list, shown as signed.

        It is never a health code: no colour, no decision and no scan record; the gate shows
        the cities (starred as of when the code was made) beside the health code it checks.
        """
        verdict = self.clock_verdict()
        if self.trust is None or not verdict.ok:
            why = "no trust list on this device" if self.trust is None else verdict.reason_en
            return Result(at=now, mode="offline", decision=None, kind="travel", travel=(),
                          notes=(f"travel code not verified: {why}",))  # fmt: skip
        try:
            claims = verify_travel_code_at(code, self.trust.keyring, now)
        except InvalidCode as exc:
            log.info("travel code refused: %s", exc.detail)
            return Result(at=now, mode="offline", decision=None, valid=False, kind="travel",
                          travel=(), notes=(f"refused: {exc.detail}",))  # fmt: skip
        divisions = default_divisions()

        def name(code: str) -> str:
            try:
                return divisions.get(code).name
            except YimatongError:
                return code

        cities = tuple(
            {
                "city": c.city,
                "name": name(c.city),
                "shown": name(c.city) + ("*" if c.star else ""),
                "star": c.star.value if c.star else None,
                "sources": [s.value for s in c.sources],
            }
            for c in claims.cities
        )
        notes = [f"as of {claims.issued_at.isoformat()}; {claims.window_days} days, "
                 f"stays of {claims.min_stay_minutes} minutes or more"]  # fmt: skip
        if claims.truncated:
            notes.append("more cities than a code carries: the oldest are left out")
        return Result(
            at=now,
            mode="offline",
            decision=None,
            valid=True,
            issuer=claims.issuer,
            kind="travel",
            status="claims",
            display={"masked_name": claims.masked_name, "masked_id": claims.masked_id},
            notes=tuple(notes),
            travel=cities,
        )

    def _unavailable_note(self, exc: YimatongError) -> str:
        link = self.link
        if link is not None and self._status is not None and link.url == self._status.base_url:
            return f"{link.line()}; decided without it"
        return f"online status unavailable ({type(exc).__name__}: {exc.message})"

    def _offline_note(self) -> str:
        if self._status is None:
            return "offline: the network is not used"
        if self.link is not None:
            return f"{self.link.line()}; decided without it"
        return "offline: the hub did not answer a moment ago"

    def _from_answer(
        self,
        answer: Mapping[str, Any],
        now: datetime,
        temperature: float | None,
        notes: list[str],
        claims: HealthClaims | None = None,
    ) -> Result:
        signed = {"colour": claims.colour.value, "issued_at": claims.issued_at} if claims else None
        facts = facts_from_answer(
            answer,
            now=now,
            region=self.config.at_region or str(answer.get("issuer") or "000000"),
            place_kind=self.config.place_kind,
            temperature=temperature,
            area_level=self._area_level(now),
            signed=signed,
        )
        raw_display = answer.get("display")
        shown: Mapping[str, Any] = raw_display if isinstance(raw_display, Mapping) else {}
        decision = self._decide(facts)
        hubs = answer.get("decision")
        by_hub = self.config.status_url is None  # an issuer's 验码 decides for its own region
        if self.policy is None and decision is not None and by_hub and isinstance(hubs, Mapping):
            # No signed policies of this region here yet (never fetched): the hub decided
            # under this region's policy, with the same facts; better than a CHECK for all.
            try:
                decision = Decision.from_dict(hubs)
            except ValueError:
                pass
            else:
                notes.append(
                    f"decided by the hub: no entry policy of {self.config.at_region} "
                    "on this device yet"
                )
        return Result(
            at=now,
            mode="online",
            decision=decision,
            valid=True,
            colour=facts.colour,
            issuer=facts.issuer,
            kind=facts.kind,
            status=facts.source,
            display=_display(
                str(shown.get("masked_name", "")), str(shown.get("masked_id", "")), facts.colour
            ),
            temperature=temperature,
            notes=tuple(notes),
            sid=answer.get("sid") if isinstance(answer.get("sid"), str) else None,
        )

    def _lookup(
        self, id_type: str, number: str, now: datetime, temperature: float | None
    ) -> Result:
        notes: list[str] = []
        if not self.online_possible or self.config.status_url is not None:
            notes.append("a look-up needs the hub")
            if self.link is not None and self.config.status_url is None:
                notes.append(self._offline_note())
            return self._pre(Outcome.CHECK, texts.ID_OFFLINE, now, "offline", temperature, notes)
        body = {"id_type": id_type, "id_number": number, **self._request_body(temperature)}
        if self.config.name:
            body["checkpoint"] = self.config.name[:60]
        try:
            answer = self._ask("/v1/lookups", body)
        except (InvalidDocument, InvalidInput):
            return self._pre(Outcome.CHECK, texts.BAD_ID, now, "online", temperature, notes)
        except NotFound:
            return self._pre(Outcome.CHECK, texts.NO_RECORD, now, "online", temperature, notes)
        except YimatongError as exc:
            notes.append(self._unavailable_note(exc))
            return self._pre(
                Outcome.CHECK, texts.ID_UNAVAILABLE, now, "offline", temperature, notes
            )
        return self._from_answer(answer, now, temperature, notes)

    def _other(self, text: str, now: datetime, temperature: float | None) -> Result:
        """A legacy code (or something else): only the hub can tell."""
        notes: list[str] = []
        legacy = self.trust is not None and any(text.startswith(p) for p, _ in self.trust.legacy)
        if self.online_possible and self.config.status_url is None:
            try:
                answer = self._ask(
                    "/v1/codes/verify", {"code": text, **self._request_body(temperature)}
                )
            except InvalidCode:
                return self._invalid(now, "online", temperature, ())
            except InvalidInput:
                return self._pre(
                    Outcome.DENY, texts.UNRECOGNISED, now, "online", temperature, notes
                )
            except YimatongError as exc:
                notes.append(self._unavailable_note(exc))
                if legacy and isinstance(exc, Unavailable) and self.online_possible:
                    return self._pre(
                        Outcome.CHECK, texts.LEGACY_UNAVAILABLE, now, "online", temperature, notes
                    )
            else:
                return self._from_answer(answer, now, temperature, notes)
        if legacy:
            return self._pre(
                Outcome.CHECK, texts.LEGACY_OFFLINE, now, "offline", temperature, notes
            )
        if _PREFIXED.match(text):
            return self._pre(
                Outcome.CHECK, texts.UNKNOWN_FORMAT_OFFLINE, now, "offline", temperature, notes
            )
        return self._pre(Outcome.DENY, texts.UNRECOGNISED, now, "offline", temperature, notes)

    def _invalid(
        self,
        now: datetime,
        mode: str,
        temperature: float | None,
        notes: tuple[str, ...],
        reason: tuple[str, str] = texts.INVALID,
    ) -> Result:
        decision = Decision.of(Outcome.DENY, *reason)
        return Result(
            at=now, mode=mode, decision=decision, valid=False, temperature=temperature, notes=notes
        )

    def _pre(
        self,
        outcome: Outcome,
        reason: tuple[str, str],
        now: datetime,
        mode: str,
        temperature: float | None,
        notes: list[str],
    ) -> Result:
        """A decision made before any policy; offline, a problem with the hub comes first."""
        zh: tuple[str, ...] = (reason[0],)
        en: tuple[str, ...] = (reason[1],)
        if mode == "offline" and self.link is not None and self._status is not None:
            link_zh, link_en = self.link.reason()
            zh, en = (link_zh, *zh), (link_en, *en)
        return Result(
            at=now,
            mode=mode,
            decision=Decision(outcome, zh, en),
            temperature=temperature,
            notes=tuple(notes),
        )

    # ------------------------------------------------------------------ scan records
    def _record(self, result: Result) -> Result:
        """Write the scan to the local queue (on disk before the decision is shown)."""
        name = self.config.name
        area = self.config.area or self.config.at_region
        if result.decision is None or not name or not area:
            return result
        scan = Scan(
            id=new_scan_id(),
            at=result.at,
            checkpoint=name,
            area=area,
            decision=result.decision.outcome.value,
            temperature=result.temperature,
            sid=result.sid,
        )
        self.queue.add(scan)
        return replace(result, scan_id=scan.id)

    def upload(self, *, max_batches: int | None = None) -> UploadReport | None:
        """Send queued scans to the hub (None: offline, nothing tried)."""
        if self._lists is None:
            return None
        purged = self.queue.purge(self.time.wall(), self.config.retention)
        if purged:
            log.info("purged %d scan records older than %s", purged, self.config.retention)
        report = upload(self.queue, self._lists, max_batches=max_batches)
        if report.failure is not None:
            self._trouble(report.failure, self._lists)
        elif report.sent or report.duplicates:
            self._reached(self._lists, authenticated=True)
        return report


def _holder_display(name: str | None, dob: str | None) -> dict[str, str]:
    """What the officer compares with the passport: the name masked as YMT1 names are (the
    surname and the initial of every given name; docs/checkpoint.md) and the date of birth
    whole (the comparison needs it; the certificate shows it in clear to anyone anyway)."""
    return {
        "masked_name": mask_name(name) if name else "",
        "masked_id": "",
        "date_of_birth": dob or "",
        "colour_zh": "",
        "colour_en": "",
    }


def _display(masked_name: str, masked_id: str, colour: str | None) -> dict[str, str]:
    zh, en = texts.colour_label(colour)
    return {"masked_name": masked_name, "masked_id": masked_id, "colour_zh": zh, "colour_en": en}
