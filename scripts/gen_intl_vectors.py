#!/usr/bin/env python3
"""Regenerate tests/vectors/dcc/own/ and tests/vectors/shc/own/: our own international vectors.

They cover what the public test data does not: EdDSA and PS256 document signers, an expired or
not yet valid DSC, revocation hashes, the decompression bomb, header tricks, SHC chunking and
every SHC negative, with keys made afresh by this script (random each run, so regenerating
changes every signature; the expected results stay the same).

    python scripts/gen_intl_vectors.py

Writes ``cases.json`` (each case: name, text or texts, now, expected valid/reason) and the trust
(``trust.json``: DCC kid hex -> DER base64, and revoked hash prefixes; SHC issuer -> JWKS).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
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

ROOT = Path(__file__).resolve().parent.parent / "tests" / "vectors"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
OID = {
    "t": "1.3.6.1.4.1.1847.2021.1.1",
    "v": "1.3.6.1.4.1.1847.2021.1.2",
    "r": "1.3.6.1.4.1.1847.2021.1.3",
}
ISS = "https://issuer.example.org/shc"


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------
# DCC


def _dsc(
    key: Any, *, usages: str = "", days: tuple[int, int] = (-365, 365), country: str = "XA"
) -> bytes:
    signer = ec.generate_private_key(ec.SECP256R1())  # the CSCA, thrown away
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, "DSC test"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CSCA test")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + timedelta(days=days[0]))
        .not_valid_after(NOW + timedelta(days=days[1]))
    )
    if usages:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier(OID[u]) for u in usages]), critical=False
        )
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _sign(key: Any, alg: int, data: bytes) -> bytes:
    if alg == -7:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if alg == -37:
        return key.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    return key.sign(data)


def _hcert(kind: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ver": "1.3.0",
        "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Erika", "gnt": "ERIKA"},
        "dob": "1964-08-12",
    }
    common = {
        "tg": "840539006",
        "co": "XA",
        "is": "Test ministry",
        "ci": f"URN:UVCI:01:XA:OWN{kind.upper()}1#X",
    }
    if kind == "v":
        base["v"] = [
            {
                **common,
                "vp": "J07BX03",
                "mp": "EU/1/20/1528",
                "ma": "ORG-100030215",
                "dn": 2,
                "sd": 2,
                "dt": "2026-03-01",
            }
        ]
    elif kind == "t":
        base["t"] = [
            {
                **common,
                "tt": "LP6464-4",
                "sc": _iso(NOW - timedelta(hours=20)),
                "tr": "260415000",
                "tc": "Test centre",
            }
        ]
    else:
        base["r"] = [{**common, "fr": "2026-04-01", "df": "2026-04-12", "du": "2026-09-30"}]
    return base


def _cose(
    key: Any,
    alg: int,
    kid: bytes,
    claims: Any,
    *,
    unprotected: dict[int, Any] | None = None,
    protected: dict[int, Any] | None = None,
    tamper: bool = False,
    trailing: bytes = b"",
) -> bytes:
    header = cbor2.dumps(protected if protected is not None else {1: alg, 4: kid})
    payload = cbor2.dumps(claims)
    signature = _sign(key, alg, sig_structure(header, payload))
    if tamper:
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    return (
        cbor2.dumps(cbor2.CBORTag(18, [header, unprotected or {}, payload, signature])) + trailing
    )


def _hc1(cose: bytes) -> str:
    return "HC1:" + b45encode(zlib.compress(cose, 9))


def _cwt(
    kind: str, *, iat: int = T - 3600, exp: int = T + 86400 * 30, iss: str = "XA"
) -> dict[int, Any]:
    return {1: iss, 6: iat, 4: exp, -260: {1: _hcert(kind)}}


def dcc_vectors() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    es = ec.generate_private_key(ec.SECP256R1())
    ps = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed = ed25519.Ed25519PrivateKey.generate()
    es_t = ec.generate_private_key(ec.SECP256R1())
    old = ec.generate_private_key(ec.SECP256R1())
    young = ec.generate_private_key(ec.SECP256R1())
    certs = {
        "es": _dsc(es, usages="tvr"),
        "ps": _dsc(ps),
        "ed": _dsc(ed, usages="r"),
        "es_t": _dsc(es_t, usages="t"),
        "old": _dsc(old, days=(-800, -1)),
        "young": _dsc(young, days=(1, 400)),
    }
    kid = {name: dsc_kid(der) for name, der in certs.items()}
    cases: list[dict[str, Any]] = []

    def add(name: str, text: str, reason: str | None, **extra: Any) -> None:
        cases.append(
            {
                "name": name,
                "text": text,
                "now": _iso(NOW),
                "valid": reason is None,
                "reason": reason,
                **extra,
            }
        )

    add("es256-vaccination", _hc1(_cose(es, -7, kid["es"], _cwt("v"))), None)
    add("ps256-test-pcr", _hc1(_cose(ps, -37, kid["ps"], _cwt("t"))), None)
    add("eddsa-recovery", _hc1(_cose(ed, -8, kid["ed"], _cwt("r"))), None)
    add(
        "untagged-cwt-tag61",
        "HC1:"
        + b45encode(
            zlib.compress(
                cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(_cose(es, -7, kid["es"], _cwt("v")))))
            )
        ),
        None,
    )
    add(
        "kid-only-unprotected",
        _hc1(_cose(es, -7, kid["es"], _cwt("v"), protected={1: -7}, unprotected={4: kid["es"]})),
        None,
    )
    add("wrong-key-usage", _hc1(_cose(es_t, -7, kid["es_t"], _cwt("v"))), "wrong key usage")
    add(
        "eddsa-dsc-for-recovery-signs-test",
        _hc1(_cose(ed, -8, kid["ed"], _cwt("t"))),
        "wrong key usage",
    )
    add(
        "dsc-expired",
        _hc1(_cose(old, -7, kid["old"], _cwt("v", iat=T - 86400 * 30))),
        "dsc expired",
    )
    add("dsc-not-yet-valid", _hc1(_cose(young, -7, kid["young"], _cwt("v"))), "dsc not yet valid")
    add(
        "clock-before-issue",
        _hc1(_cose(es, -7, kid["es"], _cwt("v", iat=T + 600))),
        "issued in the future",
    )
    add(
        "expired",
        _hc1(_cose(es, -7, kid["es"], _cwt("v", iat=T - 86400 * 40, exp=T - 1))),
        "expired",
    )
    add("bad-signature", _hc1(_cose(es, -7, kid["es"], _cwt("v"), tamper=True)), "bad signature")
    add(
        "ps256-bad-signature",
        _hc1(_cose(ps, -37, kid["ps"], _cwt("t"), tamper=True)),
        "bad signature",
    )
    add("unknown-kid", _hc1(_cose(es, -7, b"\x00" * 8, _cwt("v"))), "unknown kid")
    add("no-kid", _hc1(_cose(es, -7, b"", _cwt("v"), protected={1: -7})), "missing kid")
    add(
        "alg-in-unprotected",
        _hc1(_cose(es, -7, kid["es"], _cwt("v"), protected={4: kid["es"]}, unprotected={1: -7})),
        "unprotected header",
    )
    add(
        "extra-unprotected-label",
        _hc1(_cose(es, -7, kid["es"], _cwt("v"), unprotected={4: kid["es"], 33: b"x"})),
        "unprotected header",
    )
    add(
        "unprotected-kid-does-not-override",
        _hc1(
            _cose(
                es,
                -7,
                b"\x01" * 8,
                _cwt("v"),
                protected={1: -7, 4: b"\x01" * 8},
                unprotected={4: kid["es"]},
            )
        ),
        "unknown kid",
    )
    add(
        "es256-header-rsa-key",
        _hc1(_cose(ps, -37, kid["ps"], _cwt("t"), protected={1: -7, 4: kid["ps"]})),
        "algorithm mismatch",
    )
    add(
        "es384-unsupported",
        _hc1(_cose(es, -7, kid["es"], _cwt("v"), protected={1: -35, 4: kid["es"]})),
        "unsupported algorithm",
    )
    add(
        "trailing-bytes",
        _hc1(_cose(es, -7, kid["es"], _cwt("v"), trailing=b"\x00")),
        "malformed: COSE",
    )
    add(
        "two-vaccination-entries",
        _hc1(
            _cose(
                es,
                -7,
                kid["es"],
                {**_cwt("v"), -260: {1: {**_hcert("v"), "v": _hcert("v")["v"] * 2}}},
            )
        ),
        "malformed: hcert",
    )
    add("claims-not-a-map", _hc1(_cose(es, -7, kid["es"], [1, 2, 3])), "malformed: claims")
    add("revoked-uci", _hc1(_cose(es, -7, kid["es"], _cwt("v"))), "revoked", revoked="uci")
    add(
        "revoked-country-uci",
        _hc1(_cose(es, -7, kid["es"], _cwt("t"))),
        "revoked",
        revoked="countrycodeuci",
    )
    add(
        "revoked-signature",
        _hc1(_cose(es, -7, kid["es"], _cwt("r"))),
        "revoked",
        revoked="signature",
    )
    add("wrong-prefix", "HC2:" + _hc1(_cose(es, -7, kid["es"], _cwt("v")))[4:], "unknown prefix")
    add("bad-base45", "HC1:NCF:::", "malformed: base45")
    add("base45-dangling", "HC1:NCFO", "malformed: base45")
    add(
        "not-compressed", "HC1:" + b45encode(_cose(es, -7, kid["es"], _cwt("v"))), "malformed: zlib"
    )
    add(
        "broken-zlib",
        "HC1:" + b45encode(zlib.compress(_cose(es, -7, kid["es"], _cwt("v")))[:-6]),
        "malformed: zlib",
    )
    add(
        "zlib-bomb", "HC1:" + b45encode(zlib.compress(b"\x00" * 1_000_000, 9)), "inflates too large"
    )
    add("too-long", "HC1:" + "0" * 9000, "too long")
    add("not-cose", "HC1:" + b45encode(zlib.compress(b"\xff\xff\xff")), "malformed: COSE")

    # Revocation entries: the first 16 bytes of SHA-256, per hash type.
    revoked = {}
    for case in cases:
        how = case.pop("revoked", None)
        if how is None:
            continue
        text = case["text"]
        from yimatong.adapters.wire import hc1

        msg = hc1.parse_cose(hc1.decode_hc1(text))
        dcc = hc1.loads_claims(msg.payload)[-260][1]
        entry = next(dcc[k][0] for k in "vtr" if k in dcc)
        data = {
            "uci": entry["ci"].encode(),
            "countrycodeuci": (entry["co"] + entry["ci"]).encode(),
            "signature": msg.signature[:32],
        }[how]
        revoked[case["name"]] = hashlib.sha256(data).digest()[:16].hex()
        case["revoked"] = [revoked[case["name"]]]
    trust = {
        "certificates": {kid[n].hex(): base64.b64encode(der).decode() for n, der in certs.items()}
    }
    return cases, trust


# ------------------------------------------------------------------------------------------
# SHC


def _jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": shc.b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": shc.b64url_encode(numbers.y.to_bytes(32, "big")),
    }
    return {**jwk, "kid": jwk_thumbprint(jwk), "use": "sig", "alg": "ES256"}


def _bundle(kind: str) -> dict[str, Any]:
    patient = {
        "fullUrl": "resource:0",
        "resource": {
            "resourceType": "Patient",
            "name": [{"family": "Anyperson", "given": ["John", "B."]}],
            "birthDate": "1951-01-20",
        },
    }
    entries: list[dict[str, Any]] = [patient]
    if kind in ("full", "partial", "janssen"):
        cvx, dates = {
            "full": ("207", ["2026-01-01", "2026-01-29"]),
            "partial": ("207", ["2026-01-01"]),
            "janssen": ("212", ["2026-02-01"]),
        }[kind]
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
                    "effectiveDateTime": _iso(NOW - timedelta(hours=30)),
                    "valueCodeableConcept": {
                        "coding": [{"system": "http://snomed.info/sct", "code": "260385009"}]
                    },
                },
            }
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def _payload(
    kind: str = "full", *, nbf: float = T - 3600, exp: float | None = None, iss: str = ISS
) -> dict[str, Any]:
    types = [
        "https://smarthealth.cards#health-card",
        "https://smarthealth.cards#immunization"
        if kind != "pcr"
        else "https://smarthealth.cards#laboratory",
    ]
    out: dict[str, Any] = {
        "iss": iss,
        "nbf": nbf,
        "vc": {
            "type": types,
            "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": _bundle(kind)},
        },
    }
    if exp is not None:
        out["exp"] = exp
    return out


def _jws(
    key: ec.EllipticCurvePrivateKey,
    kid: str,
    payload: Any,
    *,
    header: dict[str, Any] | None = None,
    body: bytes | None = None,
    der: bool = False,
    tamper: bool = False,
) -> str:
    head = shc.b64url_encode(
        json.dumps(
            header or {"zip": "DEF", "alg": "ES256", "kid": kid}, separators=(",", ":")
        ).encode()
    )
    data = (
        body
        if body is not None
        else shc.deflate_raw(json.dumps(payload, separators=(",", ":")).encode())
    )
    signing_input = f"{head}.{shc.b64url_encode(data)}".encode()
    signature = key.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    if not der:
        r, s = decode_dss_signature(signature)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if tamper:
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    return signing_input.decode() + "." + shc.b64url_encode(signature)


def _qr(jws: str) -> str:
    return "shc:/" + shc.numeric_encode(jws)


def _chunks(jws: str, n: int) -> list[str]:
    size = -(-len(jws) // n)
    return [
        f"shc:/{i + 1}/{n}/" + shc.numeric_encode(jws[i * size : (i + 1) * size]) for i in range(n)
    ]


def shc_vectors() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    jwk = _jwk(key)
    kid = jwk["kid"]
    cases: list[dict[str, Any]] = []

    def add(name: str, texts: str | list[str], reason: str | None) -> None:
        field = "texts" if isinstance(texts, list) else "text"
        cases.append(
            {
                "name": name,
                field: texts,
                "now": _iso(NOW),
                "valid": reason is None,
                "reason": reason,
            }
        )

    full = _jws(key, kid, _payload("full"))
    add("full-course", _qr(full), None)
    add("janssen-single-dose", _qr(_jws(key, kid, _payload("janssen"))), None)
    add("partial-course", _qr(_jws(key, kid, _payload("partial"))), None)
    add("pcr-negative", _qr(_jws(key, kid, _payload("pcr", exp=T + 86400))), None)
    add("chunked-3", _chunks(full, 3), None)
    add("chunked-3-shuffled", list(reversed(_chunks(full, 3))), None)
    add("chunk-missing", _chunks(full, 3)[:2], "chunk missing")
    add("chunk-duplicate", [*_chunks(full, 3)[:2], _chunks(full, 3)[1]], "chunk duplicate")
    add("chunk-count-mismatch", [_chunks(full, 3)[0], _chunks(full, 2)[1]], "chunk count")
    add("chunk-one-of-one", [c.replace("shc:/", "shc:/1/1/") for c in [_qr(full)]], None)
    add(
        "chunk-too-long",
        _chunks(
            _jws(key, kid, {**_payload(), "pad": base64.b64encode(os.urandom(2400)).decode()}), 2
        ),
        "chunk too long",
    )
    add(
        "chunk-index-out-of-range",
        [c.replace("shc:/3/3/", "shc:/4/3/") for c in _chunks(full, 3)],
        "chunk index",
    )
    add("chunk-and-whole-mixed", [_qr(full), _chunks(full, 2)[0]], "chunk header")
    add("numeric-odd", _qr(full)[:-1], "malformed: numeric")
    add("numeric-too-big", _qr(full)[:-2] + "99", "malformed: numeric")
    add("numeric-letters", "shc:/12ab", "malformed: numeric")
    add("wrong-prefix", "shc:" + _qr(full)[5:], "unknown prefix")
    add("bad-signature", _qr(_jws(key, kid, _payload(), tamper=True)), "bad signature")
    add("der-signature", _qr(_jws(key, kid, _payload(), der=True)), "bad signature")
    add("signed-by-other-key", _qr(_jws(other, kid, _payload())), "bad signature")
    add("unknown-kid", _qr(_jws(other, _jwk(other)["kid"], _payload())), "unknown kid")
    add(
        "unknown-issuer",
        _qr(_jws(key, kid, _payload(iss="https://elsewhere.example/shc"))),
        "unknown issuer",
    )
    add(
        "alg-es384",
        _qr(_jws(key, kid, _payload(), header={"zip": "DEF", "alg": "ES384", "kid": kid})),
        "unsupported algorithm",
    )
    add(
        "alg-none",
        _qr(_jws(key, kid, _payload(), header={"zip": "DEF", "alg": "none", "kid": kid})),
        "unsupported algorithm",
    )
    add(
        "header-jku",
        _qr(
            _jws(
                key,
                kid,
                _payload(),
                header={"zip": "DEF", "alg": "ES256", "kid": kid, "jku": "https://x.example/"},
            )
        ),
        "malformed: JWS header",
    )
    add(
        "header-no-zip",
        _qr(_jws(key, kid, _payload(), header={"alg": "ES256", "kid": kid})),
        "malformed: JWS header",
    )
    add(
        "not-deflated",
        _qr(_jws(key, kid, None, body=json.dumps(_payload()).encode())),
        "malformed: deflate",
    )
    add(
        "deflate-bomb",
        _qr(_jws(key, kid, None, body=shc.deflate_raw(b" " * 2_000_000))),
        "inflates too large",
    )
    add("not-yet-valid", _qr(_jws(key, kid, _payload(nbf=T + 3600))), "not yet valid")
    add("expired", _qr(_jws(key, kid, _payload(nbf=T - 86400, exp=T - 60))), "expired")
    add(
        "payload-not-a-card",
        _qr(_jws(key, kid, {"iss": ISS, "nbf": T - 60, "vc": {"type": ["x"]}})),
        "malformed: payload",
    )
    add("jws-two-parts", _qr(full.rsplit(".", 1)[0]), "malformed: JWS")
    add("jws-bad-base64url", _qr(full.replace(".", ".=", 1)), "malformed: JWS")
    trust = {"jwks": {ISS: {"keys": [jwk]}}}
    return cases, trust


def main() -> None:
    for family, make in (("dcc", dcc_vectors), ("shc", shc_vectors)):
        cases, trust = make()
        out = ROOT / family / "own"
        out.mkdir(parents=True, exist_ok=True)
        (out / "cases.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
        (out / "trust.json").write_text(json.dumps(trust, indent=1) + "\n")
        print(f"{family}: {len(cases)} cases -> {out}")


if __name__ == "__main__":
    main()
