"""What a browser needs of a DCC document signer certificate, read once at the hub.

The checkpoint page verifies ``HC1:`` certificates with WebCrypto and has no X.509 parser; the
hub's signed international trust carries, beside each DSC's DER, what ``verify_dcc`` reads of
it (``verifier/international.document_signer``): the public key (SPKI DER), which kind of key
it is, the validity and the DCC key usages. The DER stays in the document, so the CLI and the
agent read the certificate itself as before; the added members are signed with the rest.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from yimatong.verifier.international import DocumentSigner, document_signer

__all__ = ["dsc_summary"]


def _key_type(key: Any) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ec-p256" if key.curve.name == "secp256r1" else "ec"
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return "other"


def _iso(signer: DocumentSigner, which: str) -> str:
    value = signer.not_before if which == "before" else signer.not_after
    return value.isoformat().replace("+00:00", "Z")


def dsc_summary(der_b64: str, kid_hex: str) -> dict[str, Any]:
    """The members a DCC row of the international trust gains (``key_type`` None: the
    certificate cannot be read, which ``verify_dcc`` refuses as ``dsc unusable``)."""
    try:
        signer = document_signer(base64.b64decode(der_b64), bytes.fromhex(kid_hex))
    except ValueError:
        return {"key_type": None}
    spki = signer.key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return {
        "key_type": _key_type(signer.key),
        "public_key": base64.b64encode(spki).decode("ascii"),
        "not_before": _iso(signer, "before"),
        "not_after": _iso(signer, "after"),
        "usages": None if signer.usages is None else sorted(signer.usages),
        # the certificate's own C: the country UNKNOWN_KID revocation batches go by
        "subject_country": signer.country,
    }
