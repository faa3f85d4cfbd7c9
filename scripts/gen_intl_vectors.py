#!/usr/bin/env python3
"""Regenerate tests/vectors/dcc/own/ and tests/vectors/shc/own/: our own international vectors.

They cover what the public test data does not: EdDSA and PS256 document signers, an expired or
not yet valid DSC, revocation hashes, the decompression bomb, header tricks, SHC chunking and
every SHC negative, with keys made afresh by ``yimatong.demo.international`` (random each run,
so regenerating changes every signature; the expected results stay the same).

    python scripts/gen_intl_vectors.py

Writes ``cases.json`` (each case: name, text or texts, now, expected valid/reason) and the trust
(``trust.json``: DCC kid hex -> DER base64; SHC issuer -> JWKS).
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

from yimatong.adapters.wire import hc1, shc
from yimatong.adapters.wire.base45 import b45encode
from yimatong.demo.international import (
    DemoDsc,
    DemoShcIssuer,
    chunks,
    cwt,
    hcert,
    qr,
    shc_payload,
)

ROOT = Path(__file__).resolve().parent.parent / "tests" / "vectors"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def dcc_vectors() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    es = DemoDsc.new(NOW, usages="tvr")
    ps = DemoDsc.new(NOW, alg="PS256", usages="")
    ed = DemoDsc.new(NOW, alg="EdDSA", usages="r")
    es_t = DemoDsc.new(NOW, usages="t")
    old = DemoDsc.new(NOW, valid_days=(-800, -1))
    young = DemoDsc.new(NOW, valid_days=(1, 400))
    cases: list[dict[str, Any]] = []

    def add(name: str, text: str, reason: str | None, **extra: Any) -> None:
        cases.append(
            {"name": name, "text": text, "now": _iso(NOW), "valid": reason is None,
             "reason": reason, **extra}
        )  # fmt: skip

    v, t, r = cwt("v", NOW), cwt("t", NOW), cwt("r", NOW)
    bad_kid = b"\x01" * 8
    add("es256-vaccination", es.hc1(v), None)
    add("ps256-test-pcr", ps.hc1(t), None)
    add("eddsa-recovery", ed.hc1(r), None)
    tagged61 = cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(es.cose(v))))
    add("cwt-tag-61", "HC1:" + b45encode(zlib.compress(tagged61)), None)
    add("kid-only-unprotected", es.hc1(v, protected={1: -7}, unprotected={4: es.kid}), None)
    add("wrong-key-usage", es_t.hc1(v), "wrong key usage")
    add("eddsa-dsc-for-recovery-signs-test", ed.hc1(t), "wrong key usage")
    add("dsc-expired", old.hc1(cwt("v", NOW, iat=NOW - 30 * D)), "dsc expired")
    add("dsc-not-yet-valid", young.hc1(v), "dsc not yet valid")
    add("clock-before-issue", es.hc1(cwt("v", NOW, iat=NOW + 0.2 * H)), "issued in the future")
    add("expired", es.hc1(cwt("v", NOW, iat=NOW - 40 * D, exp=NOW - 1 * H)), "expired")
    add("bad-signature", es.hc1(v, tamper=True), "bad signature")
    add("ps256-bad-signature", ps.hc1(t, tamper=True), "bad signature")
    add("unknown-kid", es.hc1(v, kid=b"\x00" * 8), "unknown kid")
    add("no-kid", es.hc1(v, protected={1: -7}), "missing kid")
    add("alg-in-unprotected", es.hc1(v, protected={4: es.kid}, unprotected={1: -7}),
        "unprotected header")  # fmt: skip
    add("extra-unprotected-label", es.hc1(v, unprotected={4: es.kid, 33: b"x"}),
        "unprotected header")  # fmt: skip
    override = es.hc1(v, protected={1: -7, 4: bad_kid}, unprotected={4: es.kid})
    add("unprotected-kid-does-not-override", override, "unknown kid")
    add("es256-header-rsa-key", ps.hc1(t, protected={1: -7, 4: ps.kid}), "algorithm mismatch")
    add("es384-unsupported", es.hc1(v, protected={1: -35, 4: es.kid}), "unsupported algorithm")
    add("trailing-bytes", es.hc1(v, trailing=b"\x00"), "malformed: COSE")
    two = {**v, -260: {1: {**hcert("v", NOW), "v": hcert("v", NOW)["v"] * 2}}}
    add("two-vaccination-entries", es.hc1(two), "schema: v is not a list of one entry")
    add("claims-not-a-map", es.hc1([1, 2, 3]), "malformed: claims")
    add("revoked-uci", es.hc1(v), "revoked", revoked="uci")
    add("revoked-country-uci", es.hc1(t), "revoked", revoked="countrycodeuci")
    add("revoked-signature", es.hc1(r), "revoked", revoked="signature")
    add("wrong-prefix", "HC2:" + es.hc1(v)[4:], "unknown prefix")
    add("bad-base45", "HC1:NCF:::", "malformed: base45")
    add("base45-dangling", "HC1:NCFO", "malformed: base45")
    add("not-compressed", "HC1:" + b45encode(es.cose(v)), "malformed: zlib")
    add("broken-zlib", "HC1:" + b45encode(zlib.compress(es.cose(v))[:-6]), "malformed: zlib")
    add("zlib-bomb", "HC1:" + b45encode(zlib.compress(b"\x00" * 1_000_000, 9)),
        "inflates too large")  # fmt: skip
    add("too-long", "HC1:" + "0" * 9000, "too long")
    add("not-cose", "HC1:" + b45encode(zlib.compress(b"\xff\xff\xff")), "malformed: COSE")

    # Revocation entries: the first 16 bytes of SHA-256, one hash type each.
    for case in cases:
        how = case.pop("revoked", None)
        if how is None:
            continue
        msg = hc1.parse_cose(hc1.decode_hc1(case["text"]))
        dcc = hc1.loads_claims(msg.payload)[-260][1]
        entry = next(dcc[k][0] for k in "vtr" if k in dcc)
        data = {
            "uci": entry["ci"].encode(),
            "countrycodeuci": (entry["co"] + entry["ci"]).encode(),
            "signature": msg.signature[:32],
        }[how]
        case["revoked"] = [hashlib.sha256(data).digest()[:16].hex()]
    dscs = (es, ps, ed, es_t, old, young)
    trust = {"certificates": {d.kid.hex(): base64.b64encode(d.der).decode() for d in dscs}}
    return cases, trust


def shc_vectors() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    issuer = DemoShcIssuer.new()
    other = DemoShcIssuer.new()
    cases: list[dict[str, Any]] = []

    def add(name: str, texts: str | list[str], reason: str | None) -> None:
        key = "texts" if isinstance(texts, list) else "text"
        cases.append(
            {"name": name, key: texts, "now": _iso(NOW), "valid": reason is None, "reason": reason}
        )

    def payload(kind: str = "full", **kw: Any) -> dict[str, Any]:
        return shc_payload(kind, NOW, kw.pop("iss", issuer.iss), **kw)

    kid = issuer.jwk["kid"]
    full = issuer.jws(payload())
    padded = issuer.jws({**payload(), "pad": base64.b64encode(os.urandom(2400)).decode()})
    add("full-course", qr(full), None)
    add("janssen-single-dose", qr(issuer.jws(payload("janssen"))), None)
    add("partial-course", qr(issuer.jws(payload("partial"))), None)
    add("pcr-negative", qr(issuer.jws(payload("pcr", exp=NOW + D))), None)
    add("chunked-3", chunks(full, 3), None)
    add("chunked-3-shuffled", list(reversed(chunks(full, 3))), None)
    add("chunk-missing", chunks(full, 3)[:2], "chunk missing")
    add("chunk-duplicate", [*chunks(full, 3)[:2], chunks(full, 3)[1]], "chunk duplicate")
    add("chunk-count-mismatch", [chunks(full, 3)[0], chunks(full, 2)[1]], "chunk count")
    add("chunk-one-of-one", ["shc:/1/1/" + qr(full)[5:]], None)
    add("chunk-too-long", chunks(padded, 2), "chunk too long")
    add("chunk-index-out-of-range",
        [c.replace("shc:/3/3/", "shc:/4/3/") for c in chunks(full, 3)], "chunk index")  # fmt: skip
    add("chunk-and-whole-mixed", [qr(full), chunks(full, 2)[0]], "chunk header")
    add("numeric-odd", qr(full)[:-1], "malformed: numeric")
    add("numeric-too-big", qr(full)[:-2] + "99", "malformed: numeric")
    add("numeric-letters", "shc:/12ab", "malformed: numeric")
    add("wrong-prefix", "shc:" + qr(full)[5:], "unknown prefix")
    add("bad-signature", qr(issuer.jws(payload(), tamper=True)), "bad signature")
    add("der-signature", qr(issuer.jws(payload(), der=True)), "bad signature")
    add("signed-by-other-key", qr(other.jws(payload(), kid=kid)), "bad signature")
    add("unknown-kid", qr(other.jws(payload())), "unknown kid")
    add("unknown-issuer", qr(issuer.jws(payload(iss="https://elsewhere.example/shc"))),
        "unknown issuer")  # fmt: skip
    for name, header, reason in (
        ("alg-es384", {"zip": "DEF", "alg": "ES384", "kid": kid}, "unsupported algorithm"),
        ("alg-none", {"zip": "DEF", "alg": "none", "kid": kid}, "unsupported algorithm"),
        ("header-jku", {"zip": "DEF", "alg": "ES256", "kid": kid, "jku": "https://x.example/"},
         "malformed: JWS header"),
        ("header-no-zip", {"alg": "ES256", "kid": kid}, "malformed: JWS header"),
    ):  # fmt: skip
        add(name, qr(issuer.jws(payload(), header=header)), reason)
    add("not-deflated", qr(issuer.jws(None, body=json.dumps(payload()).encode())),
        "malformed: deflate")  # fmt: skip
    add("deflate-bomb", qr(issuer.jws(None, body=shc.deflate_raw(b" " * 2_000_000))),
        "inflates too large")  # fmt: skip
    add("not-yet-valid", qr(issuer.jws(payload(nbf=NOW + H))), "not yet valid")
    add("expired", qr(issuer.jws(payload(nbf=NOW - D, exp=NOW - H / 60))), "expired")
    not_a_card = {"iss": issuer.iss, "nbf": NOW.timestamp() - 60, "vc": {"type": ["x"]}}
    add("payload-not-a-card", qr(issuer.jws(not_a_card)), "malformed: payload")
    add("jws-two-parts", qr(full.rsplit(".", 1)[0]), "malformed: JWS")
    add("jws-bad-base64url", qr(full.replace(".", ".=", 1)), "malformed: JWS")
    trust = {"jwks": {issuer.iss: {"keys": [issuer.jwk]}}}
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
