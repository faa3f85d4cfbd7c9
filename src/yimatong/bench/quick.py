"""The quick benchmarks: ``verify``, ``issue`` and ``certlogic`` (each well under a minute).

* ``verify``: one offline checkpoint decision — decode (base45, zlib), the COSE_Sign1 signature,
  the claims and key window, the facts and the entry policy of 520000 — against the bare
  ``cryptography`` verify of a message as long as the code's signed bytes, same algorithm.
* ``issue``: one dynamic code made — claims, CWT, signature, base45 — against the bare sign.
* ``certlogic``: one evaluation of each demo entry policy over a checkpoint's facts with our
  compiled evaluator, against ``panzi-json-logic`` (``yimatong[bench]``) on the same rule and
  data, both returning the same answer.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from yimatong.adapters.crypto import Algorithm, SigningKey, signing_key_from_seed
from yimatong.adapters.wire import cose
from yimatong.adapters.wire.base45 import b45decode
from yimatong.adapters.wire.code import PREFIX, Keyring, TrustedKey, encode_code, verify_code_at
from yimatong.bench.core import Outcome, Table, benchmark, measure
from yimatong.domain.facts import Colour
from yimatong.domain.token import CodeKind, HealthClaims, new_claims
from yimatong.verifier.demo import demo_policy_entries
from yimatong.verifier.policy import Decision, Policy, PolicySet, decide, facts_from_claims

__all__ = ["demo_policy_set", "typical_claims"]

NOW = datetime(2022, 1, 10, 8, 0, tzinfo=UTC)
#: When the checkpoint scans: 20 seconds after the code was made.
AT = NOW + timedelta(seconds=20)
ALGORITHMS = (Algorithm.EDDSA, Algorithm.ES256)


def typical_claims(now: datetime = NOW) -> HealthClaims:
    return new_claims(
        issuer="330000",
        sid="5f1d3a0c9b7e42d8a6c3e1f0b4d29a87",
        colour=Colour.GREEN,
        colour_since=now - timedelta(days=30),
        reasons=(),
        hours_since_negative_test=30,
        masked_name="张*",
        masked_id="33**************17",
        kind=CodeKind.DYNAMIC,
        now=now,
    )


def demo_policy_set(region: str) -> PolicySet:
    """The demo's entry policies for ``region`` (and its province), as a checkpoint holds them."""
    policies = [
        Policy(
            id=i + 1,
            region=entry["region"],
            place_kind=entry.get("place_kind", "any"),
            version=1,
            rule=entry["rule"],
            description=entry["description"],
            valid_from=datetime(2020, 1, 1, tzinfo=UTC),
        )
        for i, entry in enumerate(demo_policy_entries())
        if region.startswith(entry["region"].rstrip("0")) or entry["region"] == region
    ]
    return PolicySet(region=region, version=1, policies=tuple(policies))


def _signed_bytes(code: str) -> bytes:
    """What the code's signature covers (its Sig_structure), for a like-for-like baseline."""
    raw = b45decode(code[len(PREFIX) :])
    if raw[:1] == b"\x78":
        import zlib

        raw = zlib.decompress(raw)
    msg = cose.parse_sign1(raw)
    return cose.sig_structure(msg.protected, msg.payload)


def _bare(alg: Algorithm, message: bytes) -> tuple[Callable[[], object], Callable[[], object]]:
    """The library's own (sign, verify) of ``message``: what no code path can beat."""
    key = signing_key_from_seed(alg, bytes(range(7, 39)))
    public, signature = key.public, key.sign(message)
    return (lambda: key.sign(message)), (lambda: public.verify(signature, message))


@benchmark("verify", "offline checkpoint decisions per second per core, against a bare verify")
def verify(*, repeats: int = 5, seconds: float = 0.3) -> Outcome:
    table = Table(("alg", "decisions/s", "µs", "bare verify/s", "µs", "ratio"))
    policies = demo_policy_set("520000")
    headline: tuple[float, float] | None = None
    for alg in ALGORITHMS:
        key: SigningKey = signing_key_from_seed(alg, bytes(range(32)))
        ring = Keyring([TrustedKey.for_key(key.public, issuer="330000", not_before=NOW)])
        code = encode_code(typical_claims(), key)

        def decision(code: str = code, ring: Keyring = ring, at: datetime = AT) -> Decision:
            claims = verify_code_at(code, ring, at)
            facts = facts_from_claims(
                claims, now=at, region="520000", temperature=36.6, issuer_kind="native"
            )
            return decide(policies, facts)

        outcome = decision()
        assert outcome.outcome.value == "PASS", outcome  # time nothing that is not a PASS
        _sign, bare_verify = _bare(alg, _signed_bytes(code))
        ours, bare = measure(decision, bare_verify, repeats=repeats, seconds=seconds)
        table.add(alg.label, 1 / ours, ours * 1e6, 1 / bare, bare * 1e6, bare / ours)
        if headline is None:
            headline = (1 / ours, 1 / bare)
    assert headline is not None
    value, base = headline
    ratio = value / base
    return Outcome(
        "verify", value, "decisions/s", base, ratio, "≥ 0.7", ratio >= 0.7, table,
        ["ratio = our decisions per second / bare verifies per second (Ed25519 is the headline)"],
    )  # fmt: skip


@benchmark("issue", "codes generated per second per core, against a bare sign")
def issue(*, repeats: int = 5, seconds: float = 0.3) -> Outcome:
    table = Table(("alg", "codes/s", "µs", "bare sign/s", "µs", "ratio"))
    headline: tuple[float, float] | None = None
    for alg in ALGORITHMS:
        key = signing_key_from_seed(alg, bytes(range(32)))

        def make(key: SigningKey = key) -> str:
            return encode_code(typical_claims(), key)

        bare_sign, _verify = _bare(alg, _signed_bytes(make()))
        ours, bare = measure(make, bare_sign, repeats=repeats, seconds=seconds)
        table.add(alg.label, 1 / ours, ours * 1e6, 1 / bare, bare * 1e6, bare / ours)
        if headline is None:
            headline = (1 / ours, 1 / bare)
    assert headline is not None
    value, base = headline
    ratio = value / base
    return Outcome(
        "issue", value, "codes/s", base, ratio, "≥ 0.6", ratio >= 0.6, table,
        ["ratio = our codes per second / bare signatures per second (Ed25519 is the headline)"],
    )  # fmt: skip


@benchmark("certlogic", "entry-policy evaluations per second, against panzi-json-logic")
def certlogic(*, repeats: int = 5, seconds: float = 0.3) -> Outcome:
    if importlib.util.find_spec("json_logic") is None:
        raise RuntimeError(
            "the baseline is panzi-json-logic: pip install 'yimatong[bench]' (dev.py installs it)"
        )
    from json_logic import certLogic

    claims = typical_claims()
    at = AT
    table = Table(("policy", "ours/s", "panzi/s", "ratio"))
    ours_total = base_total = 0.0
    for entry in demo_policy_entries():
        policy = demo_policy_set(entry["region"]).select(
            entry["region"], entry.get("place_kind", "any"), at
        )
        assert policy is not None and policy.compiled is not None
        facts = facts_from_claims(
            claims, now=at, region=entry["region"], place_kind=entry.get("place_kind", "any"),
            temperature=36.6, issuer_kind="native",
        )  # fmt: skip
        data: dict[str, Any] = facts.data()
        compiled, rule = policy.compiled, entry["rule"]
        assert compiled(data) == certLogic(rule, data), entry["description"]

        def ours_once(c: Any = compiled, d: dict[str, Any] = data) -> object:
            return c(d)

        def theirs_once(r: Any = rule, d: dict[str, Any] = data) -> object:
            return certLogic(r, d)

        ours, base = measure(ours_once, theirs_once, repeats=repeats, seconds=seconds)
        label = f"{entry['region']} {entry.get('place_kind', 'any')}"
        table.add(label, 1 / ours, 1 / base, base / ours)
        ours_total += ours
        base_total += base
    value, baseline = 1 / ours_total, 1 / base_total  # one pass over every demo policy
    ratio = value / baseline
    return Outcome(
        "certlogic", value, "policy sets/s", baseline, ratio, "≥ 3", ratio >= 3, table,
        ["value = evaluations of all demo policies per second (ours vs panzi-json-logic)"],
    )  # fmt: skip


def _bare_cose_verify(alg: str, key: Any, signature: bytes, data: bytes) -> Callable[[], object]:
    """``cryptography``'s own verify of a COSE signature: what no code path can beat."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if alg == "ES256":
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        der, ecdsa = encode_dss_signature(r, s), ec.ECDSA(hashes.SHA256())
        return lambda: key.verify(der, data, ecdsa)
    if alg == "PS256":
        pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
        return lambda: key.verify(signature, data, pss, hashes.SHA256())
    return lambda: key.verify(signature, data)


@benchmark(
    "verify-intl",
    "offline HC1: and shc:/ verifications per second per core, against a bare verify",
)
def verify_intl(*, repeats: int = 5, seconds: float = 0.3) -> Outcome:
    """``verify_dcc`` / ``verify_shc`` against the trust a checkpoint caches (each signer and
    issuer key parsed once, as ``verifier/lists.build_international`` does) — prefix, base45,
    zlib or the numeric form, COSE or JWS, the signature, the claims, the DSC window and key
    usage, the facts — against the bare ``cryptography`` verify of the same signed bytes with
    the same key, in the same run."""
    from yimatong.adapters.wire import hc1, shc
    from yimatong.demo.international import DemoDsc, DemoShcIssuer, cwt
    from yimatong.verifier.international import (
        document_signer,
        issuer_keys,
        verify_dcc,
        verify_shc,
    )

    table = Table(("certificate", "verifies/s", "µs", "bare verify/s", "µs", "ratio"))
    rows: list[float] = []
    for alg in ("ES256", "PS256", "EdDSA"):
        dsc = DemoDsc.new(NOW, alg=alg)
        signers = {dsc.kid: document_signer(dsc.der, dsc.kid)}
        text = dsc.hc1(cwt("t", NOW))
        msg = hc1.parse_cose(hc1.decode_hc1(text))
        data, signature, key = msg.to_be_signed(), msg.signature, signers[dsc.kid].key
        assert verify_dcc(text, certificates=signers, now=AT).valid

        def ours(text: str = text, signers: Any = signers) -> object:
            return verify_dcc(text, certificates=signers, now=AT)

        bare = _bare_cose_verify(alg, key, signature, data)
        t_ours, t_bare = measure(ours, bare, repeats=repeats, seconds=seconds)
        table.add(f"HC1 {alg}", 1 / t_ours, t_ours * 1e6, 1 / t_bare, t_bare * 1e6, t_bare / t_ours)
        rows.append(t_bare / t_ours)
    issuer = DemoShcIssuer.new()
    jwks = {issuer.iss: issuer_keys(issuer.iss, {"keys": [issuer.jwk]})}
    card = issuer.card("full", NOW)
    assert verify_shc(card, jwks=jwks, now=AT).valid
    jws = shc.parse_jws(shc.join_chunks([card]))
    shc_key = jwks[issuer.iss].keys[jws.kid]
    shc_bare = _bare_cose_verify("ES256", shc_key, jws.signature, jws.signing_input)

    def shc_ours() -> object:
        return verify_shc(card, jwks=jwks, now=AT)

    t_ours, t_bare = measure(shc_ours, shc_bare, repeats=repeats, seconds=seconds)
    table.add("shc ES256", 1 / t_ours, t_ours * 1e6, 1 / t_bare, t_bare * 1e6, t_bare / t_ours)
    rows.append(t_bare / t_ours)
    worst = min(rows)
    return Outcome(
        "verify-intl", 1 / t_ours, "shc verifies/s", 1 / t_bare, worst, "≥ 0.67 (≤ 1.5 × bare)",
        worst >= 1 / 1.5, table,
        ["ratio = bare verify time / our verify time, per row; the headline ratio is the worst "
         "row (the target: every certificate within 1.5 × a bare verify)"],
    )  # fmt: skip
