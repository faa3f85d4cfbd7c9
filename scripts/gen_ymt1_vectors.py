"""Generate the YMT1 test vectors in tests/vectors/ymt1/ (see the README there).

    .venv/bin/python scripts/gen_ymt1_vectors.py [--check]

Keys come from fixed seeds (``seed(name)`` below) and every time is fixed, so the output is
reproducible: Ed25519 signatures are deterministic by design (RFC 8032) and the ES256
signatures here are made with RFC 6979 deterministic nonces (``deterministic_signing``; a
verifier cannot tell them from random-nonce signatures). SM2 signatures are randomised by
tongsuopy, so SM2 vectors record the signature that was made and are checked by verifying
only; they are left out when tongsuopy is not installed. ``--check`` regenerates in memory and
fails if the committed files differ in anything but the SM2 vectors.

Invalid vectors are built by hand with cbor2 and base45 where our encoder would refuse to
produce them (a wrong header algorithm, a signed but malformed claim, a zip bomb, ...).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from yimatong.adapters.crypto import Algorithm, SigningKey, signing_key_from_seed
from yimatong.adapters.wire.base45 import b45encode
from yimatong.adapters.wire.code import CLAIMS_KEY, MAX_CODE_LENGTH, PREFIX, encode_code
from yimatong.domain.facts import Colour
from yimatong.domain.token import CodeKind, HealthClaims, new_claims

OUT = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "ymt1"
CST = timezone(timedelta(hours=8), "CST")
# Guangdong's code peaked at ~23 k requests/s that morning (DESIGN §8).
NOW = datetime(2022, 1, 10, 8, 0, 0, tzinfo=CST)
KEYS_FROM = datetime(2021, 12, 1, tzinfo=CST)


def seed(name: str) -> bytes:
    """The 32-byte seed of the vector key called ``name``."""
    return hashlib.sha256(b"yimatong-ymt1-vectors:" + name.encode()).digest()


class DeterministicES256:
    """An ES256 signer with RFC 6979 nonces, so that the vectors are reproducible."""

    def __init__(self, key: SigningKey) -> None:
        private = serialization.load_pem_private_key(key.private_pem(), password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        self._private = private
        self.alg, self.kid, self.public = key.alg, key.kid, key.public

    def sign(self, data: bytes) -> bytes:
        der = self._private.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _keys(with_sm2: bool) -> dict[str, Any]:
    keys: dict[str, Any] = {
        "zj-ed25519": signing_key_from_seed(Algorithm.EDDSA, seed("zj-ed25519")),
        "zj-ed25519-other": signing_key_from_seed(Algorithm.EDDSA, seed("zj-ed25519-other")),
        "gz-es256": DeterministicES256(signing_key_from_seed(Algorithm.ES256, seed("gz-es256"))),
    }
    if with_sm2:
        keys["bj-sm2"] = signing_key_from_seed(Algorithm.SM2_SM3, seed("bj-sm2"))
    return keys


def _rfc3339(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def trust(
    key: Any,
    issuer: str,
    *,
    not_before: datetime = KEYS_FROM,
    not_after: datetime | None = None,
    revoked_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "kid": key.kid.hex(),
        "issuer": issuer,
        "alg": key.alg.label,
        "cose_alg": key.alg.value,
        "public_key_pem": key.public.public_pem().decode("ascii"),
        "not_before": _rfc3339(not_before),
        "not_after": _rfc3339(not_after),
        "revoked_at": _rfc3339(revoked_at),
    }


def claims_json(claims: HealthClaims) -> dict[str, Any]:
    return {
        "issuer": claims.issuer,
        "issued_at": claims.issued_at.isoformat(),
        "expires_at": claims.expires_at.isoformat(),
        "sid": claims.sid,
        "colour": claims.colour.value,
        "colour_since": claims.colour_since.isoformat(),
        "reasons": list(claims.reasons),
        "hours_since_negative_test": claims.hours_since_negative_test,
        "masked_name": claims.masked_name,
        "masked_id": claims.masked_id,
        "kind": claims.kind.value,
        "version": claims.version,
    }


def cwt(claims: HealthClaims) -> dict[int, Any]:
    """The CWT claims set of ``claims``, for hand-built codes."""
    return {
        1: claims.issuer,
        4: int(claims.expires_at.timestamp()),
        6: int(claims.issued_at.timestamp()),
        CLAIMS_KEY: {
            1: claims.version,
            2: bytes.fromhex(claims.sid),
            3: [Colour.GREEN, Colour.YELLOW, Colour.RED].index(claims.colour),
            4: int(claims.colour_since.timestamp()),
            5: list(claims.reasons),
            6: claims.hours_since_negative_test,
            7: claims.masked_name,
            8: claims.masked_id,
            9: [CodeKind.DYNAMIC, CodeKind.PRINTED].index(claims.kind),
        },
    }


def forge(
    payload: Any,
    key: Any,
    *,
    alg: int | None = None,
    unprotected: dict[int, Any] | None = None,
    tagged: bool = True,
    tail: bytes = b"",
    flip_signature: bool = False,
) -> str:
    """A code assembled by hand with cbor2, for shapes our encoder will not produce."""
    if not isinstance(payload, bytes):
        payload = cbor2.dumps(payload, canonical=True)
    protected = cbor2.dumps({1: key.alg.value if alg is None else alg, 4: key.kid}, canonical=True)
    signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    if flip_signature:
        signature = signature[:-1] + bytes([signature[-1] ^ 0x01])
    items = [protected, unprotected or {}, payload, signature]
    cose = cbor2.dumps(cbor2.CBORTag(18, items) if tagged else items) + tail
    return PREFIX + b45encode(cose)


def person(now: datetime, **overrides: Any) -> HealthClaims:
    args: dict[str, Any] = {
        "issuer": "330000",
        "sid": hashlib.sha256(b"vector subject 1").hexdigest()[:32],
        "colour": Colour.YELLOW,
        "colour_since": datetime(2022, 1, 7, 14, 30, tzinfo=CST),
        "reasons": ("stay.medium-risk",),
        "hours_since_negative_test": 30,
        "masked_name": "张*",
        "masked_id": "330106**********17",
        "kind": CodeKind.DYNAMIC,
        "now": now,
    }
    args.update(overrides)
    return new_claims(**args)


def build(with_sm2: bool) -> dict[str, dict[str, Any]]:
    keys = _keys(with_sm2)
    zj, zj_other, gz = keys["zj-ed25519"], keys["zj-ed25519-other"], keys["gz-es256"]
    issued = NOW - timedelta(seconds=10)
    valid: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []

    def ok(
        name: str, what: str, code: str, claims: HealthClaims, entries: list[Any], now: datetime
    ) -> None:
        valid.append(
            {
                "name": name,
                "description": what,
                "code": code,
                "length": len(code),
                "trust": entries,
                "now": now.isoformat(),
                "leeway_seconds": 30,
                "expected": claims_json(claims),
            }
        )

    def bad(
        name: str, what: str, code: str, entries: list[Any], now: datetime, detail: str
    ) -> None:
        invalid.append(
            {
                "name": name,
                "description": what,
                "code": code,
                "trust": entries,
                "now": now.isoformat(),
                "leeway_seconds": 30,
                "expected": "invalid",
                "detail": detail,
            }
        )

    zj_trust = [trust(zj, "330000")]

    # ---- valid -----------------------------------------------------------------------------
    c = person(issued)
    ok(
        "ed25519-dynamic-yellow",
        "A minute code from Zhejiang, scanned 10 s later.",
        encode_code(c, zj),
        c,
        zj_trust,
        NOW,
    )
    c = person(
        issued,
        colour=Colour.GREEN,
        reasons=(),
        hours_since_negative_test=None,
        colour_since=datetime(2021, 6, 1, tzinfo=CST),
    )
    ok(
        "ed25519-dynamic-green-no-test",
        "Green, no reasons, no negative test on record (null).",
        encode_code(c, zj),
        c,
        zj_trust,
        NOW,
    )
    c = person(
        issued,
        kind=CodeKind.PRINTED,
        colour=Colour.RED,
        reasons=(
            "contact.close",
            "quarantine.central",
            "stay.high-risk",
            "stay.medium-risk",
            "stay.high-risk.14d",
            "stay.medium-risk.14d",
        ),
        masked_name="阿*·买买提",
        masked_id="650102**********3X",
    )
    ok(
        "ed25519-printed-red-compressed",
        "A printed card; its repeated reason codes make the zlib form shorter, so it is used.",
        encode_code(c, zj),
        c,
        zj_trust,
        NOW + timedelta(days=12),
    )
    c = person(issued)
    ok(
        "ed25519-untagged",
        "The same COSE_Sign1 without tag 18, which verifiers accept.",
        forge(cwt(c), zj, tagged=False),
        c,
        zj_trust,
        NOW,
    )
    c = person(issued)
    ok(
        "ed25519-leeway-edge",
        "Verified 29 s after exp: inside the 30 s leeway.",
        encode_code(c, zj),
        c,
        zj_trust,
        c.expires_at + timedelta(seconds=29),
    )
    c = person(
        issued,
        issuer="520000",
        sid=hashlib.sha256(b"vector subject 2").hexdigest()[:32],
        masked_name="*芳",
        masked_id="520103**********21",
        colour=Colour.GREEN,
        reasons=(),
        hours_since_negative_test=47,
    )
    ok(
        "es256-dynamic-green",
        "A minute code from Guizhou, ES256 (RFC 6979 nonce).",
        encode_code(c, gz),
        c,
        [trust(gz, "520000")],
        NOW,
    )
    c = person(issued, issuer="520000", kind=CodeKind.PRINTED, colour=Colour.GREEN, reasons=())
    ok(
        "es256-printed-after-rotation",
        "A printed card checked 29 days on; its key stopped signing a day after issuing it "
        "(not_after passed) but vouches for what it signed in time.",
        encode_code(c, gz),
        c,
        [trust(gz, "520000", not_after=NOW + timedelta(days=1))],
        NOW + timedelta(days=29),
    )
    if with_sm2:
        bj = keys["bj-sm2"]
        c = person(issued, issuer="110000", masked_id="110105**********14")
        ok(
            "sm2-dynamic-yellow",
            "SM2 with SM3, default user ID; the signature is randomised.",
            encode_code(c, bj),
            c,
            [trust(bj, "110000")],
            NOW,
        )

    # ---- invalid ---------------------------------------------------------------------------
    c = person(issued)
    code = encode_code(c, zj)
    bad(
        "expired",
        "Verified exactly at exp + leeway.",
        code,
        zj_trust,
        c.expires_at + timedelta(seconds=30),
        "expired",
    )
    bad(
        "issued-in-the-future",
        "The checkpoint's clock is 31 s behind the issuer's.",
        code,
        zj_trust,
        c.issued_at - timedelta(seconds=31),
        "issued in the future",
    )
    bad(
        "unknown-kid",
        "Signed by a key the trust list does not hold.",
        encode_code(c, zj_other),
        zj_trust,
        NOW,
        "unknown kid",
    )
    bad(
        "bad-signature",
        "The last signature byte flipped.",
        forge(cwt(c), zj, flip_signature=True),
        zj_trust,
        NOW,
        "bad signature",
    )
    bad(
        "issuer-mismatch",
        "A Zhejiang key signing a code that claims to be Guizhou's.",
        encode_code(person(issued, issuer="520000"), zj),
        zj_trust,
        NOW,
        "issuer mismatch",
    )
    bad(
        "algorithm-mismatch",
        "The header says ES256 but the kid is an Ed25519 key.",
        forge(cwt(c), zj, alg=-7),
        zj_trust,
        NOW,
        "algorithm mismatch",
    )
    bad(
        "key-revoked",
        "The key was revoked a minute before the scan.",
        code,
        [trust(zj, "330000", revoked_at=NOW - timedelta(minutes=1))],
        NOW,
        "key revoked",
    )
    bad(
        "key-not-yet-valid",
        "Issued before the key's not_before.",
        code,
        [trust(zj, "330000", not_before=NOW)],
        NOW,
        "key not valid at issue time",
    )
    bad(
        "key-retired",
        "Issued after the key's not_after.",
        code,
        [trust(zj, "330000", not_after=NOW - timedelta(hours=1))],
        NOW,
        "key not valid at issue time",
    )
    bad(
        "wrong-prefix",
        "An EU-style prefix.",
        "HC1:" + code[len(PREFIX) :],
        zj_trust,
        NOW,
        "unknown prefix",
    )
    bad(
        "bad-base45",
        "A lower-case character is outside the base45 alphabet.",
        code[:-1] + "a",
        zj_trust,
        NOW,
        "malformed: base45",
    )
    bad(
        "zip-bomb",
        "1 MB of zeros compressed into ~1 kB; inflation stops at 4 KiB.",
        PREFIX + b45encode(zlib.compress(bytes(1_000_000), 9)),
        zj_trust,
        NOW,
        "inflates too large",
    )
    bad(
        "bad-zlib",
        "A zlib stream cut short.",
        PREFIX + b45encode(zlib.compress(b"\xd2" * 300, 9)[:-3]),
        zj_trust,
        NOW,
        "malformed: zlib",
    )
    bad(
        "too-long",
        f"{MAX_CODE_LENGTH + 1} characters.",
        PREFIX + "0" * (MAX_CODE_LENGTH + 1 - len(PREFIX)),
        zj_trust,
        NOW,
        "too long",
    )
    bad(
        "trailing-bytes",
        "A valid COSE_Sign1 followed by one more byte.",
        forge(cwt(c), zj, tail=b"\x00"),
        zj_trust,
        NOW,
        "malformed: COSE",
    )
    bad(
        "unprotected-kid",
        "A kid in the unprotected header, which the profile forbids.",
        forge(cwt(c), zj, unprotected={4: zj.kid}),
        zj_trust,
        NOW,
        "malformed: COSE",
    )
    future = cwt(c)
    future[CLAIMS_KEY][1] = 2
    bad(
        "unsupported-version",
        "Correctly signed, but claims version 2.",
        forge(future, zj),
        zj_trust,
        NOW,
        "unsupported version",
    )
    unmasked = cwt(c)
    unmasked[CLAIMS_KEY][7] = "张三"
    bad(
        "unmasked-name",
        "Correctly signed, but the name is not masked.",
        forge(unmasked, zj),
        zj_trust,
        NOW,
        "malformed: claims",
    )

    for vector in valid + invalid:
        assert len(vector["code"]) <= MAX_CODE_LENGTH or vector["name"] == "too-long"
    return {
        "valid.json": {
            "description": "YMT1 codes that verify; see README.md",
            "generator": "scripts/gen_ymt1_vectors.py",
            "vectors": valid,
        },
        "invalid.json": {
            "description": "YMT1 codes that must fail with InvalidCode(detail); see README.md",
            "generator": "scripts/gen_ymt1_vectors.py",
            "vectors": invalid,
        },
    }


def _has_tongsuopy() -> bool:
    return importlib.util.find_spec("tongsuopy") is not None


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def without_sm2(document: dict[str, Any]) -> dict[str, Any]:
    vectors = [v for v in document["vectors"] if not v["name"].startswith("sm2-")]
    return {**document, "vectors": vectors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files")
    args = parser.parse_args(argv)
    with_sm2 = _has_tongsuopy()
    if not with_sm2:
        print("tongsuopy is not installed: SM2 vectors are left out", file=sys.stderr)
    documents = build(with_sm2)
    if args.check:
        stale = [
            name
            for name, document in documents.items()
            if without_sm2(json.loads((OUT / name).read_text(encoding="utf-8")))
            != without_sm2(json.loads(render(document)))
        ]
        for name in stale:
            print(f"{OUT / name} differs from what the generator makes", file=sys.stderr)
        return 1 if stale else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, document in documents.items():
        (OUT / name).write_text(render(document), encoding="utf-8")
        print(f"wrote {OUT / name}: {len(document['vectors'])} vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
