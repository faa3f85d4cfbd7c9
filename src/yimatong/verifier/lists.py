"""The signed lists a checkpoint keeps, verified and parsed once per version.

* ``TrustState``: issuers and their keys (a ``Keyring`` for offline code checks) from the trust
  list — a full document and the deltas fetched since, each signed by the hub.
* ``RiskState``: the national risk-area list as a ``RiskMap``.
* ``PolicyState``: one region's entry policies as a ``PolicySet``.

The hub signs with its key of region ``000000``. The checkpoint pins one or more hub keys
(configuration); a new ``000000`` key becomes trusted only when a trust list signed by a key
already trusted introduces it (rollover), and a hub key revoked in such a list stops being
trusted for the documents after it. Anything that does not verify raises ``BadDocument``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from yimatong.adapters.crypto import VerifyingKey, load_verifying_key
from yimatong.adapters.signed import BadDocument, verify_document
from yimatong.adapters.wire.code import Keyring, TrustedKey
from yimatong.domain.facts import RiskAreaPeriod, RiskLevel, RiskMap
from yimatong.verifier.international import (
    DccRevocation,
    DocumentSigner,
    IssuerKeys,
    dcc_revocation,
    document_signer,
    issuer_keys,
)
from yimatong.verifier.policy import NATIONAL, PolicySet, parse_time

__all__ = [
    "BadDocument",
    "InternationalState",
    "PolicyState",
    "RiskState",
    "TrustState",
    "build_international",
    "build_policies",
    "build_risk",
    "build_trust",
    "international_state",
]


def _time(value: Any) -> datetime | None:
    return parse_time(value) if value else None


def _chain(
    documents: Sequence[Mapping[str, Any]], keys: Mapping[bytes, VerifyingKey], kind: str
) -> Iterator[dict[str, Any]]:
    """Yield each verified payload; each delta must start where the one before ended.

    ``keys`` is read as each document is reached, so a caller that adds a rolled-over hub key
    while handling one payload has it trusted for the next.
    """
    version = None
    for i, doc in enumerate(documents):
        payload = verify_document(doc, keys)
        if payload.get("type") != kind:
            raise BadDocument(f"document {i} is not a {kind} document")
        try:
            since = int(payload.get("since") or 0)
            current = int(payload["version"])
        except (KeyError, TypeError, ValueError):
            raise BadDocument(f"document {i} has no version") from None
        if i == 0 and since != 0:
            raise BadDocument("the first document must be a full list")
        if i > 0 and since != version:
            raise BadDocument(f"document {i} does not follow version {version}")
        version = current
        yield payload


@dataclass(frozen=True)
class TrustState:
    """Issuers and keys, merged from a full trust list and its deltas."""

    version: int
    issued_at: datetime
    keyring: Keyring
    hub_keys: dict[bytes, VerifyingKey]
    issuers: dict[str, dict[str, Any]]
    keys: dict[str, dict[str, Any]] = field(repr=False)
    #: (prefix, region) of legacy issuers, longest prefix first
    legacy: tuple[tuple[str, str], ...] = ()
    #: a hub key was revoked: the next refresh fetches the whole list again
    hub_key_revoked: bool = False

    def issuer_kind(self, region: str) -> str | None:
        row = self.issuers.get(region)
        return str(row["kind"]) if row else None


def build_trust(
    documents: Sequence[Mapping[str, Any]], pinned: Mapping[bytes, VerifyingKey]
) -> TrustState:
    """Verify and merge ``documents`` (a full list, then deltas) starting from ``pinned``."""
    if not documents:
        raise BadDocument("no trust list")
    hub_keys = dict(pinned)
    issuers: dict[str, dict[str, Any]] = {}
    keys: dict[str, dict[str, Any]] = {}
    revoked = False
    version, issued = 0, None
    for payload in _chain(documents, hub_keys, "trust-list"):
        try:
            for row in payload["issuers"]:
                issuers[str(row["region"])] = dict(row)
            for row in payload["keys"]:
                keys[str(row["kid"])] = dict(row)
                if row["region"] == NATIONAL:
                    kid = bytes.fromhex(row["kid"])
                    if row.get("revoked_at"):
                        revoked = revoked or kid in hub_keys
                        hub_keys.pop(kid, None)
                    else:
                        key = load_verifying_key(base64.b64decode(row["public_key"]))
                        if key.kid != kid:
                            raise BadDocument("a hub key whose kid does not match")
                        hub_keys[kid] = key
            version = int(payload["version"])
            issued = parse_time(payload["issued_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadDocument(f"malformed trust list: {type(exc).__name__}") from None
    assert issued is not None
    entries = []
    for row in keys.values():
        issuer = issuers.get(str(row.get("region")))
        if issuer is None or issuer.get("status") != "active":
            continue  # a suspended issuer's codes fail everywhere
        try:
            key = load_verifying_key(base64.b64decode(row["public_key"]))
            entries.append(
                TrustedKey(
                    kid=bytes.fromhex(row["kid"]),
                    issuer=str(row["region"]),
                    key=key,
                    not_before=parse_time(row["not_before"]),
                    not_after=_time(row.get("not_after")),
                    revoked_at=_time(row.get("revoked_at")),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BadDocument(f"malformed key in the trust list: {type(exc).__name__}") from None
    legacy = sorted(
        (
            (str(r["legacy_prefix"]), region)
            for region, r in issuers.items()
            if r.get("kind") == "legacy" and r.get("legacy_prefix") and r.get("status") == "active"
        ),
        key=lambda item: -len(item[0]),
    )
    return TrustState(
        version=version,
        issued_at=issued,
        keyring=Keyring(entries),
        hub_keys=hub_keys,
        issuers=issuers,
        keys=keys,
        legacy=tuple(legacy),
        hub_key_revoked=revoked,
    )


@dataclass(frozen=True)
class RiskState:
    version: int
    issued_at: datetime
    risk: RiskMap

    def level(self, area: str, when: datetime) -> str:
        return self.risk.level_at(area, when).value


def build_risk(
    documents: Sequence[Mapping[str, Any]], keys: Mapping[bytes, VerifyingKey]
) -> RiskState:
    if not documents:
        raise BadDocument("no risk-area list")
    periods: dict[str, dict[str, Any]] = {}
    version, issued = 0, None
    for payload in _chain(documents, keys, "risk-areas"):
        try:
            for row in payload["periods"]:
                periods[str(row["id"])] = dict(row)
            version = int(payload["version"])
            issued = parse_time(payload["issued_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadDocument(f"malformed risk-area list: {type(exc).__name__}") from None
    assert issued is not None
    try:
        risk = RiskMap(
            tuple(
                RiskAreaPeriod(
                    area=str(p["area"]),
                    level=RiskLevel(p["level"]),
                    effective_from=parse_time(p["from"]),
                    until=_time(p.get("to")),
                )
                for p in periods.values()
                if not p.get("to") or parse_time(p["to"]) > parse_time(p["from"])
            )
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadDocument(f"malformed risk period: {type(exc).__name__}") from None
    return RiskState(version=version, issued_at=issued, risk=risk)


@dataclass(frozen=True)
class PolicyState:
    version: int
    issued_at: datetime
    policies: PolicySet


def build_policies(
    documents: Sequence[Mapping[str, Any]], keys: Mapping[bytes, VerifyingKey], region: str
) -> PolicyState:
    if len(documents) != 1:
        raise BadDocument("a policies entry holds one document")
    payload = verify_document(documents[0], keys)
    if payload.get("type") != "policies" or payload.get("region") != region:
        raise BadDocument(f"not the policies of {region}")
    try:
        policies = PolicySet.from_payload(payload)
        issued = parse_time(payload["issued_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadDocument(f"malformed policies: {exc}") from None
    return PolicyState(version=policies.version, issued_at=issued, policies=policies)


@dataclass(frozen=True)
class InternationalState:
    """The EU DCC document signers (by kid) and SHC issuers (by iss) the hub signed."""

    version: int
    issued_at: datetime
    signers: dict[bytes, DocumentSigner]
    issuers: dict[str, IssuerKeys]
    #: a signer's kid -> the country the gateway listed it under
    countries: dict[bytes, str] = field(default_factory=dict)
    #: the EU gateway's DCC revocation batches, indexed once
    revocation: DccRevocation = field(default_factory=DccRevocation)


def build_international(
    documents: Sequence[Mapping[str, Any]], keys: Mapping[bytes, VerifyingKey]
) -> InternationalState:
    """Verify the hub's international trust document and parse every DSC and JWKS once."""
    if len(documents) != 1:
        raise BadDocument("an international trust entry holds one document")
    return international_state(verify_document(documents[0], keys))


def international_state(payload: Mapping[str, Any]) -> InternationalState:
    """The state of a verified international trust payload (``build_international`` after the
    signature; the checkpoint page's ``trustFrom`` reads the same payload)."""
    if payload.get("type") != "international-trust":
        raise BadDocument("not an international trust document")
    try:
        signers: dict[bytes, DocumentSigner] = {}
        countries: dict[bytes, str] = {}
        for row in payload["dcc"]:
            kid = bytes.fromhex(row["kid"])
            signers[kid] = document_signer(base64.b64decode(row["certificate"]), kid)
            countries[kid] = str(row["country"])
        issuers = {
            str(row["iss"]): issuer_keys(
                str(row["iss"]), {"keys": row["keys"], "crls": row.get("crls", [])}
            )
            for row in payload["shc"]
        }
        revocation = dcc_revocation(
            {
                "kid": None if row["kid"] is None else bytes.fromhex(row["kid"]),
                "country": str(row["country"]),
                "hash_type": str(row["hash_type"]),
                "hashes": [base64.b64decode(h) for h in row["hashes"]],
            }
            for row in payload.get("dcc_revocation", ())
        )
        version = int(payload["version"])
        issued = parse_time(payload["issued_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BadDocument(f"malformed international trust: {type(exc).__name__}") from None
    return InternationalState(version, issued, signers, issuers, countries, revocation)
