"""Foreign trust lists, read: the EU gateway's DSC list and the VCI directory (pure parsing).

* EU DCC gateway (``GET /trustList/DSC`` of the DCCG, and the national backends that pass it on):
  a JSON array, or ``{"certificates": [...]}``, of ``{"kid": base64 of 8 bytes, "country":
  "AT", "certificateType": "DSC", "rawData": base64 DER, "thumbprint": hex SHA-256 of the DER,
  "timestamp", "signature"}``. Every entry must parse as an X.509 certificate, and its kid and
  thumbprint (when given) must be those of its DER: a list whose kids do not match its
  certificates is refused whole, as a verifier looking a DCC up by kid would be misled. The
  gateway's ``signature`` (a CMS signature by the country's upload certificate) is not checked
  here: the list is trusted as the administrator who imports it obtained it.
* VCI directory (``vci-directory.json`` of The Commons Project): ``participating_issuers`` only
  names issuers, so the keys must come with it: the directory's daily snapshot format
  ``{"issuer_info": [{"issuer": {"iss", "name"}, "keys": [JWK, ...]}]}`` is read, and so is a
  ``participating_issuers`` list whose entries carry their ``keys`` (or a ``jwks``).

Both raise ``TrustListError`` (a ``ValueError``) naming the first entry that is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yimatong.verifier.international import document_signer, dsc_kid, issuer_keys

__all__ = [
    "MAX_ENTRIES",
    "DscEntry",
    "ShcIssuer",
    "TrustListError",
    "parse_gateway_dscs",
    "parse_vci_directory",
]

#: The most entries one imported list may hold (the EU gateway held ~1,500 DSCs at its peak).
MAX_ENTRIES = 20000
_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_ISS = re.compile(r"https://[^\s/]+(?:/[^\s]*)?", re.ASCII)


class TrustListError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DscEntry:
    kid: bytes
    country: str
    der: bytes


@dataclass(frozen=True, slots=True)
class ShcIssuer:
    iss: str
    name: str
    keys: tuple[Mapping[str, Any], ...]


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
    rows: list[tuple[Any, Any, Any]] = []
    if isinstance(document.get("issuer_info"), list):
        for info in document["issuer_info"]:
            issuer = info.get("issuer") if isinstance(info, Mapping) else None
            if not isinstance(issuer, Mapping):
                raise TrustListError("an issuer_info entry has no issuer")
            rows.append((issuer.get("iss"), issuer.get("name"), info.get("keys")))
    elif isinstance(document.get("participating_issuers"), list):
        for issuer in document["participating_issuers"]:
            if not isinstance(issuer, Mapping):
                raise TrustListError("a participating_issuers entry is not an object")
            keys = issuer.get("keys")
            jwks = issuer.get("jwks")
            if keys is None and isinstance(jwks, Mapping):
                keys = jwks.get("keys")
            rows.append((issuer.get("iss"), issuer.get("name"), keys))
    else:
        raise TrustListError("neither issuer_info (the snapshot format) nor participating_issuers")
    if len(rows) > MAX_ENTRIES:
        raise TrustListError(f"more than {MAX_ENTRIES} issuers")
    out: dict[str, ShcIssuer] = {}
    for iss, name, keys in rows:
        if type(iss) is not str or not _ISS.fullmatch(iss) or iss.endswith("/") or len(iss) > 300:
            raise TrustListError(f"issuer {str(iss)[:80]!r}: iss is not an https URL without a /")
        if not isinstance(keys, list):
            raise TrustListError(
                f"issuer {iss}: no keys (a bare directory names issuers only: import the "
                "snapshot, which carries their JWKS)"
            )
        usable = issuer_keys(iss, {"keys": keys}).keys
        kept = tuple(
            {k: jwk[k] for k in ("kty", "kid", "use", "alg", "crv", "x", "y") if k in jwk}
            for jwk in keys
            if isinstance(jwk, Mapping) and jwk.get("kid") in usable
        )
        label = name if type(name) is str else iss
        out[iss] = ShcIssuer(iss, label[:200], kept)
    return sorted(out.values(), key=lambda e: e.iss)
