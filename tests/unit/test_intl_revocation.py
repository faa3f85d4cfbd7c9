"""Revocation of international certificates, offline: the EU gateway's DCC revocation batches
(hash types UCI, COUNTRYCODEUCI, SIGNATURE) and the SMART Health Cards' Card Revocation Lists,
with public vectors of both (tests/vectors/dcc/revocation, tests/vectors/shc/revocation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from yimatong.adapters.wire import hc1, shc
from yimatong.demo.international import DemoDsc, DemoShcIssuer, cwt, revocation_batch
from yimatong.verifier.international import (
    dcc_revocation,
    issuer_keys,
    revocation_hashes,
    verify_dcc,
    verify_shc,
)
from yimatong.verifier.trustlists import parse_gateway_revocation, parse_vci_directory

VECTORS = Path(__file__).resolve().parent.parent / "vectors"
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


def _cases() -> list[dict[str, str]]:
    data: list[dict[str, str]] = json.loads(
        (VECTORS / "dcc/revocation/RevocationCalculationSampleData.json").read_text()
    )
    return data


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["description"])
def test_revocation_hashes_of_public_certificates_are_the_ones_the_cwa_expects(
    case: dict[str, str],
) -> None:
    msg = hc1.parse_cose(hc1.decode_hc1(case["barcodeData"]))
    claims = hc1.loads_claims(msg.payload)
    dcc = claims[-260][1]
    entry = next(dcc[k][0] for k in ("v", "t", "r") if dcc.get(k))
    hashes = revocation_hashes(entry["ci"], (claims[1], entry["co"]), msg.alg, msg.signature)
    assert hashes["UCI"] == (bytes.fromhex(case["expUCI"]),)
    assert hashes["COUNTRYCODEUCI"] == (bytes.fromhex(case["expCOUNTRYCODEUCI"]),)
    assert hashes["SIGNATURE"] == (bytes.fromhex(case["expSIGNATURE"]),)


def _revocation(batches: list[dict[str, Any]]) -> Any:
    parsed, refused = parse_gateway_revocation(batches, NOW)
    assert refused == []
    return dcc_revocation(
        {"kid": b.kid, "country": b.country, "hash_type": b.hash_type, "hashes": b.hashes}
        for b in parsed
    )


def _hashes(dsc: DemoDsc, text: str) -> dict[str, tuple[bytes, ...]]:
    msg = hc1.parse_cose(hc1.decode_hc1(text))
    claims = hc1.loads_claims(msg.payload)
    entry = next(v[0] for k, v in claims[-260][1].items() if k in ("v", "t", "r"))
    return revocation_hashes(entry["ci"], (claims[1], entry["co"]), msg.alg, msg.signature)


@pytest.fixture(scope="module")
def es() -> DemoDsc:
    return DemoDsc.new(NOW)


@pytest.mark.parametrize("hash_type", ["UCI", "COUNTRYCODEUCI", "SIGNATURE"])
def test_a_dcc_listed_in_a_batch_of_its_signers_kid_is_refused_as_revoked(
    es: DemoDsc, hash_type: str
) -> None:
    text = es.hc1(cwt("v", NOW))
    revoked = _revocation([revocation_batch(es, hash_type, _hashes(es, text)[hash_type], LATER)])
    assert verify_dcc(text, certificates=[es.der], now=NOW, revoked=revoked).reason == "revoked"
    other = es.hc1(cwt("t", NOW))  # another certificate of the same signer
    assert verify_dcc(other, certificates=[es.der], now=NOW, revoked=revoked).valid


def test_a_batch_holds_only_for_its_kid_its_hash_type_or_its_country(es: DemoDsc) -> None:
    text = es.hc1(cwt("v", NOW))
    uci = _hashes(es, text)["UCI"]
    stranger = DemoDsc.new(NOW)
    for batch in (
        revocation_batch(stranger, "UCI", uci, LATER),  # another DSC's batch
        revocation_batch(es, "SIGNATURE", uci, LATER),  # the right hash under another type
        revocation_batch(None, "UCI", uci, LATER, country="XB"),  # another country
    ):
        revoked = _revocation([batch])
        assert verify_dcc(text, certificates=[es.der], now=NOW, revoked=revoked).valid
    whole_country = _revocation([revocation_batch(None, "UCI", uci, LATER)])
    result = verify_dcc(text, certificates=[es.der], now=NOW, revoked=whole_country)
    assert result.reason == "revoked"


def test_a_bad_batch_is_refused_in_one_line_and_the_others_are_kept(es: DemoDsc) -> None:
    good = revocation_batch(es, "UCI", [b"\x01" * 16], LATER)
    bad_hash = {**good, "entries": [{"hash": "AAAA"}]}
    bad_type = {**good, "hashType": "NAME"}
    deleted = {**good, "deleted": True}
    expired = revocation_batch(es, "UCI", [b"\x02" * 16], NOW - timedelta(seconds=1))
    batches, refused = parse_gateway_revocation(
        {"batches": [bad_hash, good, bad_type, deleted, expired, "x"]}, NOW
    )
    assert [b.hashes for b in batches] == [(b"\x01" * 16,)]
    assert refused == [
        "batch 0: entries[0].hash is not base64 of 16 bytes",
        "batch 2: hashType is not one of UCI, COUNTRYCODEUCI, SIGNATURE",
        "batch 5 is not an object",
    ]


# ---------------------------------------------------------------------------------------- SHC


def _spec_card() -> tuple[str, dict[str, Any], dict[str, Any]]:
    jws = (VECTORS / "shc/revocation/example-03-d-jws.txt").read_text().strip()
    jwks = json.loads((VECTORS / "shc/public/issuer-jwks.json").read_text())
    crl = json.loads(
        (VECTORS / "shc/revocation/3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json").read_text()
    )
    return "shc:/" + shc.numeric_encode(jws), jwks, crl


def test_the_specifications_revoked_example_card_is_refused_with_its_issuers_crl() -> None:
    card, jwks, crl = _spec_card()
    iss = "https://spec.smarthealth.cards/examples/issuer"
    at = datetime(2023, 6, 1, tzinfo=UTC)
    assert verify_shc(card, jwks={iss: jwks}, now=at).valid
    revoked = verify_shc(card, jwks={iss: {**jwks, "crls": [crl]}}, now=at)
    assert revoked.reason == "revoked"
    # the same, through the VCI snapshot import and the keys the checkpoint builds from it
    snapshot = {"issuer_info": [{"issuer": {"iss": iss, "name": "spec"}, **jwks, "crls": [crl]}]}
    (issuer,) = parse_vci_directory(snapshot)
    keys = issuer_keys(iss, {"keys": list(issuer.keys), "crls": list(issuer.crls)})
    assert verify_shc(card, jwks={iss: keys}, now=at).reason == "revoked"


@pytest.fixture(scope="module")
def issuer() -> DemoShcIssuer:
    return DemoShcIssuer.new()


def test_a_rid_with_a_timestamp_revokes_only_the_cards_issued_up_to_it(
    issuer: DemoShcIssuer,
) -> None:
    cut = int((NOW - timedelta(days=2)).timestamp())
    jwks = {"keys": [issuer.jwk], "crls": [{"kid": issuer.jwk["kid"], "rids": [f"abc.{cut}"]}]}
    old = issuer.card("full", NOW, nbf=NOW - timedelta(days=3), rid="abc")
    new = issuer.card("full", NOW, nbf=NOW - timedelta(days=1), rid="abc")
    other = issuer.card("full", NOW, nbf=NOW - timedelta(days=3), rid="abd")
    bare = issuer.card("full", NOW, nbf=NOW - timedelta(days=3))
    results = [verify_shc(c, jwks={issuer.iss: jwks}, now=NOW) for c in (old, new, other, bare)]
    assert [r.reason for r in results] == ["revoked", None, None, None]
    always = {**jwks, "crls": [{"kid": issuer.jwk["kid"], "method": "rid", "rids": ["abc"]}]}
    assert verify_shc(new, jwks={issuer.iss: always}, now=NOW).reason == "revoked"


def test_a_crl_of_another_kid_or_method_revokes_nothing(issuer: DemoShcIssuer) -> None:
    card = issuer.card("full", NOW, rid="abc")
    for crl in (
        {"kid": "another-kid", "rids": ["abc"]},
        {"kid": issuer.jwk["kid"], "method": "legacy", "rids": ["abc"]},
        {"kid": issuer.jwk["kid"], "rids": ["abc.not-a-time", "a b c", 7]},
    ):
        jwks = {"keys": [issuer.jwk], "crls": [crl]}
        assert verify_shc(card, jwks={issuer.iss: jwks}, now=NOW).valid
