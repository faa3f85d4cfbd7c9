"""International certificates at the checkpoint: EU DCC (``HC1:``) and SMART Health Cards
(``shc:/``), verified offline.

Entry points, used by the CLI, the agent and conformance runs alike::

    verify_dcc(text, *, certificates, now, revoked=())  -> InternationalResult
    verify_shc(text, *, jwks, now)                      -> InternationalResult

``InternationalResult`` has ``valid`` (bool), ``reason`` (None, or a short machine-readable
string: the first check that failed), ``claims`` (the decoded payload once its signature held,
else None) and ``facts`` (what an entry policy sees, ``CertificateFacts``; None unless the
certificate is valid). Nothing here raises for bad input: every malformed, forged or
out-of-date certificate comes back as ``valid=False`` with a reason.

Trust.

* DCC: ``certificates`` maps a kid (8 bytes) to a document signer certificate (DER), as a trust
  list of the EU gateway format does (``adapters/trustlists.py`` reads one); a plain iterable
  of DER certificates is accepted too, each then keyed by the first 8 bytes of SHA-256 over its
  DER (how the gateway computes kids). A value may also be a ``DocumentSigner`` already made by
  ``document_signer`` (the checkpoint's cache does this once per list). The DSC must be valid
  (``not_valid_before <= now <= not_valid_after``) and must have been valid when the DCC was
  issued; its extended key usage, when it names any of the DCC OIDs (test, vaccination,
  recovery: 1.3.6.1.4.1.1847.2021.1.1-3, and the 1.3.6.1.4.1.0.1847.2021.1.1-3 that early
  certificates used), must name the certificate's type.
* SHC: ``jwks`` maps an issuer URL (the ``iss`` claim, exactly) to that issuer's JWKS
  (``{"keys": [...]}``) or to ``IssuerKeys`` made by ``issuer_keys``. Only P-256 ES256 keys
  for signing whose ``kid`` is their RFC 7638 thumbprint are used.

Revocation.

* DCC: ``revoked`` is a ``DccRevocation`` (``dcc_revocation`` makes one from the EU gateway's
  revocation batches: by the signing DSC's kid, or ``UNKNOWN_KID`` for a whole country, and by
  hash type), or a plain set of hashes matched whatever their type. A certificate is revoked
  when one of its hashes (``revocation_hashes``: SHA-256, first 128 bits, of its UCI, of its
  country code + UCI, of its signature, for ECDSA of r only) is listed.
* SHC: an issuer's JWKS may come with its Card Revocation Lists (``{"keys": [...], "crls":
  [{"kid", "method": "rid", "ctr", "rids": [...]}]}``, as the VCI directory snapshot carries
  them). A card is revoked when the CRL of the kid that signed it lists its ``vc.rid``, bare or
  with a ``.timestamp`` suffix not earlier than the card's ``nbf`` in whole seconds (SMART
  Health Cards 1.2.0, § Revocation). A card without ``rid`` cannot be revoked this way.

Reasons (DCC): ``too long``, ``unknown prefix``, ``malformed: base45``, ``malformed: zlib``,
``inflates too large``, ``malformed: COSE``, ``malformed: COSE header``, ``unprotected header``,
``unsupported algorithm``, ``missing kid``, ``unknown kid``, ``dsc unusable``,
``algorithm mismatch``, ``bad signature``, ``malformed: claims``, ``issued in the future``,
``expired``, ``dsc not yet valid``, ``dsc expired``, ``dsc not valid at issue``,
``schema: <field> ...`` and ``value set: <field> ...`` (the hcert payload against DCC schema
1.3.x and the EU value sets: ``verifier/dcc_schema.py``), ``wrong key usage``, ``revoked``.
Reasons (SHC): ``too long``, ``unknown prefix``, ``malformed: numeric``, ``chunk header``,
``chunk count``, ``chunk index``, ``chunk duplicate``, ``chunk missing``, ``chunk too long``,
``malformed: JWS``,
``malformed: JWS header``, ``unsupported algorithm``, ``unknown issuer``, ``unknown kid``,
``bad signature``, ``malformed: deflate``, ``inflates too large``, ``malformed: payload``,
``not yet valid``, ``expired``, ``revoked``.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from yimatong.adapters.wire import hc1, shc
from yimatong.domain.facts import require_aware
from yimatong.verifier.dcc_schema import display, hcert_entry, hcert_kind

__all__ = [
    "REVOCATION_HASH_TYPES",
    "CertificateFacts",
    "DccRevocation",
    "DocumentSigner",
    "InternationalResult",
    "IssuerKeys",
    "dcc_revocation",
    "document_signer",
    "dsc_kid",
    "issuer_keys",
    "jwk_thumbprint",
    "revocation_hashes",
    "shc_crls",
    "verify_dcc",
    "verify_shc",
]

# --------------------------------------------------------------------------------------------
# Results and facts


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What an entry policy sees of a certificate, the same shape for YMT1, DCC and SHC
    (docs/policies.md, the ``certificate`` section)."""

    kind: str  # "ymt1" | "dcc" | "shc"
    issuer: str | None = None  # DCC: the CWT iss (a country); SHC: the issuer URL
    issuer_country: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    colour: str | None = None  # YMT1 only
    #: {"doses", "series", "complete", "last_date", "product", "product_name" (DCC: the
    #: EU value set's name of the product), "disease"} or None
    vaccination: Mapping[str, Any] | None = None
    #: {"type": "pcr" | "rat" | "other", "negative", "sampled_at", "disease"} or None
    test: Mapping[str, Any] | None = None
    #: {"first_positive", "valid_from", "valid_until", "disease"} or None
    recovery: Mapping[str, Any] | None = None
    #: the holder's name and date of birth, for the officer's ID comparison; never policy data
    holder_name: str | None = field(default=None, repr=False)
    holder_dob: str | None = field(default=None, repr=False)
    #: DCC: the hcert payload as the EU's business rules read it (``payload.v.0.mp``), its one
    #: entry as checked (dates as text), without ``nam`` and ``dob``; None for YMT1 and SHC
    payload: Mapping[str, Any] | None = field(default=None, repr=False)

    def data(self, now: datetime) -> dict[str, Any]:
        """The ``certificate`` section of a policy's data at ``now``."""
        test: dict[str, Any] | None = None
        if self.test is not None:
            test = dict(self.test)
            sampled = _parse_instant(test.get("sampled_at"))
            # whole hours: CertLogic compares integers only
            test["hours_since_sample"] = (
                None if sampled is None else int((now - sampled).total_seconds() // 3600)
            )
        vaccination: dict[str, Any] | None = None
        if self.vaccination is not None:
            vaccination = dict(self.vaccination)
            last = _parse_day(vaccination.get("last_date"))
            vaccination["days_since_last"] = None if last is None else (now.date() - last).days
        return {
            "kind": self.kind,
            "issuer": self.issuer,
            "issuer_country": self.issuer_country,
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "colour": self.colour,
            "vaccination": vaccination,
            "test": test,
            "recovery": None if self.recovery is None else dict(self.recovery),
        }


@dataclass(frozen=True, slots=True)
class InternationalResult:
    valid: bool
    reason: str | None
    claims: Any = None
    facts: CertificateFacts | None = None

    @classmethod
    def refused(cls, reason: str, claims: Any = None) -> InternationalResult:
        return cls(False, reason, claims, None)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_instant(value: object) -> datetime | None:
    if type(value) is not str:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _parse_day(value: object) -> date | None:
    if type(value) is not str:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _epoch(value: datetime) -> float:
    return value.timestamp()


# --------------------------------------------------------------------------------------------
# DCC trust: document signer certificates

#: Extended key usage OIDs of the DCC (hcert spec §5.1.1), with the early ones that have a ".0".
_USAGE_OIDS = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}


@dataclass(frozen=True, slots=True)
class DocumentSigner:
    """A document signer certificate, parsed once: its key, validity, usages and country."""

    kid: bytes
    key: Any  # a cryptography public key
    not_before: datetime
    not_after: datetime
    #: the DCC types it may sign ("t", "v", "r"); None when its EKU names none (all allowed)
    usages: frozenset[str] | None
    country: str | None
    der: bytes = field(repr=False)
    #: ``not_before`` / ``not_after`` as POSIX seconds, for the comparisons of every verify
    not_before_ts: float = field(default=0.0, repr=False)
    not_after_ts: float = field(default=0.0, repr=False)


def dsc_kid(der: bytes) -> bytes:
    """The kid of a DSC as the EU gateway computes it: SHA-256 of the DER, first 8 bytes."""
    return hashlib.sha256(der).digest()[:8]


@lru_cache(maxsize=4096)
def document_signer(der: bytes, kid: bytes | None = None) -> DocumentSigner:
    """Parse a DER DSC (``ValueError`` if it is none); ``kid`` defaults to ``dsc_kid(der)``."""
    cert = x509.load_der_x509_certificate(der)
    usages: frozenset[str] | None = None
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        pass
    else:
        named = {_USAGE_OIDS[o.dotted_string] for o in eku if o.dotted_string in _USAGE_OIDS}
        usages = frozenset(named) or None
    countries = cert.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    country = countries[0].value if countries else None
    return DocumentSigner(
        kid=dsc_kid(der) if kid is None else kid,
        key=cert.public_key(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        usages=usages,
        country=country if isinstance(country, str) else None,
        der=der,
        not_before_ts=cert.not_valid_before_utc.timestamp(),
        not_after_ts=cert.not_valid_after_utc.timestamp(),
    )


def _find_signer(
    certificates: Mapping[bytes, bytes | DocumentSigner] | Iterable[bytes | DocumentSigner],
    kid: bytes,
) -> DocumentSigner | str | None:
    """The signer for ``kid``; None if none is trusted; "dsc unusable" if it cannot be read."""
    try:
        if isinstance(certificates, Mapping):
            entry = certificates.get(kid)
            if entry is None:
                return None
            return entry if isinstance(entry, DocumentSigner) else document_signer(entry, kid)
        for entry in certificates:
            signer = entry if isinstance(entry, DocumentSigner) else document_signer(entry)
            if signer.kid == kid:
                return signer
    except ValueError:
        return "dsc unusable"
    return None


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def _verify_cose_signature(alg: int, key: Any, signature: bytes, data: bytes) -> str | None:
    """None if ``key`` signed ``data`` under COSE ``alg``, else the reason."""
    try:
        if alg == hc1.ALG_ES256:
            if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
                return "algorithm mismatch"
            if len(signature) != 64:
                return "bad signature"
            der = encode_dss_signature(
                int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            )
            key.verify(der, data, _ECDSA_SHA256)
        elif alg == hc1.ALG_PS256:
            if not isinstance(key, rsa.RSAPublicKey):
                return "algorithm mismatch"
            key.verify(signature, data, _PSS, hashes.SHA256())
        elif alg == hc1.ALG_EDDSA:
            if not isinstance(key, ed25519.Ed25519PublicKey):
                return "algorithm mismatch"
            key.verify(signature, data)
        else:  # parse_cose admits no other
            return "unsupported algorithm"
    except InvalidSignature:
        return "bad signature"
    return None


# --------------------------------------------------------------------------------------------
# DCC


_TEST_TYPES = {"LP6464-4": "pcr", "LP217198-3": "rat"}
_NOT_DETECTED = "260415000"
_HCERT = -260
_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)


def _text(value: object) -> str | None:
    return value if type(value) is str else None


def _as_text(value: object) -> object:
    """A CBOR date/time tag (some issuers tag a test's sampling time) as the schema's text."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


#: never policy data: the holder's name and date of birth (docs/policies.md)
_NOT_POLICY = frozenset(("nam", "dob"))
_DCC_GROUPS = frozenset(("v", "t", "r"))


def _dob(value: object) -> str:
    """The date of birth as written (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or empty), without
    the time some schema 1.0 writers appended."""
    text = str(value)
    return text[:10] if len(text) > 10 and text[10] in "Tt " else text


def _dcc_facts(
    kind: str,
    entry: Mapping[str, Any],
    dcc: Mapping[str, Any],
    iss: str | None,
    iat: float,
    exp: float,
) -> CertificateFacts:
    vaccination = test = recovery = None
    if kind == "v":
        vaccination = {
            "doses": entry["dn"],
            "series": entry["sd"],
            "complete": entry["dn"] >= entry["sd"],
            "last_date": entry["dt"],
            "product": entry["mp"],
            "product_name": display("vaccine-medicinal-product", entry["mp"]),
            "disease": entry["tg"],
        }
    elif kind == "t":
        test = {
            "type": _TEST_TYPES.get(entry["tt"], "other"),
            "negative": entry["tr"] == _NOT_DETECTED,
            "sampled_at": entry["sc"],
            "disease": entry["tg"],
        }
    else:
        recovery = {
            "first_positive": entry["fr"],
            "valid_from": entry["df"],
            "valid_until": entry["du"],
            "disease": entry["tg"],
        }
    name = dcc["nam"]
    shown = " ".join(x for x in (_text(name.get("fn")), _text(name.get("gn"))) if x)
    country = _text(entry.get("co"))
    return CertificateFacts(
        kind="dcc",
        issuer=iss,
        issuer_country=iss if iss and _COUNTRY.fullmatch(iss) else country,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC),
        vaccination=vaccination,
        test=test,
        recovery=recovery,
        holder_name=shown or name.get("fnt") or name.get("gnt"),
        holder_dob=_dob(_as_text(dcc["dob"])),
        payload={
            **{k: v for k, v in dcc.items() if k not in _NOT_POLICY and k not in _DCC_GROUPS},
            kind: [entry],
        },
    )


#: The DCC revocation hash types of the EU gateway (``RevocationHashTypeDto``).
REVOCATION_HASH_TYPES = ("UCI", "COUNTRYCODEUCI", "SIGNATURE")


def _h128(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()[:16]


def revocation_hashes(
    uci: str, countries: Iterable[str | None], alg: int, signature: bytes
) -> dict[str, tuple[bytes, ...]]:
    """The DCC's revocation hashes by type, as the EU gateway defines them: SHA-256, first 128
    bits, of the UCI (UTF-8, as written); of the country code followed by the UCI; of the COSE
    signature (for ECDSA only its r, the first half: (r, s) and (r, n - s) both verify).

    The gateway says "the CountryCode" without naming the field: the EU reference verifier
    takes the entry's ``co``, Germany's Corona-Warn-App the CWT issuer (claim 1). The two are
    the same in nearly every certificate; where they differ both hashes are checked."""
    signed = signature[: len(signature) // 2] if alg == hc1.ALG_ES256 else signature
    coded = uci.encode()
    prefixed = tuple(dict.fromkeys(_h128(c.encode() + coded) for c in countries if c))
    return {"UCI": (_h128(coded),), "COUNTRYCODEUCI": prefixed, "SIGNATURE": (_h128(signed),)}


@dataclass(frozen=True, slots=True)
class DccRevocation:
    """Revoked DCC hashes as the EU gateway's revocation batches give them: by the kid of the
    DSC that signed the revoked certificates, then by hash type; a batch whose kid is
    ``UNKNOWN_KID`` holds for every DSC of its country (``by_country``)."""

    by_kid: Mapping[bytes, Mapping[str, frozenset[bytes]]] = field(default_factory=dict)
    by_country: Mapping[str, Mapping[str, frozenset[bytes]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(
            len(v) for m in (self.by_kid, self.by_country) for t in m.values() for v in t.values()
        )

    def holds(self, kid: bytes, country: str | None, hashes: Mapping[str, Sequence[bytes]]) -> bool:
        for table in (self.by_kid.get(kid), self.by_country.get(country or "")):
            if table:
                for kind, values in hashes.items():
                    revoked = table.get(kind)
                    if revoked and any(h in revoked for h in values):
                        return True
        return False


def dcc_revocation(batches: Iterable[Mapping[str, Any]]) -> DccRevocation:
    """A ``DccRevocation`` from batches ``{"kid": bytes | None, "country", "hash_type",
    "hashes": [16 bytes, ...]}`` (kid None: the gateway's ``UNKNOWN_KID``)."""
    by_kid: dict[bytes, dict[str, set[bytes]]] = {}
    by_country: dict[str, dict[str, set[bytes]]] = {}
    for batch in batches:
        kid = batch["kid"]
        table = (
            by_country.setdefault(str(batch["country"]), {})
            if kid is None
            else by_kid.setdefault(bytes(kid), {})
        )
        table.setdefault(str(batch["hash_type"]), set()).update(bytes(h) for h in batch["hashes"])

    def freeze(m: dict[Any, dict[str, set[bytes]]]) -> dict[Any, dict[str, frozenset[bytes]]]:
        return {k: {t: frozenset(v) for t, v in table.items()} for k, table in m.items()}

    return DccRevocation(freeze(by_kid), freeze(by_country))


def _is_revoked(
    revoked: DccRevocation | Iterable[bytes],
    signer: DocumentSigner,
    entry: Mapping[str, Any],
    iss: str | None,
    alg: int,
    signature: bytes,
) -> bool:
    if not revoked:  # nothing revoked (an empty tuple or DccRevocation): the common case
        return False
    if isinstance(revoked, DccRevocation):
        if signer.kid not in revoked.by_kid and (signer.country or "") not in revoked.by_country:
            return False  # no batch of this signer or its country: no hash to compute
        countries = (iss, _text(entry.get("co")))
        hashes = revocation_hashes(entry["ci"], countries, alg, signature)
        return revoked.holds(signer.kid, signer.country, hashes)
    blocked = revoked if isinstance(revoked, (set, frozenset)) else frozenset(revoked)
    if not blocked:
        return False
    countries = (iss, _text(entry.get("co")))
    hashes = revocation_hashes(entry["ci"], countries, alg, signature)
    return any(h in blocked for values in hashes.values() for h in values)


def verify_dcc(
    text: str,
    *,
    certificates: Mapping[bytes, bytes | DocumentSigner] | Iterable[bytes | DocumentSigner],
    now: datetime,
    revoked: DccRevocation | Iterable[bytes] = (),
) -> InternationalResult:
    """Verify an ``HC1:`` certificate offline at ``now`` (see the module docstring)."""
    require_aware(now, "now")
    if type(text) is not str:
        return InternationalResult.refused("unknown prefix")
    try:
        msg = hc1.parse_cose(hc1.decode_hc1(text))
    except hc1.Hc1Error as e:
        return InternationalResult.refused(e.reason)
    if msg.kid is None:
        return InternationalResult.refused("missing kid")
    signer = _find_signer(certificates, msg.kid)
    if signer is None:
        return InternationalResult.refused("unknown kid")
    if isinstance(signer, str):
        return InternationalResult.refused(signer)
    reason = _verify_cose_signature(msg.alg, signer.key, msg.signature, msg.to_be_signed())
    if reason is not None:
        return InternationalResult.refused(reason)
    # Authenticated from here on.
    try:
        cwt = hc1.loads_claims(msg.payload)
    except hc1.Hc1Error as e:
        return InternationalResult.refused(e.reason)
    if not isinstance(cwt, dict):
        return InternationalResult.refused("malformed: claims")
    iat, exp, iss = _number(cwt.get(6)), _number(cwt.get(4)), cwt.get(1)
    if iat is None or exp is None or (iss is not None and type(iss) is not str):
        return InternationalResult.refused("malformed: claims")
    hcert = cwt.get(_HCERT)
    dcc = hcert.get(1) if isinstance(hcert, dict) else None
    claims = {"iss": iss, "iat": iat, "exp": exp, "hcert": dcc}
    t = _epoch(now)
    if t < iat:
        return InternationalResult.refused("issued in the future", claims)
    if t > exp:
        return InternationalResult.refused("expired", claims)
    if t < signer.not_before_ts:
        return InternationalResult.refused("dsc not yet valid", claims)
    if t > signer.not_after_ts:
        return InternationalResult.refused("dsc expired", claims)
    if not signer.not_before_ts <= iat <= signer.not_after_ts:
        return InternationalResult.refused("dsc not valid at issue", claims)
    kind = hcert_kind(dcc)
    if len(kind) > 1:
        return InternationalResult.refused(kind, claims)
    if signer.usages is not None and kind not in signer.usages:
        return InternationalResult.refused("wrong key usage", claims)
    assert isinstance(dcc, dict)
    entry = hcert_entry(dcc, kind)
    if isinstance(entry, str):
        return InternationalResult.refused(entry, claims)
    if _is_revoked(revoked, signer, entry, iss, msg.alg, msg.signature):
        return InternationalResult.refused("revoked", claims)
    return InternationalResult(True, None, claims, _dcc_facts(kind, entry, dcc, iss, iat, exp))


# --------------------------------------------------------------------------------------------
# SHC trust: issuer JWKS


@dataclass(frozen=True, slots=True)
class IssuerKeys:
    """One issuer's usable keys, by kid."""

    iss: str
    keys: Mapping[str, ec.EllipticCurvePublicKey]
    #: kid -> revoked rid -> None (always) or the time (seconds) up to which cards are revoked
    crls: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint of an EC public JWK (base64url of SHA-256 of its canonical JSON)."""
    canonical = '{{"crv":"{crv}","kty":"{kty}","x":"{x}","y":"{y}"}}'.format(**jwk)
    return shc.b64url_encode(hashlib.sha256(canonical.encode()).digest())


def _jwk_key(jwk: object) -> tuple[str, ec.EllipticCurvePublicKey] | None:
    if not isinstance(jwk, Mapping):
        return None
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        return None
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", "ES256") != "ES256":
        return None
    x, y, kid = jwk.get("x"), jwk.get("y"), jwk.get("kid")
    if type(x) is not str or type(y) is not str or type(kid) is not str:
        return None
    try:
        xb, yb = shc.b64url_decode(x), shc.b64url_decode(y)
    except shc.ShcError:
        return None
    if len(xb) != 32 or len(yb) != 32 or jwk_thumbprint(jwk) != kid:
        return None
    try:
        key = ec.EllipticCurvePublicNumbers(
            int.from_bytes(xb, "big"), int.from_bytes(yb, "big"), ec.SECP256R1()
        ).public_key()
    except ValueError:  # not a point on the curve
        return None
    return kid, key


_RID_AT = re.compile(r"([A-Za-z0-9_-]{1,24})(?:\.([0-9]{1,12}))?", re.ASCII)


def shc_crls(crls: object) -> dict[str, dict[str, float | None]]:
    """The revoked rids of Card Revocation Lists (``[{"kid", "method": "rid", "ctr", "rids"}]``)
    by kid: ``rid -> None`` (revoked whatever its ``nbf``) or ``rid -> t`` (cards with an
    ``nbf`` up to ``t`` are revoked). A CRL of another method, or a rid that is not base64url
    of at most 24 characters with an optional ``.timestamp``, is left out."""
    out: dict[str, dict[str, float | None]] = {}
    for crl in crls if isinstance(crls, list) else ():
        if not isinstance(crl, Mapping) or crl.get("method", "rid") != "rid":
            continue
        kid, rids = crl.get("kid"), crl.get("rids")
        if type(kid) is not str or not isinstance(rids, list):
            continue
        table = out.setdefault(kid, {})
        for item in rids:
            m = _RID_AT.fullmatch(item) if type(item) is str else None
            if m is None:
                continue
            rid, at = m.group(1), m.group(2)
            if rid in table and table[rid] is None:
                continue
            if at is None:
                table[rid] = None
            else:
                table[rid] = max(float(at), table.get(rid) or 0.0)
    return out


def issuer_keys(iss: str, jwks: object) -> IssuerKeys:
    """The usable keys of one issuer's JWKS (keys that are not P-256 ES256 signing keys with
    their thumbprint as kid are left out), with its CRLs when the JWKS carries ``crls``."""
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    for jwk in entries if isinstance(entries, list) else ():
        found = _jwk_key(jwk)
        if found is not None:
            keys[found[0]] = found[1]
    crls = shc_crls(jwks.get("crls")) if isinstance(jwks, Mapping) else {}
    return IssuerKeys(iss, keys, {k: v for k, v in crls.items() if k in keys})


def _shc_revoked(keys: IssuerKeys, kid: str, payload: Mapping[str, Any], nbf: float) -> bool:
    table = keys.crls.get(kid)
    if not table:
        return False
    vc = payload.get("vc")
    rid = vc.get("rid") if isinstance(vc, dict) else None
    if type(rid) is not str or rid not in table:
        return False
    until = table[rid]
    # "Up to a certain time": the suffix has whole seconds, so a card issued within that second
    # is revoked too (the specification's own revoked example 03 has nbf 1668545475.4 under
    # "vwAjHdarZuc.1668545475").
    return until is None or math.floor(nbf) <= until


# --------------------------------------------------------------------------------------------
# SHC

_SHC_TYPE = "https://smarthealth.cards#health-card"
#: CVX codes of COVID-19 vaccines whose course is one dose (Janssen).
_SINGLE_DOSE_CVX = frozenset(("212",))
_CVX = "http://hl7.org/fhir/sid/cvx"
_LOINC = "http://loinc.org"
#: LOINC codes of SARS-CoV-2 NAAT (PCR) results; antigen tests are "rat".
_PCR_LOINC = frozenset(("94500-6", "94309-2", "94759-8", "94533-7", "94534-5", "94845-5"))
_RAT_LOINC = frozenset(("94558-4", "95209-3", "97097-0"))
_NEGATIVE_SNOMED = frozenset(("260385009", "260415000"))


def _codes(concept: object, system: str | None = None) -> list[str]:
    if not isinstance(concept, dict) or not isinstance(concept.get("coding"), list):
        return []
    return [
        c["code"]
        for c in concept["coding"]
        if isinstance(c, dict)
        and type(c.get("code")) is str
        and (system is None or c.get("system") == system)
    ]


def _shc_facts(payload: Mapping[str, Any], bundle: Mapping[str, Any]) -> CertificateFacts:
    immunizations: list[Mapping[str, Any]] = []
    observations: list[Mapping[str, Any]] = []
    patient: Mapping[str, Any] | None = None
    entries = bundle.get("entry")
    for entry in entries if isinstance(entries, list) else ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("resourceType")
        if rtype == "Immunization" and resource.get("status") == "completed":
            immunizations.append(resource)
        elif rtype == "Observation" and resource.get("status") in ("final", "amended"):
            observations.append(resource)
        elif rtype == "Patient" and patient is None:
            patient = resource
    vaccination = None
    if immunizations:
        dates = sorted(d for i in immunizations if (d := _text(i.get("occurrenceDateTime"))))
        cvx = {c for i in immunizations for c in _codes(i.get("vaccineCode"), _CVX)}
        doses = len(immunizations)
        vaccination = {
            "doses": doses,
            "series": 1 if cvx & _SINGLE_DOSE_CVX else 2,
            "complete": doses >= 2 or bool(cvx & _SINGLE_DOSE_CVX),
            "last_date": dates[-1][:10] if dates else None,
            "product": sorted(cvx)[-1] if cvx else None,
            "disease": "840539006",
        }
    test = None
    for obs in sorted(observations, key=lambda o: _text(o.get("effectiveDateTime")) or ""):
        loinc = set(_codes(obs.get("code"), _LOINC))
        kind = "pcr" if loinc & _PCR_LOINC else "rat" if loinc & _RAT_LOINC else "other"
        test = {
            "type": kind,
            "negative": bool(set(_codes(obs.get("valueCodeableConcept"))) & _NEGATIVE_SNOMED),
            "sampled_at": _text(obs.get("effectiveDateTime")),
            "disease": "840539006",
        }
    name = dob = None
    if patient is not None:
        names = patient.get("name")
        first = names[0] if isinstance(names, list) and names and isinstance(names[0], dict) else {}
        given = first.get("given")
        parts = [_text(first.get("family"))]
        parts += [g for g in given if type(g) is str] if isinstance(given, list) else []
        name = " ".join(p for p in parts if p) or None
        dob = _text(patient.get("birthDate"))
    nbf, exp = _number(payload.get("nbf")), _number(payload.get("exp"))
    assert nbf is not None  # checked by verify_shc
    return CertificateFacts(
        kind="shc",
        issuer=payload["iss"],
        issued_at=datetime.fromtimestamp(nbf, UTC),
        expires_at=None if exp is None else datetime.fromtimestamp(exp, UTC),
        vaccination=vaccination,
        test=test,
        holder_name=name,
        holder_dob=dob,
    )


def _number(value: object) -> float | None:
    """A NumericDate (RFC 8392: int or float seconds) a datetime can hold, else None."""
    # up to 9999-12-31T23:59:59Z; NaN fails the comparison too
    if (type(value) is int or type(value) is float) and 0 <= value < 253_402_300_799:
        return value
    return None


def verify_shc(
    text: str | Sequence[str], *, jwks: Mapping[str, object], now: datetime
) -> InternationalResult:
    """Verify a ``shc:/`` health card (one text, or the chunks of one card: a sequence, or one
    string with the chunks separated by white space) offline at ``now``."""
    require_aware(now, "now")
    texts = text.split() if isinstance(text, str) else list(text)
    try:
        if any(type(t) is not str for t in texts):
            raise shc.ShcError("unknown prefix")
        if sum(map(len, texts)) > 2 * shc.MAX_JWS_LENGTH + 64:
            raise shc.ShcError("too long")
        jws = shc.parse_jws(shc.join_chunks(texts))
    except shc.ShcError as e:
        return InternationalResult.refused(e.reason)
    # The issuer is only known from the payload, which is inflated before the signature is
    # checked: its size is bounded, and nothing but "iss" is read until the signature holds.
    try:
        raw = shc.inflate_raw(jws.payload)
        payload = shc.loads_payload(raw)
    except shc.ShcError as e:
        return InternationalResult.refused(e.reason)
    iss = payload.get("iss") if isinstance(payload, dict) else None
    if type(iss) is not str:
        return InternationalResult.refused("malformed: payload")
    trusted = jwks.get(iss)
    if trusted is None:
        return InternationalResult.refused("unknown issuer")
    keys = trusted if isinstance(trusted, IssuerKeys) else issuer_keys(iss, trusted)
    key = keys.keys.get(jws.kid)
    if key is None:
        return InternationalResult.refused("unknown kid")
    if len(jws.signature) != 64:
        return InternationalResult.refused("bad signature")
    der = encode_dss_signature(
        int.from_bytes(jws.signature[:32], "big"), int.from_bytes(jws.signature[32:], "big")
    )
    try:
        key.verify(der, jws.signing_input, _ECDSA_SHA256)
    except InvalidSignature:
        return InternationalResult.refused("bad signature")
    # Authenticated from here on.
    assert isinstance(payload, dict)
    nbf, exp = _number(payload.get("nbf")), _number(payload.get("exp"))
    vc = payload.get("vc")
    subject = vc.get("credentialSubject") if isinstance(vc, dict) else None
    bundle = subject.get("fhirBundle") if isinstance(subject, dict) else None
    types = vc.get("type") if isinstance(vc, dict) else None
    if (
        nbf is None
        or (exp is None and payload.get("exp") is not None)
        or not isinstance(types, list)
        or _SHC_TYPE not in types
        or not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
    ):
        return InternationalResult.refused("malformed: payload", payload)
    t = _epoch(now)
    if t < nbf:
        return InternationalResult.refused("not yet valid", payload)
    if exp is not None and t > exp:
        return InternationalResult.refused("expired", payload)
    if _shc_revoked(keys, jws.kid, payload, nbf):
        return InternationalResult.refused("revoked", payload)
    return InternationalResult(True, None, payload, _shc_facts(payload, bundle))
