"""Row-by-row idempotency of a batch (``partition_batch``) and the citizen's bump event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from yimatong.domain.errors import InvalidInput
from yimatong.road.observations import Bump, partition_batch

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
