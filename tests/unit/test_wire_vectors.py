"""Every vector in tests/vectors/ymt1/ checks out; valid ones also verify independently."""

from __future__ import annotations

import importlib.util
import json
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import base45 as reference_b45
import cbor2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from yimatong.adapters.crypto import Algorithm, load_verifying_key
from yimatong.adapters.wire.code import PREFIX, Keyring, TrustedKey, verify_code_at
from yimatong.domain.errors import InvalidCode
from yimatong.domain.token import HealthClaims

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "ymt1"


def _load(name: str) -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads((VECTORS / name).read_text("utf-8"))["vectors"]
    return vectors


def _params(name: str) -> list[Any]:
    return [pytest.param(v, id=v["name"]) for v in _load(name)]


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def keyring_of(vector: dict[str, Any]) -> Keyring:
    entries = []
    for entry in vector["trust"]:
        if entry["alg"] == Algorithm.SM2_SM3.label:
            pytest.importorskip("tongsuopy")
        key = load_verifying_key(entry["public_key_pem"].encode("ascii"))
        assert key.kid.hex() == entry["kid"]
        assert key.alg.label == entry["alg"]
        assert key.alg.value == entry["cose_alg"]
        entries.append(
            TrustedKey(
                kid=bytes.fromhex(entry["kid"]),
                issuer=entry["issuer"],
                key=key,
                not_before=datetime.fromisoformat(entry["not_before"]),
                not_after=_time(entry["not_after"]),
                revoked_at=_time(entry["revoked_at"]),
            )
        )
    return Keyring(entries)


def claims_json(claims: HealthClaims) -> dict[str, Any]:
    return {
        "issuer": claims.issuer,
        "issued_at": claims.issued_at.isoformat(),
        "expires_at": claims.expires_at.isoformat(),
        "sid": claims.sid,
        "colour": claims.colour.value,
        "colour_since": claims.colour_since.isoformat(),
        "reasons": list(claims.reasons),
        "hours_since_negative_test": claims.hours_since_negative_test,
        "masked_name": claims.masked_name,
        "masked_id": claims.masked_id,
        "kind": claims.kind.value,
        "version": claims.version,
    }


def test_there_are_vectors() -> None:
    assert len(_load("valid.json")) >= 7
    assert len(_load("invalid.json")) >= 15


@pytest.mark.parametrize("vector", _params("valid.json"))
def test_valid_vector(vector: dict[str, Any]) -> None:
    ring = keyring_of(vector)
    claims = verify_code_at(
        vector["code"],
        ring,
        datetime.fromisoformat(vector["now"]),
        leeway=timedelta(seconds=vector["leeway_seconds"]),
    )
    assert claims_json(claims) == vector["expected"]
    assert len(vector["code"]) == vector["length"]


@pytest.mark.parametrize("vector", _params("invalid.json"))
def test_invalid_vector(vector: dict[str, Any]) -> None:
    ring = keyring_of(vector)
    with pytest.raises(InvalidCode) as excinfo:
        verify_code_at(
            vector["code"],
            ring,
            datetime.fromisoformat(vector["now"]),
            leeway=timedelta(seconds=vector["leeway_seconds"]),
        )
    assert vector["expected"] == "invalid"
    assert excinfo.value.detail == vector["detail"]


@pytest.mark.parametrize(
    "vector", [p for p in _params("valid.json") if not p.id.startswith("sm2-")]
)
def test_valid_vectors_verify_without_yimatong(vector: dict[str, Any]) -> None:
    """base45 package + zlib + cbor2 + cryptography, following RFC 9052 by hand."""
    raw = reference_b45.b45decode(vector["code"][len(PREFIX) :])
    cose = zlib.decompress(raw) if raw[0] == 0x78 else raw
    item = cbor2.loads(cose)
    if isinstance(item, cbor2.CBORTag):
        assert item.tag == 18
        item = item.value
    protected, unprotected, payload, signature = item
    assert not unprotected
    header = cbor2.loads(protected)
    (entry,) = vector["trust"]
    assert header == {1: entry["cose_alg"], 4: bytes.fromhex(entry["kid"])}
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    public = serialization.load_pem_public_key(entry["public_key_pem"].encode("ascii"))
    if isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(signature, to_be_signed)
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        public.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
    claims = cbor2.loads(payload)
    expected = vector["expected"]
    assert claims[1] == expected["issuer"]
    assert claims[6] == int(datetime.fromisoformat(expected["issued_at"]).timestamp())
    assert claims[-65537][2].hex() == expected["sid"]


def test_the_compressed_vector_is_compressed() -> None:
    (vector,) = [v for v in _load("valid.json") if v["name"].endswith("-compressed")]
    raw = reference_b45.b45decode(vector["code"][len(PREFIX) :])
    assert raw[0] == 0x78
    assert len(raw) < len(zlib.decompress(raw))


def test_the_generator_reproduces_the_committed_vectors() -> None:
    """Ed25519 and the RFC 6979 ES256 signatures are deterministic: regenerating changes nothing."""
    spec = importlib.util.spec_from_file_location(
        "gen_ymt1_vectors", ROOT / "scripts" / "gen_ymt1_vectors.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
