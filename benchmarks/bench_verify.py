"""How fast codes are made and checked, against the bare signature call timed in the same run.

    .venv/bin/python benchmarks/bench_verify.py [--repeats 5] [--seconds 0.3] [--json]

For each algorithm (SM2 only when tongsuopy is installed) it times ``encode_code`` (sign) and
``verify_code_at`` on a typical dynamic code, and as the baseline the bare library call on a
64-byte message: ``cryptography``'s Ed25519/P-256 sign and verify, tongsuopy's SM2. The ratio
ours/baseline is what DESIGN §8 asks for; everything above 1.0 is our overhead (base45, zlib,
CBOR, COSE, the claims checks). It also times the pieces of that overhead, and our base45
decoder against the ``base45`` package, which is why we carry our own.

Each figure is the median over ``--repeats`` runs of the per-operation time of a loop that
lasts about ``--seconds``; the loops of ours and the baseline alternate, so load from other
processes hits both; one process, one core.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import base45
import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from yimatong.adapters.crypto import Algorithm, SigningKey, signing_key_from_seed
from yimatong.adapters.wire.base45 import b45decode, b45encode
from yimatong.adapters.wire.code import (
    PREFIX,
    Keyring,
    TrustedKey,
    encode_code,
    verify_code_at,
)
from yimatong.bench.core import measure
from yimatong.domain.facts import Colour
from yimatong.domain.token import CodeKind, HealthClaims, new_claims

NOW = datetime(2022, 1, 10, 0, 0, tzinfo=UTC)
MESSAGE = bytes(range(64))


def typical_claims() -> HealthClaims:
    return new_claims(
        issuer="330000",
        sid="5f1d3a0c9b7e42d8a6c3e1f0b4d29a87",
        colour=Colour.YELLOW,
        colour_since=NOW - timedelta(days=3),
        reasons=("stay.medium-risk",),
        hours_since_negative_test=30,
        masked_name="张*",
        masked_id="330106**********17",
        kind=CodeKind.DYNAMIC,
        now=NOW,
    )


def baselines(alg: Algorithm) -> tuple[Callable[[], object], Callable[[], object]]:
    """Bare (sign, verify) of a 64-byte message in the underlying library."""
    if alg is Algorithm.EDDSA:
        ed = ed25519.Ed25519PrivateKey.generate()
        ed_pub, ed_sig = ed.public_key(), ed.sign(MESSAGE)
        return (lambda: ed.sign(MESSAGE)), (lambda: ed_pub.verify(ed_sig, MESSAGE))
    if alg is Algorithm.ES256:
        ecdsa = ec.ECDSA(hashes.SHA256())
        p256 = ec.generate_private_key(ec.SECP256R1())
        p256_pub, p256_sig = p256.public_key(), p256.sign(MESSAGE, ecdsa)
        return (lambda: p256.sign(MESSAGE, ecdsa)), (
            lambda: p256_pub.verify(p256_sig, MESSAGE, ecdsa)
        )
    from tongsuopy.crypto import hashes as t_hashes
    from tongsuopy.crypto.asymciphers import ec as t_ec

    sm_alg = t_ec.ECDSA(t_hashes.SM3())
    sm2 = t_ec.generate_private_key(t_ec.SM2())
    sm2_pub, sm2_sig = sm2.public_key(), sm2.sign(MESSAGE, sm_alg)
    return (lambda: sm2.sign(MESSAGE, sm_alg)), (lambda: sm2_pub.verify(sm2_sig, MESSAGE, sm_alg))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed loop")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    def timed(*fns: Callable[[], object]) -> list[float]:
        return measure(*fns, repeats=args.repeats, seconds=args.seconds)

    algs = [Algorithm.EDDSA, Algorithm.ES256]
    if importlib.util.find_spec("tongsuopy") is not None:
        algs.append(Algorithm.SM2_SM3)
    claims = typical_claims()
    rows: list[dict[str, Any]] = []
    lengths: dict[str, int] = {}
    for alg in algs:
        key: SigningKey = signing_key_from_seed(alg, bytes(range(32)))
        ring = Keyring([TrustedKey.for_key(key.public, issuer="330000", not_before=NOW)])
        code = encode_code(claims, key)
        verify_code_at(code, ring, NOW)  # fails loudly before we time anything
        lengths[alg.label] = len(code)
        base_sign, base_verify = baselines(alg)
        for op, ours, base in (
            ("encode (sign)", lambda k=key: encode_code(claims, k), base_sign),
            ("verify_code_at", lambda c=code, r=ring: verify_code_at(c, r, NOW), base_verify),
        ):
            t_ours, t_base = timed(ours, base)
            rows.append(
                {
                    "alg": alg.label,
                    "operation": op,
                    "us": t_ours * 1e6,
                    "ops_per_s": 1 / t_ours,
                    "baseline_us": t_base * 1e6,
                    "baseline_ops_per_s": 1 / t_base,
                    "ratio": t_ours / t_base,
                }
            )

    # The pieces of the overhead, on the Ed25519 code.
    code = encode_code(claims, signing_key_from_seed(Algorithm.EDDSA, bytes(range(32))))
    body = code[len(PREFIX) :]
    raw = b45decode(body)
    names = [
        "base45 decode (ours)",
        "base45 decode (base45 package)",
        "base45 encode (ours)",
        "base45 encode (base45 package)",
        "cbor2.loads of the COSE_Sign1",
    ]
    figures = timed(
        lambda: b45decode(body),
        lambda: base45.b45decode(body),
        lambda: b45encode(raw),
        lambda: base45.b45encode(raw),
        lambda: cbor2.loads(raw),
    )
    parts = dict(zip(names, figures, strict=True))

    if args.json:
        print(
            json.dumps(
                {
                    "rows": rows,
                    "parts_us": {k: v * 1e6 for k, v in parts.items()},
                    "code_lengths": lengths,
                },
                indent=2,
            )
        )
        return 0
    print(f"python {sys.version.split()[0]}, median of {args.repeats} x ~{args.seconds}s loops\n")
    header = (
        f"{'alg':8} {'operation':15} {'µs/op':>8} {'ops/s':>9} "
        f"{'baseline µs':>12} {'ops/s':>9} {'ratio':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['alg']:8} {r['operation']:15} {r['us']:8.1f} {r['ops_per_s']:9.0f} "
            f"{r['baseline_us']:12.1f} {r['baseline_ops_per_s']:9.0f} {r['ratio']:6.2f}"
        )
    print("\nbaseline: the bare library sign/verify of a 64-byte message, same run")
    print("\npieces (Ed25519 code):")
    for name, seconds in parts.items():
        print(f"  {name:32} {seconds * 1e6:7.2f} µs")
    print("\ncode length (typical dynamic code, characters):")
    for label, n in lengths.items():
        print(f"  {label:8} {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
