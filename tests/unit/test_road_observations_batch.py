"""Row-by-row idempotency of a batch (``partition_batch``), the citizen's bump event, and the
fast RFC 8785 form of a flat payload (``jcs_flat``) against the ``rfc8785`` package."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from yimatong.domain.errors import InvalidInput
from yimatong.road.observations import Bump, Observation, jcs_flat, partition_batch
from yimatong.road.rules import Severity

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_partition_batch_says_new_duplicate_or_conflict_for_each_row_in_order() -> None:
    known = {("veh", 1): b"a"}
    rows = [(("veh", 1), b"a"), (("veh", 1), b"b"), (("veh", 2), b"c"), (("veh", 2), b"c"),
            (("veh", 2), b"d")]  # fmt: skip
    assert partition_batch(rows, known) == ["duplicate", "conflict", "new", "duplicate", "conflict"]


def test_a_bump_round_trips_through_its_payload_and_has_a_stable_digest() -> None:
    bump = Bump("phone-1", 7, AT, 120.16, 30.28, 2.5, "ab" * 32)
    again = Bump.from_payload(bump.payload())
    assert again == bump and again.digest() == bump.digest()
    assert bump.payload()["kind"] == "bump"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"magnitude_g": 0.0}, "magnitude_g"), ({"magnitude_g": 99.0}, "magnitude_g"),
     ({"lat": 91.0}, "lat"), ({"device_id": ""}, "device_id"), ({"seq": -1}, "seq")],
)  # fmt: skip
def test_a_bump_out_of_range_is_refused_naming_the_field(change: dict, field: str) -> None:
    data = {**Bump("phone-1", 7, AT, 120.16, 30.28, 2.5).payload(), **change}
    with pytest.raises(InvalidInput) as refused:
        Bump.from_payload(data)
    assert refused.value.field == field


_plain = st.text(alphabet="abcXYZ019._:-+ ", max_size=12)
_value = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), _plain,
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
)  # fmt: skip


@given(st.dictionaries(st.text(alphabet="abcdefz_", min_size=1, max_size=8), _value, max_size=8))
def test_jcs_flat_writes_what_rfc8785_writes(payload: dict) -> None:
    assert jcs_flat(payload) == rfc8785.dumps(payload)


@given(
    st.floats(-180, 180), st.floats(-90, 90), st.floats(0, 1),
    st.one_of(st.none(), st.floats(0, 359.99)), st.integers(0, 2**53 - 1),
)  # fmt: skip
def test_an_observations_signed_bytes_are_its_payloads_rfc8785_form(
    lon: float, lat: float, confidence: float, heading: float | None, seq: int
) -> None:
    obs = Observation("veh-1", seq, AT, lon, lat, heading, 8.0, "pothole", Severity.SEVERE,
                      confidence, "ab" * 32)  # fmt: skip
    assert obs.signing_bytes() == b"ymt-road-obs/1\n" + rfc8785.dumps(obs.payload())


@given(
    st.floats(-180, 180), st.one_of(st.none(), st.floats(0, 70)), st.booleans(),
    st.sampled_from(["WGS84", "CGCS2000"]), st.one_of(st.none(), st.just("cd" * 32)),
    st.datetimes(timezones=st.just(UTC)),
)  # fmt: skip
def test_the_signed_bytes_of_clear_passes_and_detections_are_their_rfc8785_form(
    lon: float, speed: float | None, detect: bool, datum: str, image: str | None, at: datetime
) -> None:
    obs = Observation("veh-1.a:b", 3, at, lon, 30.28, None, speed,
                      "pothole" if detect else None, Severity.LIGHT if detect else None, 0.5,
                      image, datum)  # type: ignore[arg-type]  # fmt: skip
    assert obs.signing_bytes() == b"ymt-road-obs/1\n" + rfc8785.dumps(obs.payload())
