"""Synthetic international certificates, made with keys of our own (never anyone's real keys).

For the demo, the benchmark, the tests and ``scripts/gen_intl_vectors.py``: an EU DCC document
signer (``DemoDsc``: a key, a self-made CSCA and a DSC with key usage) that signs ``HC1:``
certificates, and a SMART Health Card issuer (``DemoShcIssuer``: a P-256 key and its JWK) that
signs ``shc:/`` cards; ``gateway_list`` and ``vci_snapshot`` put them into the formats the hub
imports. Optional arguments make the malformed and forged variants the tests refuse.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from yimatong.adapters.wire import shc
from yimatong.adapters.wire.base45 import b45encode
from yimatong.adapters.wire.cose import sig_structure
from yimatong.verifier.international import dsc_kid, jwk_thumbprint

__all__ = [
    "DemoCsca",
    "DemoDsc",
    "DemoShcIssuer",
    "chunks",
    "csca_list",
    "cwt",
    "gateway_list",
    "hcert",
    "qr",
    "revocation_batch",
    "shc_payload",
    "vci_snapshot",
]

USAGE_OIDS = {
    "t": "1.3.6.1.4.1.1847.2021.1.1",
    "v": "1.3.6.1.4.1.1847.2021.1.2",
    "r": "1.3.6.1.4.1.1847.2021.1.3",
}
_ALGS = {"ES256": -7, "PS256": -37, "EdDSA": -8}


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _raw_ecdsa(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# ------------------------------------------------------------------------------------ DCC


def hcert(kind: str, now: datetime, *, country: str = "XA") -> dict[str, Any]:
    """A DCC of schema 1.3.0: ``v`` a full course (2/2), ``t`` a negative PCR sampled 20 h
    before ``now``, ``r`` a recovery."""
    base: dict[str, Any] = {
        "ver": "1.3.0",
        "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Erika", "gnt": "ERIKA"},
        "dob": "1964-08-12",
    }
    common = {
        "tg": "840539006",
        "co": country,
        "is": "Test ministry",
        "ci": f"URN:UVCI:01:{country}:OWN{kind.upper()}1#X",
    }
    day = (now - timedelta(days=90)).date().isoformat()
    if kind == "v":
        base["v"] = [
            {
                **common,
                "vp": "J07BX03",
                "mp": "EU/1/20/1528",
                "ma": "ORG-100030215",
                "dn": 2,
                "sd": 2,
                "dt": day,
            }
        ]
    elif kind == "t":
        sampled = _iso(now - timedelta(hours=20))
        base["t"] = [
            {**common, "tt": "LP6464-4", "sc": sampled, "tr": "260415000", "tc": "Test centre"}
        ]
    else:
        until = (now + timedelta(days=120)).date().isoformat()
        base["r"] = [{**common, "fr": day, "df": day, "du": until}]
    return base


def cwt(
    kind: str,
    now: datetime,
    *,
    iat: datetime | None = None,
    exp: datetime | None = None,
    iss: str = "XA",
) -> dict[int, Any]:
    issued = iat or now - timedelta(hours=1)
    expires = exp or now + timedelta(days=30)
    return {
        1: iss,
        6: int(issued.timestamp()),
        4: int(expires.timestamp()),
        -260: {1: hcert(kind, now, country=iss)},
    }


@dataclass
class DemoCsca:
    """A country signing CA of our own: its key and self-signed certificate."""

    key: Any
    der: bytes
    country: str

    @property
    def name(self) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, self.country),
                x509.NameAttribute(NameOID.COMMON_NAME, f"CSCA {self.country} test"),
            ]
        )

    @classmethod
    def new(cls, now: datetime, *, country: str = "XA", valid_days: int = 3650) -> DemoCsca:
        key = ec.generate_private_key(ec.SECP256R1())
        out = cls(key, b"", country)
        cert = (
            x509.CertificateBuilder()
            .subject_name(out.name)
            .issuer_name(out.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=valid_days // 2))
            .not_valid_after(now + timedelta(days=valid_days // 2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        out.der = cert.public_bytes(serialization.Encoding.DER)
        return out


def csca_list(cscas: Iterable[DemoCsca]) -> list[dict[str, Any]]:
    """The CSCAs as the EU gateway's ``/trustList/CSCA`` lists them (without its signature)."""
    import base64
    import hashlib

    return [
        {
            "kid": base64.b64encode(dsc_kid(c.der)).decode(),
            "country": c.country,
            "certificateType": "CSCA",
            "thumbprint": hashlib.sha256(c.der).hexdigest(),
            "rawData": base64.b64encode(c.der).decode(),
        }
        for c in cscas
    ]


@dataclass
class DemoDsc:
    """A document signer: its private key, algorithm and DER certificate."""

    key: Any
    alg: str
    der: bytes
    country: str

    @property
    def kid(self) -> bytes:
        return dsc_kid(self.der)

    @classmethod
    def new(
        cls,
        now: datetime,
        *,
        alg: str = "ES256",
        usages: str = "tvr",
        valid_days: tuple[int, int] = (-365, 365),
        country: str = "XA",
        csca: DemoCsca | None = None,
        subject_country: str | None = None,
    ) -> DemoDsc:
        """A DSC signed by ``csca`` (by a CSCA made for it and thrown away when None), listed
        under ``country``, naming ``subject_country`` (default ``country``) as its C."""
        key: Any
        if alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        elif alg == "PS256":
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            key = ed25519.Ed25519PrivateKey.generate()
        # without a CSCA: one signs the DSC, then is thrown away
        signer = ec.generate_private_key(ec.SECP256R1()) if csca is None else csca.key
        issuer = (
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CSCA test")])
            if csca is None
            else csca.name
        )
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, subject_country or country),
                x509.NameAttribute(NameOID.COMMON_NAME, f"DSC {alg} test"),
            ]
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + timedelta(days=valid_days[0]))
            .not_valid_after(now + timedelta(days=valid_days[1]))
        )
        if usages:
            oids = [x509.ObjectIdentifier(USAGE_OIDS[u]) for u in usages]
            builder = builder.add_extension(x509.ExtendedKeyUsage(oids), critical=False)
        der = builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        return cls(key, alg, der, country)

    def signature(self, data: bytes) -> bytes:
        if self.alg == "ES256":
            return _raw_ecdsa(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        if self.alg == "PS256":
            pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
            return bytes(self.key.sign(data, pss, hashes.SHA256()))
        return bytes(self.key.sign(data))

    def cose(
        self,
        claims: Any,
        *,
        kid: bytes | None = None,
        protected: Mapping[int, Any] | None = None,
        unprotected: Mapping[int, Any] | None = None,
        tamper: bool = False,
        trailing: bytes = b"",
    ) -> bytes:
        """A tagged COSE_Sign1 over ``claims``; the keywords make the tricks the tests refuse."""
        header = {1: _ALGS[self.alg], 4: self.kid if kid is None else kid}
        protected_bytes = cbor2.dumps(dict(header if protected is None else protected))
        payload = cbor2.dumps(claims)
        signature = self.signature(sig_structure(protected_bytes, payload))
        if tamper:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        message = [protected_bytes, dict(unprotected or {}), payload, signature]
        return cbor2.dumps(cbor2.CBORTag(18, message)) + trailing

    def hc1(self, claims: Any, **tricks: Any) -> str:
        return "HC1:" + b45encode(zlib.compress(self.cose(claims, **tricks), 9))


def gateway_list(dscs: Iterable[DemoDsc]) -> list[dict[str, Any]]:
    """The DSCs as the EU gateway's ``/trustList/DSC`` lists them (without its signature)."""
    import base64
    import hashlib

    return [
        {
            "kid": base64.b64encode(d.kid).decode(),
            "country": d.country,
            "certificateType": "DSC",
            "thumbprint": hashlib.sha256(d.der).hexdigest(),
            "rawData": base64.b64encode(d.der).decode(),
        }
        for d in dscs
    ]


# ------------------------------------------------------------------------------------ SHC


def _bundle(kind: str, now: datetime) -> dict[str, Any]:
    patient = {
        "fullUrl": "resource:0",
        "resource": {
            "resourceType": "Patient",
            "name": [{"family": "Anyperson", "given": ["John", "B."]}],
            "birthDate": "1951-01-20",
        },
    }
    entries: list[dict[str, Any]] = [patient]
    first = (now - timedelta(days=120)).date().isoformat()
    second = (now - timedelta(days=92)).date().isoformat()
    doses = {
        "full": ("207", [first, second]),
        "partial": ("207", [first]),
        "janssen": ("212", [first]),
    }
    if kind in doses:
        cvx, dates = doses[kind]
        for i, day in enumerate(dates, 1):
            entries.append(
                {
                    "fullUrl": f"resource:{i}",
                    "resource": {
                        "resourceType": "Immunization",
                        "status": "completed",
                        "vaccineCode": {
                            "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]
                        },
                        "patient": {"reference": "resource:0"},
                        "occurrenceDateTime": day,
                    },
                }
            )
    if kind == "pcr":
        entries.append(
            {
                "fullUrl": "resource:1",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
                    "subject": {"reference": "resource:0"},
                    "effectiveDateTime": _iso(now - timedelta(hours=30)),
                    "valueCodeableConcept": {
                        "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
                    },
                },
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def shc_payload(
    kind: str,
    now: datetime,
    iss: str,
    *,
    nbf: datetime | None = None,
    exp: datetime | None = None,
    rid: str | None = None,
) -> dict[str, Any]:
    """A health card's claims: ``full`` (2 doses), ``partial`` (1), ``janssen`` (1 of 1),
    ``pcr`` (a negative PCR sampled 30 h before ``now``); ``rid`` its revocation id."""
    second = (
        "https://smarthealth.cards#laboratory"
        if kind == "pcr"
        else ("https://smarthealth.cards#immunization")
    )
    out: dict[str, Any] = {
        "iss": iss,
        "nbf": (nbf or now - timedelta(hours=1)).timestamp(),
        "vc": {
            "type": ["https://smarthealth.cards#health-card", second],
            "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": _bundle(kind, now)},
        },
    }
    if exp is not None:
        out["exp"] = exp.timestamp()
    if rid is not None:
        out["vc"]["rid"] = rid
    return out


@dataclass
class DemoShcIssuer:
    iss: str
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def new(cls, iss: str = "https://issuer.example.org/shc") -> DemoShcIssuer:
        return cls(iss, ec.generate_private_key(ec.SECP256R1()))

    @property
    def jwk(self) -> dict[str, str]:
        numbers = self.key.public_key().public_numbers()
        jwk = {
            "kty": "EC",
            "crv": "P-256",
            "x": shc.b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": shc.b64url_encode(numbers.y.to_bytes(32, "big")),
        }
        return {**jwk, "kid": jwk_thumbprint(jwk), "use": "sig", "alg": "ES256"}

    def jws(
        self,
        payload: Any,
        *,
        header: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        der: bool = False,
        tamper: bool = False,
        kid: str | None = None,
    ) -> str:
        """A compact JWS; the keywords make the variants the tests refuse."""
        head = header or {"zip": "DEF", "alg": "ES256", "kid": kid or self.jwk["kid"]}
        encoded = shc.b64url_encode(json.dumps(head, separators=(",", ":")).encode())
        data = (
            body
            if body is not None
            else shc.deflate_raw(json.dumps(payload, separators=(",", ":")).encode())
        )
        signing_input = f"{encoded}.{shc.b64url_encode(data)}".encode()
        signature = self.key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
        if not der:
            signature = _raw_ecdsa(signature)
        if tamper:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        return signing_input.decode() + "." + shc.b64url_encode(signature)

    def card(self, kind: str, now: datetime, **payload: Any) -> str:
        return qr(self.jws(shc_payload(kind, now, self.iss, **payload)))


def qr(jws: str) -> str:
    return "shc:/" + shc.numeric_encode(jws)


def chunks(jws: str, n: int) -> list[str]:
    size = -(-len(jws) // n)
    return [
        f"shc:/{i + 1}/{n}/" + shc.numeric_encode(jws[i * size : (i + 1) * size]) for i in range(n)
    ]


def vci_snapshot(
    issuers: Iterable[DemoShcIssuer], *, rids: Mapping[str, list[str]] | None = None
) -> dict[str, Any]:
    """The issuers in the VCI directory's snapshot format (``issuer_info`` with keys, and a
    CRL for the issuers ``rids`` names: iss -> revoked rids)."""
    out: list[dict[str, Any]] = []
    for i in issuers:
        info: dict[str, Any] = {
            "issuer": {"iss": i.iss, "name": f"Demo issuer {i.iss}"},
            "keys": [i.jwk],
        }
        if rids and i.iss in rids:
            info["keys"] = [{**i.jwk, "crlVersion": 1}]
            info["crls"] = [{"kid": i.jwk["kid"], "method": "rid", "ctr": 1, "rids": rids[i.iss]}]
        out.append(info)
    return {"issuer_info": out}


def revocation_batch(
    dsc: DemoDsc | None,
    hash_type: str,
    hashes: Iterable[bytes],
    expires: datetime,
    *,
    country: str = "XA",
) -> dict[str, Any]:
    """A revocation batch as the EU gateway's ``/revocation-list/{batchId}`` holds it (the
    JSON inside its CMS envelope); ``dsc`` None: ``UNKNOWN_KID``."""
    import base64

    return {
        "country": country,
        "expires": _iso(expires),
        "kid": "UNKNOWN_KID" if dsc is None else base64.b64encode(dsc.kid).decode(),
        "hashType": hash_type,
        "entries": [{"hash": base64.b64encode(h).decode()} for h in hashes],
    }
