"""A department's batch read through the caches gives exactly what the general checks give.

``_Rows`` reads a manifest row of the usual shape through caches (a trip's leg, a seat, the
pseudonym keyed once) and sends any row in doubt to the general checks; ``KeyedIndex`` keys
the HMAC of names and phones once. Any difference would be a row stored or refused otherwise
than on its own, or a feed body or log digest that the auditors could not recompute.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.adapters.translog import batch_digest
from yimatong.bench.feeds import _manifest
from yimatong.hub.departments import KeyedIndex, _Batch, _Rows, keyed_index

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SECRET = bytes(range(32))
DEPT = SimpleNamespace(department_id="zj-rail", kind="rail", region="330000")


def _rows() -> _Rows:
    return _Rows(SECRET, NOW, DEPT, "b1", NOW + timedelta(days=21))


def _odd_manifest() -> list[Any]:
    """Forty rows of a manifest, most of them with one thing wrong or unusual."""
    rows: list[Any] = [dict(r) for r in _manifest(40, NOW)]
    changes: list[dict[str, Any]] = [
        {"trip": None}, {"trip": " g1001 "}, {"seat": "99ZZZ"}, {"seat": ""}, {"carriage": 5},
        {"to": "999999"}, {"departs_at": "yesterday"}, {"photo": "x"}, {"name": "x"},
        {"id_number": "123"}, {"subject": "a" * 32, "id_type": None, "id_number": None},
        {"subject": "a" * 32}, {"date": "2026-13-01"}, {"trip": ["G1"]}, {"departs_at": 1},
        {"arrives_at": (NOW - timedelta(days=3)).isoformat()}, {"from": True},
        {"id_number": rows[0]["id_number"][:17] + "x"}, {"id_type": "414", "id_number": "E1"},
    ]  # fmt: skip
    for row, change in zip(rows[1::2], changes, strict=False):
        row.update(change)
    rows[3].pop("seat")
    rows[5]["departs_at"] = rows[5]["departs_at"].replace("+00:00", "+08:00")
    return [*rows, None, [], "x", {}]


def _general(kind: str, records: list[Any]) -> _Batch:
    rows, out = _rows(), _Batch()
    for i, row in enumerate(records):
        rows._general(kind, i, row, out)
    return out


@pytest.mark.parametrize("kind", ["rail", "aviation"])
def test_cached_manifest_rows_are_what_the_general_checks_give(kind: str) -> None:
    records = _odd_manifest()
    cached, general = _rows().check(kind, records), _general(kind, records)
    assert cached.records == general.records
    assert cached.rejected == general.rejected
    assert (cached.feed_sids, cached.feed_bodies, cached.feed_index) == (
        general.feed_sids,
        general.feed_bodies,
        general.feed_index,
    )
    assert 0 < len(cached.records) < len(records) and cached.rejected


def test_the_log_digest_is_translog_batch_digest_of_the_feed_rows() -> None:
    checked = _rows().check("rail", _odd_manifest())
    feed = [[sid, "stay", json.loads(body)] for sid, body in zip(
        checked.feed_sids, checked.feed_bodies, strict=True)]  # fmt: skip
    assert checked.digest() == batch_digest(feed)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=12))
def test_keyed_index_keyed_once_is_keyed_index(value: str) -> None:
    for label in ("name", "phone"):
        assert KeyedIndex(SECRET, label)(value) == keyed_index(SECRET, label, value)
