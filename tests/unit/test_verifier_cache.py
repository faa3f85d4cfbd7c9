"""The checkpoint's disk cache: round trips, damage detection, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yimatong.verifier.cache import CorruptCache, DiskCache, Stored, atomic_write


def sample(name: str = "trust-list") -> Stored:
    return Stored(
        name=name,
        documents=[
            {
                "payload": {"type": "trust-list", "version": 3, "issuers": []},
                "signature": {"kid": "00" * 8, "alg": -8, "value": "abc"},
            }
        ],
        etag='"trust-3-0"',
        fetched_at="2026-11-20T02:00:00+00:00",
        checked_at="2026-11-20T02:01:00+00:00",
        anchor={
            "hub": "2026-11-20T02:00:00+00:00",
            "local": "2026-11-20T02:00:01+00:00",
            "elapsed": 12.5,
            "boot": "b",
            "signed": True,
        },
    )


def test_round_trip_and_private_files(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path / "c")
    assert cache.load("trust-list") is None
    cache.save(sample())
    loaded = cache.load("trust-list")
    assert loaded == sample()
    mode = stat.S_IMODE(os.stat(cache.path("trust-list")).st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o700
    assert [p.name for p in (tmp_path / "c").iterdir()] == ["trust-list.json"]  # no temp left


def test_damage_is_detected(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    cache.save(sample())
    path = cache.path("trust-list")
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # torn write
    with pytest.raises(CorruptCache):
        cache.load("trust-list")
    path.write_bytes(good.replace(b'"version":3', b'"version":4'))  # edited
    with pytest.raises(CorruptCache, match="checksum"):
        cache.load("trust-list")
    path.write_bytes(good)
    os.rename(path, cache.path("risk-areas"))  # a file under another list's name
    with pytest.raises(CorruptCache):
        cache.load("risk-areas")
    cache.discard("risk-areas")
    cache.discard("risk-areas")  # twice is fine
    assert cache.load("risk-areas") is None


def test_names_are_plain_file_names(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path)
    for bad in ("", "../x", ".hidden", "a/b"):
        with pytest.raises(ValueError):
            cache.path(bad)


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.json"
    atomic_write(path, b"old")

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # disk writes: no per-example deadline on a shared machine
@given(position=st.integers(min_value=0), value=st.integers(0, 255))
def test_any_changed_byte_is_caught_or_harmless(tmp_path: Path, position: int, value: int) -> None:
    cache = DiskCache(tmp_path)
    cache.save(sample())
    path = cache.path("trust-list")
    raw = bytearray(path.read_bytes())
    raw[position % len(raw)] = value
    path.write_bytes(bytes(raw))
    try:
        loaded = cache.load("trust-list")
    except CorruptCache:
        return
    assert loaded == sample()  # only a change that leaves the same content gets through
