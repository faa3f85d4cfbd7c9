"""The claims model of a health code: validation and the defaults of new_claims."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from yimatong.domain.facts import Colour
from yimatong.domain.token import (
    DYNAMIC_LIFETIME,
    PRINTED_LIFETIME,
    CodeKind,
    HealthClaims,
    new_claims,
)

NOW = datetime(2022, 1, 10, 8, 0, 12, 345678, tzinfo=UTC)
SID = "0123456789abcdef0123456789abcdef"
CST = timezone(timedelta(hours=8))


def make(**overrides: object) -> HealthClaims:
    args: dict[str, object] = {
        "issuer": "330000",
        "sid": SID,
        "colour": Colour.GREEN,
        "colour_since": NOW - timedelta(days=20),
        "reasons": (),
        "hours_since_negative_test": 20,
        "masked_name": "张*",
        "masked_id": "3301**********1234",
        "kind": CodeKind.DYNAMIC,
        "now": NOW,
    }
    args.update(overrides)
    return new_claims(**args)  # type: ignore[arg-type]


def test_dynamic_code_lives_sixty_seconds_from_the_whole_second() -> None:
    claims = make()
    assert claims.issued_at == datetime(2022, 1, 10, 8, 0, 12, tzinfo=UTC)
    assert claims.expires_at - claims.issued_at == DYNAMIC_LIFETIME == timedelta(seconds=60)
    assert claims.lifetime == DYNAMIC_LIFETIME
    assert claims.version == 1


def test_printed_code_lives_thirty_days() -> None:
    claims = make(kind=CodeKind.PRINTED)
    assert claims.expires_at - claims.issued_at == PRINTED_LIFETIME == timedelta(days=30)


def test_explicit_lifetime_is_truncated_to_seconds() -> None:
    claims = make(lifetime=timedelta(seconds=90, milliseconds=700))
    assert claims.lifetime == timedelta(seconds=90)


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(milliseconds=999), timedelta(-1)])
def test_lifetime_must_be_at_least_a_second(lifetime: timedelta) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        make(lifetime=lifetime)


def test_times_are_normalised_to_utc_whole_seconds() -> None:
    claims = make(now=NOW.astimezone(CST), colour_since=datetime(2022, 1, 1, 9, 30, 1, 5, CST))
    assert claims.issued_at.tzinfo is UTC
    assert claims.colour_since == datetime(2022, 1, 1, 1, 30, 1, tzinfo=UTC)


def test_reasons_accept_any_iterable() -> None:
    claims = make(reasons=["stay.medium-risk", "temperature.fever"])
    assert claims.reasons == ("stay.medium-risk", "temperature.fever")


def test_claims_are_frozen() -> None:
    claims = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        claims.colour = Colour.RED  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("issuer", "33000"),
        ("issuer", "3300001"),
        ("issuer", "33000a"),
        ("issuer", "３３００００"),  # full-width digits are digits to str.isdigit, not to us
        ("sid", SID.upper()),
        ("sid", SID[:-1]),
        ("sid", SID + "0"),
        ("reasons", ("Stay.Medium",)),
        ("reasons", ("",)),
        ("reasons", ("has space",)),
        ("reasons", ("x" * 65,)),
        ("reasons", tuple(f"r{i}" for i in range(17))),
        ("hours_since_negative_test", -1),
        ("hours_since_negative_test", 100_001),
        ("hours_since_negative_test", True),
        ("masked_name", "张三"),  # not masked: must never reach a code
        ("masked_id", "330106199001011234"),
        ("masked_name", "*" * 49),
        ("version", 0),
    ],
)
def test_invalid_fields_are_refused(field: str, value: Any) -> None:
    valid = make()
    with pytest.raises(ValueError):
        dataclasses.replace(valid, **{field: value})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("colour", "green"),
        ("kind", "dynamic"),
        ("reasons", ["stay.medium-risk"]),
        ("masked_name", None),
    ],
)
def test_wrong_types_are_refused(field: str, value: Any) -> None:
    with pytest.raises(TypeError):
        dataclasses.replace(make(), **{field: value})


def test_unmasked_values_are_not_echoed_in_the_error() -> None:
    with pytest.raises(ValueError) as excinfo:
        dataclasses.replace(make(), masked_id="330106199001011234")
    assert "330106199001011234" not in str(excinfo.value)


def test_empty_masked_fields_are_allowed() -> None:
    claims = dataclasses.replace(make(), masked_name="", masked_id="")
    assert claims.masked_name == ""


def test_times_must_be_aware_whole_seconds_and_ordered() -> None:
    valid = make()
    with pytest.raises(ValueError, match="timezone-aware"):
        dataclasses.replace(valid, issued_at=datetime(2022, 1, 10))
    with pytest.raises(ValueError, match="whole-second"):
        dataclasses.replace(valid, expires_at=valid.expires_at + timedelta(microseconds=1))
    with pytest.raises(ValueError, match="after issued_at"):
        dataclasses.replace(valid, expires_at=valid.issued_at)


def test_new_claims_needs_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make(now=datetime(2022, 1, 10))
