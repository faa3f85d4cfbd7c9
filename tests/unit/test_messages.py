"""The messages two parties sign: their bytes are pinned here, so neither side drifts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from yimatong.adapters.crypto import Algorithm, BadSignature, signing_key_from_seed
from yimatong.adapters.messages import (
    decode_signature,
    key_time,
    possession_message,
    prove_key,
    prove_rotation,
    rotation_message,
)

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 19, 16, 0, 0, 123456, tzinfo=CST)


def test_a_key_time_is_utc_in_whole_seconds() -> None:
    assert key_time(START) == "2026-11-19T08:00:00+00:00"
    with pytest.raises(ValueError):
        key_time(datetime(2026, 11, 19))


def test_the_canonical_bytes_of_possession_and_rotation() -> None:
    assert possession_message("440000", "MCow", START) == (
        b'{"not_before":"2026-11-19T08:00:00+00:00","public_key":"MCow",'
        b'"region":"440000","type":"ymt-key-possession"}'
    )
    assert rotation_message("440000", "MCow", START) == (
        b'{"not_before":"2026-11-19T08:00:00+00:00","public_key":"MCow","region":"440000"}'
    )


def test_a_possession_proof_never_reads_as_a_rotation_proof() -> None:
    key = signing_key_from_seed(Algorithm.EDDSA, b"\x07" * 32)
    entry = prove_key(key, "440000", START)
    signature = decode_signature(entry.possession)
    key.public.verify(signature, possession_message("440000", entry.public_key, START))
    with pytest.raises(BadSignature):
        key.public.verify(signature, rotation_message("440000", entry.public_key, START))
    rotation = prove_rotation(key, "440000", entry.public_key, START)
    assert rotation["proof_kid"] == key.kid.hex()
    with pytest.raises(BadSignature):
        key.public.verify(
            decode_signature(rotation["proof"]),
            possession_message("440000", entry.public_key, START),
        )
