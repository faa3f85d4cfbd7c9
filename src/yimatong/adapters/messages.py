"""Messages that two parties sign and check: their canonical bytes, written down once.

The signer (an issuer node, the hub's hosted regions, a lab, the CLI, the demo) and the
checker (the hub) both import this module, so the bytes cannot drift apart. Every message is
``adapters.signed.canonical`` of a JSON object — RFC 8785 (JCS): keys sorted, no whitespace,
UTF-8, numbers as ECMAScript writes them:

============== ==================================================== =======================
message        object                                               signed by
============== ==================================================== =======================
possession     ``{"type": "ymt-key-possession", "region",           the new key itself
               "public_key", "not_before"}``
rotation       ``{"region", "public_key", "not_before"}``           a current key of the
                                                                    same issuer
lab batch      ``{"lab_id", "batch_id", "results"}``, the results   the lab's key
               exactly as sent
============== ==================================================== =======================

- ``public_key`` is standard base64 (with padding) of the key's DER SubjectPublicKeyInfo, as
  the trust list carries it; the hub rebuilds it from the key it parsed, not from the text sent.
- ``not_before`` is ``key_time``: UTC, whole seconds, ``2026-11-19T08:00:00+00:00`` (codes carry
  whole seconds, and the hub stores a key's start that way).
- Binding the region, the key and its start means a proof cannot be replayed for another
  region or another window; the ``type`` member keeps a possession proof from ever reading as
  a rotation proof (and the other way round). The rotation message is the form issuers have
  signed since the first release, unchanged.
- A signature travels as base64url without padding (``encode_signature``).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from yimatong.adapters.crypto import SigningKey, VerifyingKey
from yimatong.adapters.signed import canonical

__all__ = [
    "POSSESSION",
    "ProvedKey",
    "batch_message",
    "decode_signature",
    "department_batch_message",
    "encode_signature",
    "key_time",
    "possession_message",
    "prove_key",
    "prove_rotation",
    "public_key_b64",
    "rotation_message",
]

#: The ``type`` of a possession message.
POSSESSION = "ymt-key-possession"


def key_time(value: datetime) -> str:
    """A key's start as both sides write it: UTC, whole seconds, ISO 8601 with ``+00:00``."""
    if value.tzinfo is None:
        raise ValueError("a key time needs an offset")
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def public_key_b64(key: VerifyingKey) -> str:
    return base64.b64encode(key.spki_der()).decode("ascii")


def possession_message(region: str, public_key: str, not_before: datetime) -> bytes:
    """What a new key signs to prove that whoever registers it holds it."""
    return canonical(
        {
            "type": POSSESSION,
            "region": region,
            "public_key": public_key,
            "not_before": key_time(not_before),
        }
    )


def rotation_message(region: str, public_key: str, not_before: datetime) -> bytes:
    """What a current key of ``region`` signs to introduce a new one."""
    return canonical(
        {"region": region, "public_key": public_key, "not_before": key_time(not_before)}
    )


def batch_message(lab_id: str, batch_id: str, results: list[dict[str, Any]]) -> bytes:
    """The bytes a lab signs for a batch of test results."""
    return canonical({"lab_id": lab_id, "batch_id": batch_id, "results": results})


def department_batch_message(
    department_id: str, batch_id: str, kind: str, records: list[Any]
) -> bytes:
    """The bytes a department signs for a batch of records (hub/departments.py)."""
    return canonical(
        {"department_id": department_id, "batch_id": batch_id, "kind": kind, "records": records}
    )


def encode_signature(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


def decode_signature(text: str) -> bytes:
    """The bytes of a base64url signature; ValueError if it is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc


@dataclass(frozen=True)
class ProvedKey:
    """A key offered to the registry with its window and its proof of possession."""

    public_key: str
    not_before: datetime
    possession: str
    not_after: datetime | None = None

    def to_json(self) -> dict[str, str]:
        """An entry of ``keys`` in ``POST /v1/issuers``; without ``not_after``, also the body
        of ``POST /v1/issuers/{region}/keys`` (a key added there ends only by rotation)."""
        entry = {
            "public_key": self.public_key,
            "not_before": key_time(self.not_before),
            "possession": self.possession,
        }
        if self.not_after is not None:
            entry["not_after"] = key_time(self.not_after)
        return entry


def prove_key(
    key: SigningKey, region: str, not_before: datetime, not_after: datetime | None = None
) -> ProvedKey:
    """``key``'s registration entry for ``region``, signed by ``key`` itself."""
    public = public_key_b64(key.public)
    signature = key.sign(possession_message(region, public, not_before))
    return ProvedKey(public, not_before, encode_signature(signature), not_after)


def prove_rotation(
    prover: SigningKey, region: str, public_key: str, not_before: datetime
) -> dict[str, str]:
    """``proof`` and ``proof_kid`` of a rotation: ``prover`` (a current key) vouches for it."""
    signature = prover.sign(rotation_message(region, public_key, not_before))
    return {"proof": encode_signature(signature), "proof_kid": prover.kid.hex()}
