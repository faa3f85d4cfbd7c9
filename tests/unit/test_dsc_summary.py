"""What the hub's international trust says of each DSC for the checkpoint page
(hub/dsc_summary.py): the key, its kind, the validity and the key usages verify_dcc reads."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from yimatong.demo.international import DemoDsc
from yimatong.hub.dsc_summary import dsc_summary

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _summary(dsc: DemoDsc) -> dict[str, object]:
    return dsc_summary(base64.b64encode(dsc.der).decode(), dsc.kid.hex())


def test_a_dsc_is_summarised_with_its_key_validity_and_usages() -> None:
    dsc = DemoDsc.new(NOW, alg="EdDSA", usages="rv", valid_days=(-10, 20))
    got = _summary(dsc)
    spki = dsc.key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert got == {
        "key_type": "ed25519",
        "public_key": base64.b64encode(spki).decode(),
        "not_before": "2026-05-22T12:00:00Z",
        "not_after": "2026-06-21T12:00:00Z",
        "usages": ["r", "v"],
        "subject_country": "XA",
    }


def test_each_kind_of_key_is_named_and_no_usage_oid_means_every_type() -> None:
    assert _summary(DemoDsc.new(NOW))["key_type"] == "ec-p256"
    rsa = _summary(DemoDsc.new(NOW, alg="PS256", usages=""))
    assert (rsa["key_type"], rsa["usages"]) == ("rsa", None)


def test_a_certificate_that_cannot_be_read_is_marked_unusable() -> None:
    assert dsc_summary(base64.b64encode(b"not a certificate").decode(), "00" * 8) == {
        "key_type": None
    }
