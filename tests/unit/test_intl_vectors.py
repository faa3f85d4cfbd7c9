"""Every kept DCC and SHC vector, public and our own, through verify_dcc / verify_shc.

The public ones report the share that gives the expected result per family (``-s`` shows it);
the vectors that do not are listed, with the reason, in tests/vectors/<family>/README.md and in
``known-differences.json`` beside it, and this test fails if that list is not exactly the set
that differs (so neither a fix nor a regression goes unnoticed).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from yimatong.adapters.wire import hc1, shc
from yimatong.verifier.international import verify_dcc, verify_shc

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
DCC = VECTORS / "dcc"
SHC = VECTORS / "shc"
SPEC_ISSUER = "https://spec.smarthealth.cards/examples/issuer"
SHC_CLOCK = datetime(2023, 6, 1, tzinfo=UTC)

# Steps of the DCC test data whose outcome a verifier of the whole chain can show (the picture
# decode is not: no yimatong verifier reads a PNG), and the reasons that belong to each.
_STEP_REASONS = {
    "EXPECTEDUNPREFIX": {"unknown prefix"},
    "EXPECTEDB45DECODE": {"malformed: base45"},
    "EXPECTEDCOMPRESSION": {"malformed: zlib", "inflates too large"},
    "EXPECTEDDECODE": {
        "malformed: COSE",
        "malformed: COSE header",
        "malformed: claims",
        "schema: hcert is not an object",
    },
    "EXPECTEDVERIFY": {
        "bad signature",
        "unknown kid",
        "missing kid",
        "algorithm mismatch",
        "unsupported algorithm",
        "unprotected header",
        "malformed: COSE",
        "malformed: COSE header",
    },
    "EXPECTEDEXPIRATIONCHECK": {
        "expired",
        "issued in the future",
        "dsc expired",
        "dsc not yet valid",
        "dsc not valid at issue",
    },
    "EXPECTEDKEYUSAGE": {"wrong key usage"},
    # "schema: *": any reason of verifier/dcc_schema.py (a field, then what is wrong with it)
    "EXPECTEDSCHEMAVALIDATION": {"schema: *", "value set: *"},
    "EXPECTEDVALIDJSON": {"schema: hcert is not an object", "malformed: claims"},
    "EXPECTEDVALIDOBJECT": {"schema: *"},
}
_NOT_SHOWN = frozenset(("EXPECTEDPICTUREDECODE",))


def _dcc_clock(vector: dict[str, Any], flags: dict[str, bool]) -> datetime:
    """VALIDATIONCLOCK when the expiration step is under test (a clock without an offset is
    UTC); otherwise the certificate's own issue time, so that a step the vector does not test
    cannot decide it (the test data's README: a step not set is not tested)."""
    if "EXPECTEDEXPIRATIONCHECK" not in flags:
        try:
            msg = hc1.parse_cose(hc1.decode_hc1(vector["PREFIX"]))
            iat = hc1.loads_claims(msg.payload)[6]
            return datetime.fromtimestamp(iat, UTC)
        except (hc1.Hc1Error, KeyError, TypeError, ValueError, OverflowError):
            pass
    clock = datetime.fromisoformat(vector["TESTCTX"]["VALIDATIONCLOCK"].replace("Z", "+00:00"))
    return clock if clock.tzinfo else clock.replace(tzinfo=UTC)


def _reason_in(reason: str | None, allowed: str) -> bool:
    if allowed.endswith("*"):
        return reason is not None and reason.startswith(allowed[:-1])
    return reason == allowed


def _dcc_public() -> dict[str, tuple[bool, str]]:
    """path -> (expected result met, what happened)."""
    results: dict[str, tuple[bool, str]] = {}
    for path in sorted((DCC / "public").rglob("*.json")):
        vector = json.loads(path.read_text())
        name = str(path.relative_to(DCC / "public"))
        flags = {
            k: v
            for k, v in vector.get("EXPECTEDRESULTS", {}).items()
            if k.startswith("EXPECTED") and k not in _NOT_SHOWN and isinstance(v, bool)
        }
        context = vector.get("TESTCTX", {})
        if not flags or "PREFIX" not in vector or not context.get("CERTIFICATE"):
            continue  # only the picture step, or no DSC: not counted (README: "Not counted")
        der = base64.b64decode(context["CERTIFICATE"])
        result = verify_dcc(vector["PREFIX"], certificates=[der], now=_dcc_clock(vector, flags))
        failing = [k for k, v in flags.items() if not v]
        if not failing:
            results[name] = (result.valid, f"refused: {result.reason}")
        elif result.valid:
            results[name] = (False, f"accepted; expected to fail {', '.join(failing)}")
        else:
            allowed = set().union(*(_STEP_REASONS.get(k, set()) for k in failing))
            met = not allowed or any(_reason_in(result.reason, a) for a in allowed)
            results[name] = (
                met,
                f"refused: {result.reason}; expected to fail {', '.join(failing)}",
            )
    return results


def _shc_public() -> dict[str, tuple[bool, str]]:
    jwks = {SPEC_ISSUER: json.loads((SHC / "public" / "issuer-jwks.json").read_text())}
    results: dict[str, tuple[bool, str]] = {}
    for case in json.loads((SHC / "public" / "expected.json").read_text()):
        texts = []
        for name in case["files"]:
            # The files hold what a QR code holds (shc:/...) or a bare JWS; a bare JWS is put
            # in the numeric form a QR code would carry. Trailing characters stay.
            text = (SHC / "public" / name).read_text(encoding="utf-8")
            texts.append(text if text.startswith("shc:/") else "shc:/" + _numeric(text))
        result = verify_shc(texts, jwks=jwks, now=SHC_CLOCK)
        what = "accepted" if result.valid else f"refused: {result.reason}"
        results[case["files"][0]] = (result.valid == case["valid"], f"{what}; SDK: {case['sdk']}")
    return results


def _numeric(text: str) -> str:
    # Characters outside the JWS alphabet's range have no numeric form: keep them as they are,
    # which the decoder then refuses (as a QR reader would not find a numeric segment).
    return "".join(f"{ord(c) - 45:02d}" if 45 <= ord(c) <= 122 else c for c in text)


def _check(family: Path, results: dict[str, tuple[bool, str]]) -> None:
    known = json.loads((family / "known-differences.json").read_text())
    met = sum(ok for ok, _ in results.values())
    print(
        f"\n{family.name}: {met}/{len(results)} public vectors give the expected result "
        f"({100 * met / len(results):.1f}%)"
    )
    differing = {name: what for name, (ok, what) in results.items() if not ok}
    assert set(differing) == set(known), {
        "newly differing": {k: v for k, v in differing.items() if k not in known},
        "listed but now met": sorted(set(known) - set(differing)),
    }


def test_public_dcc_vectors_give_the_expected_result_except_the_listed_ones() -> None:
    _check(DCC, _dcc_public())


def test_public_shc_vectors_give_the_expected_result_except_the_listed_ones() -> None:
    _check(SHC, _shc_public())


def _own(family: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    own = family / "own"
    return json.loads((own / "cases.json").read_text()), json.loads(
        (own / "trust.json").read_text()
    )


_DCC_CASES, _DCC_TRUST = _own(DCC)
_SHC_CASES, _SHC_TRUST = _own(SHC)


@pytest.mark.parametrize("case", _DCC_CASES, ids=[c["name"] for c in _DCC_CASES])
def test_own_dcc_vector_gives_its_expected_result_and_reason(case: dict[str, Any]) -> None:
    certificates = {
        bytes.fromhex(kid): base64.b64decode(der) for kid, der in _DCC_TRUST["certificates"].items()
    }
    result = verify_dcc(
        case["text"],
        certificates=certificates,
        now=datetime.fromisoformat(case["now"]),
        revoked=[bytes.fromhex(h) for h in case.get("revoked", [])],
    )
    assert (result.valid, result.reason) == (case["valid"], case["reason"])
    if result.valid:
        assert result.facts is not None and result.facts.kind == "dcc"
        assert result.claims["hcert"]["nam"]["fnt"] == "MUSTERFRAU"


@pytest.mark.parametrize("case", _SHC_CASES, ids=[c["name"] for c in _SHC_CASES])
def test_own_shc_vector_gives_its_expected_result_and_reason(case: dict[str, Any]) -> None:
    result = verify_shc(
        case.get("texts") or case["text"],
        jwks=_SHC_TRUST["jwks"],
        now=datetime.fromisoformat(case["now"]),
    )
    assert (result.valid, result.reason) == (case["valid"], case["reason"])
    if result.valid:
        assert result.facts is not None and result.facts.kind == "shc"


def test_a_chunked_card_passed_as_one_whitespace_separated_string_verifies() -> None:
    case = next(c for c in _SHC_CASES if c["name"] == "chunked-3")
    result = verify_shc(
        "\n".join(case["texts"]), jwks=_SHC_TRUST["jwks"], now=datetime.fromisoformat(case["now"])
    )
    assert result.valid


def test_shc_numeric_form_round_trips_the_jws_alphabet() -> None:
    alphabet = "-._ABCXYZabcxyz0123456789"
    assert shc.numeric_decode(shc.numeric_encode(alphabet)) == alphabet
