"""Foreign trust lists, read: the EU gateway's DSC list and the VCI directory (pure parsing).

* EU DCC gateway (``GET /trustList/DSC`` of the DCCG, and the national backends that pass it on):
  a JSON array, or ``{"certificates": [...]}``, of ``{"kid": base64 of 8 bytes, "country":
  "AT", "certificateType": "DSC", "rawData": base64 DER, "thumbprint": hex SHA-256 of the DER,
  "timestamp", "signature"}``. Every entry must parse as an X.509 certificate, and its kid and
  thumbprint (when given) must be those of its DER: a list whose kids do not match its
  certificates is refused whole, as a verifier looking a DCC up by kid would be misled. The
  gateway's ``signature`` (a CMS signature by the country's upload certificate) is not checked
  here: the list is trusted as the administrator who imports it obtained it.
* EU gateway CSCAs (``GET /trustList/CSCA``, or the entries of ``/trustList`` whose
  ``certificateType`` is ``CSCA``): the same entry format. ``parse_gateway_cscas`` reads them
  (a bad one is refused in a line of its own); given any, ``check_dsc_chains`` keeps only the
  DSCs whose signature verifies under a CSCA of the country the gateway lists them under
  (``cryptography``'s ``verify_directly_issued_by``: the DSC's issuer is the CSCA's subject and
  the CSCA's key signed it), whose own subject country (C), when they name one, is that
  country, and that were issued while the CSCA was valid; every other DSC is refused in one
  line and the rest are kept.
* VCI directory (``vci-directory.json`` of The Commons Project): ``participating_issuers`` only
  names issuers, so the keys must come with it: the directory's daily snapshot format
  ``{"issuer_info": [{"issuer": {"iss", "name"}, "keys": [JWK, ...]}]}`` is read, and so is a
  ``participating_issuers`` list whose entries carry their ``keys`` (or a ``jwks``). An
  entry's ``crls`` (the snapshot's Card Revocation Lists, ``[{"kid", "method": "rid", "ctr",
  "rids"}]``) are kept for the keys it lists.
* EU gateway revocation batches (``GET /revocation-list/{batchId}`` of the DCCG, the JSON inside
  its CMS envelope): ``{"country", "expires", "kid", "hashType", "entries": [{"hash"}]}``, one
  batch, an array of them, or ``{"batches": [...]}`` (the gateway's batch list, each item with
  its content; ``deleted`` ones are skipped). ``parse_gateway_revocation`` refuses a bad batch
  with a one-line reason and keeps the others (one bad batch does not stop a feed).

The DSC and VCI readers raise ``TrustListError`` (a ``ValueError``) naming the first entry that
is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from yimatong.verifier.international import (
    REVOCATION_HASH_TYPES,
    document_signer,
    dsc_kid,
    issuer_keys,
    shc_crls,
)

__all__ = [
    "MAX_ENTRIES",
    "MAX_REVOKED_HASHES",
    "CscaEntry",
    "DscEntry",
    "RevocationBatch",
    "ShcIssuer",
    "TrustListError",
    "check_dsc_chains",
    "parse_gateway_cscas",
    "parse_gateway_dscs",
    "parse_gateway_revocation",
    "parse_vci_directory",
]

#: The most entries one imported list may hold (the EU gateway held ~1,500 DSCs at its peak).
MAX_ENTRIES = 20000
_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_JWK_FIELDS = ("kty", "kid", "use", "alg", "crv", "x", "y", "crlVersion")
#: The most revoked hashes one import may hold (the gateway allows 1,000 per batch).
MAX_REVOKED_HASHES = 2_000_000
_KID_B64 = re.compile(r"[A-Za-z0-9+/]{11}=", re.ASCII)
_HASH_B64 = re.compile(r"[A-Za-z0-9+/]{22}==", re.ASCII)
_ISS = re.compile(r"https://[^\s/]+(?:/[^\s]*)?", re.ASCII)


class TrustListError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DscEntry:
    kid: bytes
    country: str
    der: bytes


@dataclass(frozen=True, slots=True)
class CscaEntry:
    country: str
    certificate: x509.Certificate


@dataclass(frozen=True, slots=True)
class ShcIssuer:
    iss: str
    name: str
    keys: tuple[Mapping[str, Any], ...]
    #: the issuer's CRLs, for its kept keys: ({"kid", "method": "rid", "ctr", "rids"}, ...)
    crls: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class RevocationBatch:
    """One EU gateway revocation batch: ``kid`` None is the gateway's ``UNKNOWN_KID``."""

    batch_id: str
    country: str
    kid: bytes | None
    hash_type: str
    expires: datetime
    hashes: tuple[bytes, ...]


def _b64(value: object, what: str) -> bytes:
    if type(value) is not str:
        raise TrustListError(f"{what} is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise TrustListError(f"{what} is not base64") from None


def parse_gateway_dscs(document: Any) -> list[DscEntry]:
    entries = document.get("certificates") if isinstance(document, Mapping) else document
    if not isinstance(entries, list):
        raise TrustListError('a DSC list is a JSON array (or {"certificates": [...]})')
    if len(entries) > MAX_ENTRIES:
        raise TrustListError(f"more than {MAX_ENTRIES} entries")
    out: dict[bytes, DscEntry] = {}
    for i, entry in enumerate(entries):
        where = f"entry {i}"
        if not isinstance(entry, Mapping):
            raise TrustListError(f"{where} is not an object")
        if entry.get("certificateType", "DSC") != "DSC":
            continue  # the gateway's other lists (CSCA, UPLOAD) are not document signers
        der = _b64(entry.get("rawData"), f"{where}: rawData")
        country = entry.get("country")
        if type(country) is not str or not _COUNTRY.fullmatch(country):
            raise TrustListError(f"{where}: country is not two capital letters")
        kid = dsc_kid(der)
        if "kid" in entry and _b64(entry["kid"], f"{where}: kid") != kid:
            raise TrustListError(f"{where}: kid is not SHA-256(rawData)[:8]")
        thumbprint = entry.get("thumbprint")
        if thumbprint is not None and thumbprint != hashlib.sha256(der).hexdigest():
            raise TrustListError(f"{where}: thumbprint is not SHA-256(rawData)")
        try:
            document_signer(der, kid)
        except ValueError:
            raise TrustListError(f"{where}: rawData is not an X.509 certificate") from None
        out[kid] = DscEntry(kid, country, der)
    return sorted(out.values(), key=lambda e: e.kid)


def parse_vci_directory(document: Any) -> list[ShcIssuer]:
    if not isinstance(document, Mapping):
        raise TrustListError("a VCI directory is a JSON object")
    rows: list[tuple[Any, Any, Any, Any]] = []
    if isinstance(document.get("issuer_info"), list):
        for info in document["issuer_info"]:
            issuer = info.get("issuer") if isinstance(info, Mapping) else None
            if not isinstance(issuer, Mapping):
                raise TrustListError("an issuer_info entry has no issuer")
            rows.append((issuer.get("iss"), issuer.get("name"), info.get("keys"), info.get("crls")))
    elif isinstance(document.get("participating_issuers"), list):
        for issuer in document["participating_issuers"]:
            if not isinstance(issuer, Mapping):
                raise TrustListError("a participating_issuers entry is not an object")
            keys = issuer.get("keys")
            jwks = issuer.get("jwks")
            if keys is None and isinstance(jwks, Mapping):
                keys = jwks.get("keys")
            rows.append((issuer.get("iss"), issuer.get("name"), keys, issuer.get("crls")))
    else:
        raise TrustListError("neither issuer_info (the snapshot format) nor participating_issuers")
    if len(rows) > MAX_ENTRIES:
        raise TrustListError(f"more than {MAX_ENTRIES} issuers")
    out: dict[str, ShcIssuer] = {}
    for iss, name, keys, crls in rows:
        if type(iss) is not str or not _ISS.fullmatch(iss) or iss.endswith("/") or len(iss) > 300:
            raise TrustListError(f"issuer {str(iss)[:80]!r}: iss is not an https URL without a /")
        if not isinstance(keys, list):
            raise TrustListError(
                f"issuer {iss}: no keys (a bare directory names issuers only: import the "
                "snapshot, which carries their JWKS)"
            )
        usable = issuer_keys(iss, {"keys": keys}).keys
        kept = tuple(
            {k: jwk[k] for k in _JWK_FIELDS if k in jwk}
            for jwk in keys
            if isinstance(jwk, Mapping) and jwk.get("kid") in usable
        )
        label = name if type(name) is str else iss
        revoked = shc_crls(crls)
        kept_crls = tuple(
            {"kid": kid, "method": "rid", "rids": _rids(table)}
            for kid, table in sorted(revoked.items())
            if kid in usable and table
        )
        out[iss] = ShcIssuer(iss, label[:200], kept, kept_crls)
    return sorted(out.values(), key=lambda e: e.iss)


def _rids(table: Mapping[str, float | None]) -> list[str]:
    return [rid if at is None else f"{rid}.{int(at)}" for rid, at in sorted(table.items())]


def _batch(item: Any, where: str, now: datetime) -> RevocationBatch | str | None:
    """A batch, or the reason it is refused, or None when it is deleted or expired."""
    if not isinstance(item, Mapping):
        return f"{where} is not an object"
    if item.get("deleted") is True:
        return None
    content = item.get("content", item)  # a batch list item may carry its content beside it
    if not isinstance(content, Mapping):
        return f"{where}: content is not an object"
    country = content.get("country", item.get("country"))
    if type(country) is not str or not _COUNTRY.fullmatch(country):
        return f"{where}: country is not two capital letters"
    hash_type = content.get("hashType")
    if hash_type not in REVOCATION_HASH_TYPES:
        return f"{where}: hashType is not one of {', '.join(REVOCATION_HASH_TYPES)}"
    kid_text = content.get("kid", "UNKNOWN_KID")
    kid: bytes | None = None
    if kid_text != "UNKNOWN_KID":
        if type(kid_text) is not str or not _KID_B64.fullmatch(kid_text):
            return f"{where}: kid is neither base64 of 8 bytes nor UNKNOWN_KID"
        kid = base64.b64decode(kid_text)
    expires_text = content.get("expires")
    try:
        expires = datetime.fromisoformat(str(expires_text).replace("Z", "+00:00"))
    except ValueError:
        return f"{where}: expires is not a date and time"
    if expires.tzinfo is None:
        return f"{where}: expires has no offset"
    entries = content.get("entries")
    if not isinstance(entries, list) or not 1 <= len(entries) <= 1000:
        return f"{where}: entries is not a list of 1 to 1000 hashes"
    hashes: list[bytes] = []
    for j, entry in enumerate(entries):
        value = entry.get("hash") if isinstance(entry, Mapping) else None
        if type(value) is not str or not _HASH_B64.fullmatch(value):
            return f"{where}: entries[{j}].hash is not base64 of 16 bytes"
        hashes.append(base64.b64decode(value))
    if expires <= now:
        return None  # the gateway's "can be removed": what it revoked has expired
    batch_id = item.get("batchId")
    if type(batch_id) is not str or not 1 <= len(batch_id) <= 64:
        # no id of the gateway: the batch's own digest names it
        canonical_text = f"{country}|{kid_text}|{hash_type}|{expires_text}|" + ",".join(
            sorted(h.hex() for h in hashes)
        )
        batch_id = hashlib.sha256(canonical_text.encode()).hexdigest()[:32]
    return RevocationBatch(batch_id, country, kid, hash_type, expires, tuple(sorted(set(hashes))))


def parse_gateway_revocation(
    document: Any, now: datetime
) -> tuple[list[RevocationBatch], list[str]]:
    """The batches of a revocation download that hold at ``now``, and one line per refused
    batch. Raises ``TrustListError`` only when the document as a whole is not such a list."""
    if isinstance(document, Mapping) and isinstance(document.get("batches"), list):
        items = document["batches"]
    elif isinstance(document, Mapping) and "entries" in document:
        items = [document]
    elif isinstance(document, list):
        items = document
    else:
        raise TrustListError(
            'a revocation list is a batch, an array of batches or {"batches": [...]}'
        )
    if len(items) > MAX_ENTRIES * 10:
        raise TrustListError(f"more than {MAX_ENTRIES * 10} batches")
    batches: dict[str, RevocationBatch] = {}
    refused: list[str] = []
    total = 0
    for i, item in enumerate(items):
        found = _batch(item, f"batch {i}", now)
        if isinstance(found, str):
            refused.append(found)
        elif found is not None:
            total += len(found.hashes)
            if total > MAX_REVOKED_HASHES:
                raise TrustListError(f"more than {MAX_REVOKED_HASHES} revoked hashes")
            batches[found.batch_id] = found
    return sorted(batches.values(), key=lambda b: b.batch_id), refused


def parse_gateway_cscas(document: Any) -> tuple[list[CscaEntry], list[str]]:
    """The CSCA entries of a gateway list (``certificateType`` ``CSCA``) and one line per
    refused entry; a document that is no list holds none."""
    entries = document.get("certificates") if isinstance(document, Mapping) else document
    if not isinstance(entries, list):
        return [], []
    out: list[CscaEntry] = []
    refused: list[str] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or entry.get("certificateType") != "CSCA":
            continue
        where = f"csca entry {i}"
        country = entry.get("country")
        if type(country) is not str or not _COUNTRY.fullmatch(country):
            refused.append(f"{where}: country is not two capital letters")
            continue
        try:
            der = _b64(entry.get("rawData"), f"{where}: rawData")
            cert = x509.load_der_x509_certificate(der)
        except TrustListError as exc:
            refused.append(str(exc))
            continue
        except ValueError:
            refused.append(f"{where}: rawData is not an X.509 certificate")
            continue
        out.append(CscaEntry(country, cert))
    return out, refused


def _subject_country(cert: x509.Certificate) -> str | None:
    values = cert.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    value = values[0].value if values else None
    return value if isinstance(value, str) else None


def _chain_refusal(dsc: DscEntry, cscas: list[CscaEntry]) -> str | None:
    """None if ``dsc`` chains to one of ``cscas`` (its country's), else why not."""
    what = f"DSC {base64.b64encode(dsc.kid).decode()} ({dsc.country})"
    cert = x509.load_der_x509_certificate(dsc.der)
    subject_country = _subject_country(cert)
    if subject_country is not None and subject_country != dsc.country:
        return f"{what}: its subject's country {subject_country} differs from {dsc.country}"
    candidates = [c for c in cscas if c.country == dsc.country]
    if not candidates:
        return f"{what}: no CSCA of {dsc.country} was given"
    for csca in candidates:
        try:
            cert.verify_directly_issued_by(csca.certificate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        issued = cert.not_valid_before_utc
        if not (csca.certificate.not_valid_before_utc <= issued):
            return f"{what}: issued before its CSCA became valid"
        if issued > csca.certificate.not_valid_after_utc:
            return f"{what}: issued after its CSCA expired"
        return None
    return f"{what}: not signed by a CSCA of {dsc.country}"


def check_dsc_chains(
    entries: list[DscEntry], cscas: list[CscaEntry]
) -> tuple[list[DscEntry], list[str]]:
    """The DSCs that chain to a CSCA of their country, and one line per DSC that does not."""
    kept: list[DscEntry] = []
    refused: list[str] = []
    for entry in entries:
        reason = _chain_refusal(entry, cscas)
        if reason is None:
            kept.append(entry)
        else:
            refused.append(reason)
    return kept, refused
