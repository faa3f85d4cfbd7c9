"""The hcert payload against DCC schema 1.3.x and the EU value sets (verifier/dcc_schema.py):
each kind of fault refused with a reason naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest

from yimatong.demo.international import hcert
from yimatong.verifier.dcc_schema import (
    PAGE_VALUE_SETS,
    VALUE_SETS,
    check_hcert,
    display,
    eu_value_sets,
    page_value_sets,
    value_set,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _with(kind: str, **changes: Any) -> dict[str, Any]:
    dcc = hcert(kind, NOW)
    entry = dcc[kind][0]
    for key, value in changes.items():
        if value is None:
            entry.pop(key)
        else:
            entry[key] = value
    return dcc


@pytest.mark.parametrize("kind", ["v", "t", "r"])
def test_the_demo_certificates_keep_to_the_schema(kind: str) -> None:
    found = check_hcert(hcert(kind, NOW))
    assert not isinstance(found, str) and found[0] == kind


@pytest.mark.parametrize(
    ("dcc", "reason"),
    [
        (_with("v", dn=None), "schema: v[0].dn missing"),
        (_with("v", dn=0), "schema: v[0].dn is not a positive integer"),
        (_with("v", dt="2021-02-30"), "schema: v[0].dt is not a complete date"),
        (_with("v", dt="18.03.2021"), "schema: v[0].dt is not a complete date"),
        (_with("t", sc="2021-05-03"), "schema: t[0].sc is not a date and time"),
        (_with("t", sc="2021-05-03T10:27:15"), "schema: t[0].sc is not a date and time"),
        (_with("t", tc="x" * 81), "schema: t[0].tc is longer than 80"),
        (_with("t", tt="LP0000-0"), "value set: t[0].tt 'LP0000-0' is unknown"),
        (_with("t", tr="1"), "value set: t[0].tr '1' is unknown"),
        (_with("r", tg="729999"), "value set: r[0].tg '729999' is unknown"),
        (_with("r", du=None), "schema: r[0].du missing"),
        ({**hcert("v", NOW), "ver": "1.3"}, "schema: ver is not a version"),
        ({**hcert("v", NOW), "dob": "1850-01-01"}, "schema: dob is not a date of 1900-2099"),
        ({**hcert("v", NOW), "nam": {"fn": "X"}}, "schema: nam.fnt missing"),
        (
            {**hcert("v", NOW), "nam": {"fnt": "Müller"}},
            "schema: nam.fnt is not ICAO 9303 (A-Z and <)",
        ),
        ({**hcert("v", NOW), "t": hcert("t", NOW)["t"]}, "schema: not exactly one of v, t, r"),
        ([], "schema: hcert is not an object"),
    ],
)
def test_a_fault_is_refused_with_a_reason_naming_the_field(dcc: Any, reason: str) -> None:
    assert check_hcert(dcc) == reason


def test_a_date_followed_by_a_time_is_taken_as_the_date_and_open_sets_are_not_refused() -> None:
    found = check_hcert(_with("v", dt="2021-03-18T22:54:00+02:00", mp="Sputnik-V", ma="X"))
    assert not isinstance(found, str)
    assert found[1]["dt"] == "2021-03-18" and found[1]["mp"] == "Sputnik-V"
    dob = check_hcert({**hcert("v", NOW), "dob": "1978-01-26T00:00:00"})
    assert not isinstance(dob, str)
    assert (
        check_hcert({**hcert("v", NOW), "dob": "1950"}) != "schema: dob is not a date of 1900-2099"
    )


def test_the_value_sets_give_display_names() -> None:
    assert display("vaccine-medicinal-product", "EU/1/20/1528") == "Comirnaty"
    assert display("test-type", "LP6464-4") == "Nucleic acid amplification with probe detection"
    assert display("vaccine-medicinal-product", "nothing") is None
    assert all(value_set(name) for name in VALUE_SETS)


def test_a_certificate_with_a_forename_only_verifies_and_shows_it() -> None:
    from yimatong.demo.international import DemoDsc, cwt
    from yimatong.verifier.international import verify_dcc

    dsc = DemoDsc.new(NOW)
    claims = cwt("v", NOW)
    claims[-260][1]["nam"] = {"gn": "Erika", "gnt": "ERIKA"}
    result = verify_dcc(dsc.hc1(claims), certificates=[dsc.der], now=NOW)
    assert result.valid and result.facts is not None
    assert result.facts.holder_name == "Erika"
    assert result.facts.payload is not None and "nam" not in result.facts.payload


def test_the_value_sets_the_checkpoint_page_ships_are_the_ones_the_core_reads() -> None:
    shipped = resources.files("yimatong").joinpath(PAGE_VALUE_SETS).read_text(encoding="utf-8")
    assert json.loads(shipped) == page_value_sets(), "run scripts/gen_page_valuesets.py"
    ids = {s["id"]: [c for c, _ in s["codes"]] for s in page_value_sets()["sets"].values()}
    assert ids == {k: list(v) for k, v in eu_value_sets().items()}
