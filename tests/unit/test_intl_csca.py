"""The EU gateway's CSCA chain at import: a DSC is kept only when a CSCA of the country the
gateway lists it under signed it; every other DSC is refused in one line, the rest kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yimatong.demo.international import DemoCsca, DemoDsc, csca_list, gateway_list
from yimatong.verifier.trustlists import check_dsc_chains, parse_gateway_cscas, parse_gateway_dscs

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def cscas() -> dict[str, DemoCsca]:
    return {c: DemoCsca.new(NOW, country=c) for c in ("XA", "XB")}


def _import(dscs: list[DemoDsc], cscas: list[DemoCsca]) -> tuple[list[bytes], list[str]]:
    document = {"certificates": gateway_list(dscs) + csca_list(cscas)}
    found, refused = parse_gateway_cscas(document)
    assert refused == []
    kept, refused = check_dsc_chains(parse_gateway_dscs(document), found)
    return [e.kid for e in kept], refused


def test_a_dsc_signed_by_its_countrys_csca_is_kept(cscas: dict[str, DemoCsca]) -> None:
    dsc = DemoDsc.new(NOW, csca=cscas["XA"])
    other = DemoDsc.new(NOW, alg="PS256", country="XB", csca=cscas["XB"])
    assert _import([dsc, other], list(cscas.values())) == (sorted([dsc.kid, other.kid]), [])


def test_each_dsc_that_does_not_chain_is_refused_in_one_line_and_the_rest_kept(
    cscas: dict[str, DemoCsca],
) -> None:
    good = DemoDsc.new(NOW, csca=cscas["XA"])
    forged = DemoDsc.new(NOW)  # its own throwaway CA, not XA's
    impostor = DemoCsca.new(NOW, country="XA")  # the same name as XA's CSCA, another key
    same_name = DemoDsc.new(NOW, csca=impostor)
    foreign = DemoDsc.new(NOW, csca=cscas["XB"])  # listed under XA, signed by XB's CSCA
    relabelled = DemoDsc.new(NOW, csca=cscas["XA"], subject_country="XB")
    lonely = DemoDsc.new(NOW, country="XC", csca=DemoCsca.new(NOW, country="XC"))
    kept, refused = _import(
        [good, forged, same_name, foreign, relabelled, lonely], list(cscas.values())
    )
    assert kept == [good.kid]
    assert len(refused) == 5 and all("\n" not in r for r in refused)
    text = " | ".join(refused)
    assert text.count("not signed by a CSCA of XA") == 3
    assert "its subject's country XB differs from XA" in text
    assert "no CSCA of XC was given" in text


def test_a_dsc_issued_before_its_csca_was_valid_is_refused() -> None:
    young = DemoCsca.new(NOW, valid_days=20)  # valid from 10 days ago
    dsc = DemoDsc.new(NOW, csca=young, valid_days=(-30, 300))
    kept, refused = _import([dsc], [young])
    assert kept == [] and refused[0].endswith("issued before its CSCA became valid")


def test_a_bad_csca_entry_is_refused_alone() -> None:
    entries = csca_list([DemoCsca.new(NOW)])
    bad = [{**entries[0], "rawData": "AAAA"}, {**entries[0], "country": "x"}, entries[0]]
    found, refused = parse_gateway_cscas(bad)
    assert len(found) == 1
    assert refused == [
        "csca entry 0: rawData is not an X.509 certificate",
        "csca entry 1: country is not two capital letters",
    ]


def test_without_cscas_nothing_is_checked() -> None:
    document = gateway_list([DemoDsc.new(NOW - timedelta(days=1))])
    assert parse_gateway_cscas(document) == ([], [])
