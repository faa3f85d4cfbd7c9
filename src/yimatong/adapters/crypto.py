"""Keys, signatures, key ids and field encryption: the only module that touches key material.

Signatures (DESIGN §5)
    ===========  ===========  ====================================================================
    Algorithm    COSE ``alg``  what it is
    ===========  ===========  ====================================================================
    ``EDDSA``    -8           Ed25519 (RFC 8032), through ``cryptography``
    ``ES256``    -7           ECDSA on P-256 with SHA-256, through ``cryptography``
    ``SM2_SM3``  -65538       SM2 signature with SM3 (GB/T 32918.2, GB/T 32905) and the default
                              user ID ``1234567812345678`` (GB/T 35276), through ``tongsuopy``
    ===========  ===========  ====================================================================

Signatures travel the way COSE (RFC 9053 §2.1) carries ECDSA: the raw ``r || s``, each 32
bytes big-endian, never DER. SM2 has no registered COSE algorithm (draft-dang-webauthn-sm2
expired unassigned), so yimatong uses -65538 from the private-use range (below -65536). Its
keys are ordinary SubjectPublicKeyInfo/PKCS#8 with ``id-ecPublicKey`` and the SM2 curve
(OID 1.2.156.10197.1.301), which is how Tongsuo/OpenSSL write them.

SM2 is optional: ``tongsuopy`` (the ``yimatong[sm]`` extra) is imported on first use, and
without it SM2 operations raise ``RuntimeError`` naming the extra. ``tongsuopy`` signs with
the default user ID when none is set; ``tests/unit/test_crypto.py`` checks that against an
independent pure-Python SM2 verifier, because that is the part an interoperating
implementation most often gets wrong.

A key id (``kid``) is the first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo.

Field encryption
    ``FieldCipher`` encrypts personal data at rest (name, ID number, phone, address) with
    AES-256-GCM under named keys, so keys can rotate while old rows stay readable.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from types import SimpleNamespace
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "SM2_DEFAULT_USER_ID",
    "SM2_MISSING",
    "Algorithm",
    "BadSignature",
    "DecryptionError",
    "FieldCipher",
    "SigningKey",
    "VerifyingKey",
    "compute_kid",
    "generate_signing_key",
    "hmac_sha256",
    "load_signing_key",
    "load_verifying_key",
    "signing_key_from_seed",
]

SM2_MISSING = "SM2 needs the optional 'sm' extra: pip install 'yimatong[sm]'"
#: The user ID GB/T 35276 prescribes when the parties agree on none; tongsuopy uses it.
SM2_DEFAULT_USER_ID = b"1234567812345678"

KID_LENGTH = 8
_SIGNATURE_LENGTH = 64  # r || s or Ed25519's R || S: 32 + 32 bytes for every algorithm here
_SCALAR_LENGTH = 32

# DER of the SM2 curve OID 1.2.156.10197.1.301, as it appears in SPKI and PKCS#8.
_SM2_CURVE_OID_DER = bytes.fromhex("06082a811ccf5501822d")
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_SM2_ORDER = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


class Algorithm(enum.Enum):
    """Signature algorithms, valued by their COSE ``alg`` identifier."""

    EDDSA = -8
    ES256 = -7
    SM2_SM3 = -65538  # private use (< -65536): SM2 has no registered COSE identifier

    @property
    def label(self) -> str:
        """The name used in trust lists and JSON ("EdDSA", "ES256", "SM2-SM3")."""
        return _LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> Algorithm:
        for alg, name in _LABELS.items():
            if name == label:
                return alg
        raise ValueError(f"unknown algorithm label {label!r}")


_LABELS = {Algorithm.EDDSA: "EdDSA", Algorithm.ES256: "ES256", Algorithm.SM2_SM3: "SM2-SM3"}


class BadSignature(Exception):
    """A signature did not verify (wrong key, wrong data, or not a signature at all)."""


class DecryptionError(Exception):
    """A field blob could not be decrypted: unknown key id, wrong AAD, tampering, bad format."""


def compute_kid(spki_der: bytes) -> bytes:
    """The key id: the first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der).digest()[:KID_LENGTH]


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return hmac.digest(key, data, "sha256")


# --------------------------------------------------------------------------------------------
# SM2 backend, loaded on first use


@cache
def _sm2() -> SimpleNamespace:
    try:
        from tongsuopy.crypto import hashes as t_hashes
        from tongsuopy.crypto import serialization as t_serialization
        from tongsuopy.crypto.asymciphers import ec as t_ec
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(SM2_MISSING) from exc
    return SimpleNamespace(
        ec=t_ec,
        serialization=t_serialization,
        curve=t_ec.SM2(),
        # ECDSA here is tongsuopy's name for "the EC signature of this key type": with an SM2
        # key it makes an SM2 signature over SM3(Z || message), Z from the default user ID.
        sig_alg=t_ec.ECDSA(t_hashes.SM3()),
    )


# --------------------------------------------------------------------------------------------
# Verifying keys


class VerifyingKey:
    """A public key, parsed once. Build with ``load_verifying_key`` or ``SigningKey.public``."""

    __slots__ = ("_alg", "_key", "_kid", "_spki_der")

    def __init__(self, alg: Algorithm, key: Any, spki_der: bytes) -> None:
        self._alg = alg
        self._key = key
        self._spki_der = spki_der
        self._kid = compute_kid(spki_der)

    @property
    def alg(self) -> Algorithm:
        return self._alg

    @property
    def kid(self) -> bytes:
        return self._kid

    def verify(self, signature: bytes, data: bytes) -> None:
        """Raise ``BadSignature`` unless ``signature`` is this key's signature over ``data``."""
        raise NotImplementedError

    def spki_der(self) -> bytes:
        return self._spki_der

    def public_pem(self) -> bytes:
        body = base64.encodebytes(self._spki_der).replace(b"\n", b"")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return b"-----BEGIN PUBLIC KEY-----\n" + b"\n".join(lines) + b"\n-----END PUBLIC KEY-----\n"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VerifyingKey):
            return NotImplemented
        return self._alg is other._alg and self._spki_der == other._spki_der

    def __hash__(self) -> int:
        return hash((self._alg, self._spki_der))

    def __repr__(self) -> str:
        return f"<VerifyingKey {self._alg.label} kid={self._kid.hex()}>"


class _Ed25519VerifyingKey(VerifyingKey):
    __slots__ = ()

    def verify(self, signature: bytes, data: bytes) -> None:
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            raise BadSignature("bad signature") from None


class _P256VerifyingKey(VerifyingKey):
    __slots__ = ()
    _ECDSA = ec.ECDSA(hashes.SHA256())

    def verify(self, signature: bytes, data: bytes) -> None:
        try:
            self._key.verify(_raw_to_der(signature), data, self._ECDSA)
        except InvalidSignature:
            raise BadSignature("bad signature") from None


class _SM2VerifyingKey(VerifyingKey):
    __slots__ = ()

    def verify(self, signature: bytes, data: bytes) -> None:
        der = _raw_to_der(signature)
        try:
            self._key.verify(der, data, _sm2().sig_alg)
        except Exception:  # tongsuopy may report an out-of-range r or s as an internal error
            raise BadSignature("bad signature") from None


def _raw_to_der(signature: bytes) -> bytes:
    if len(signature) != _SIGNATURE_LENGTH:
        raise BadSignature("bad signature length")
    return encode_dss_signature(
        int.from_bytes(signature[:_SCALAR_LENGTH], "big"),
        int.from_bytes(signature[_SCALAR_LENGTH:], "big"),
    )


def _der_to_raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(_SCALAR_LENGTH, "big") + s.to_bytes(_SCALAR_LENGTH, "big")


# --------------------------------------------------------------------------------------------
# Signing keys


class SigningKey:
    """A private key and its algorithm, parsed once. ``repr`` shows no key material."""

    __slots__ = ("_alg", "_key", "_public")

    def __init__(self, alg: Algorithm, key: Any, public: VerifyingKey) -> None:
        self._alg = alg
        self._key = key
        self._public = public

    @property
    def alg(self) -> Algorithm:
        return self._alg

    @property
    def kid(self) -> bytes:
        return self._public.kid

    @property
    def public(self) -> VerifyingKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte signature over ``data`` (COSE form: r || s for ECDSA and SM2)."""
        raise NotImplementedError

    def private_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM. Store it as a secret; never log it."""
        ser = _serialization(self._alg)
        return bytes(
            self._key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
        )

    def __repr__(self) -> str:
        return f"<SigningKey {self._alg.label} kid={self.kid.hex()}>"


class _Ed25519SigningKey(SigningKey):
    __slots__ = ()

    def sign(self, data: bytes) -> bytes:
        signature: bytes = self._key.sign(data)
        return signature


class _P256SigningKey(SigningKey):
    __slots__ = ()
    _ECDSA = ec.ECDSA(hashes.SHA256())

    def sign(self, data: bytes) -> bytes:
        return _der_to_raw(self._key.sign(data, self._ECDSA))


class _SM2SigningKey(SigningKey):
    __slots__ = ()

    def sign(self, data: bytes) -> bytes:
        return _der_to_raw(bytes(self._key.sign(data, _sm2().sig_alg)))


def _serialization(alg: Algorithm) -> Any:
    """The serialization module that understands ``alg``'s key objects."""
    return _sm2().serialization if alg is Algorithm.SM2_SM3 else serialization


def _wrap_private(alg: Algorithm, key: Any) -> SigningKey:
    if alg is Algorithm.EDDSA:
        return _Ed25519SigningKey(alg, key, _wrap_public(alg, key.public_key()))
    if alg is Algorithm.ES256:
        return _P256SigningKey(alg, key, _wrap_public(alg, key.public_key()))
    return _SM2SigningKey(alg, key, _wrap_public(alg, key.public_key()))


def _wrap_public(alg: Algorithm, key: Any) -> VerifyingKey:
    if alg is Algorithm.SM2_SM3:
        ser = _sm2().serialization
        spki = bytes(key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo))
        return _SM2VerifyingKey(alg, key, spki)
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if alg is Algorithm.EDDSA:
        return _Ed25519VerifyingKey(alg, key, spki)
    return _P256VerifyingKey(alg, key, spki)


def generate_signing_key(alg: Algorithm) -> SigningKey:
    """A fresh key from the operating system's CSPRNG."""
    if alg is Algorithm.EDDSA:
        return _wrap_private(alg, ed25519.Ed25519PrivateKey.generate())
    if alg is Algorithm.ES256:
        return _wrap_private(alg, ec.generate_private_key(ec.SECP256R1()))
    if alg is Algorithm.SM2_SM3:
        sm = _sm2()
        return _wrap_private(alg, sm.ec.generate_private_key(sm.curve))
    raise TypeError(f"not an Algorithm: {alg!r}")


def signing_key_from_seed(alg: Algorithm, seed: bytes) -> SigningKey:
    """A key derived deterministically from a 32-byte ``seed``: for tests and vectors only.

    Ed25519 uses the seed as its private key (RFC 8032). ECDSA and SM2 take the scalar
    ``1 + (SHA-512("yimatong.ec-seed" || seed) mod (n - 1))`` on their curve.
    """
    if not isinstance(seed, bytes) or len(seed) != 32:
        raise ValueError("seed must be 32 bytes")
    if alg is Algorithm.EDDSA:
        return _wrap_private(alg, ed25519.Ed25519PrivateKey.from_private_bytes(seed))
    order = _P256_ORDER if alg is Algorithm.ES256 else _SM2_ORDER
    wide = int.from_bytes(hashlib.sha512(b"yimatong.ec-seed" + seed).digest(), "big")
    scalar = 1 + wide % (order - 1)
    if alg is Algorithm.ES256:
        return _wrap_private(alg, ec.derive_private_key(scalar, ec.SECP256R1()))
    if alg is Algorithm.SM2_SM3:
        sm = _sm2()
        return _wrap_private(alg, sm.ec.derive_private_key(scalar, sm.curve))
    raise TypeError(f"not an Algorithm: {alg!r}")


def load_signing_key(data: bytes) -> SigningKey:
    """Load an unencrypted PKCS#8 private key, PEM or DER; the algorithm follows the key."""
    pem = data.lstrip().startswith(b"-----BEGIN")
    try:
        if pem:
            key: Any = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except UnsupportedAlgorithm:
        if _SM2_CURVE_OID_DER not in (_pem_to_der(data) if pem else data):
            raise ValueError("unsupported private key type") from None
        ser = _sm2().serialization
        loader = ser.load_pem_private_key if pem else ser.load_der_private_key
        return _wrap_private(Algorithm.SM2_SM3, loader(data, password=None))
    return _wrap_private(_alg_of(key), key)


def load_verifying_key(data: bytes) -> VerifyingKey:
    """Load a SubjectPublicKeyInfo, PEM or DER; the algorithm follows the key (SM2 included)."""
    pem = data.lstrip().startswith(b"-----BEGIN")
    try:
        if pem:
            key: Any = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(data)
    except UnsupportedAlgorithm:
        if _SM2_CURVE_OID_DER not in (_pem_to_der(data) if pem else data):
            raise ValueError("unsupported public key type") from None
        ser = _sm2().serialization
        loader = ser.load_pem_public_key if pem else ser.load_der_public_key
        return _wrap_public(Algorithm.SM2_SM3, loader(data))
    return _wrap_public(_alg_of(key), key)


def _alg_of(key: Any) -> Algorithm:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return Algorithm.EDDSA
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
        key.curve, ec.SECP256R1
    ):
        return Algorithm.ES256
    raise ValueError(f"unsupported key type: {type(key).__name__}")


def _pem_to_der(data: bytes) -> bytes:
    lines = [line.strip() for line in data.strip().splitlines()]
    body = b"".join(line for line in lines if line and not line.startswith(b"-----"))
    try:
        return base64.b64decode(body, validate=True)
    except binascii.Error:
        raise ValueError("not a PEM document") from None


# --------------------------------------------------------------------------------------------
# Field encryption


_BLOB_VERSION = 1
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
_KEY_LENGTH = 32
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,16}")


class FieldCipher:
    """AES-256-GCM for personal fields at rest, under named keys so that keys can rotate.

    A blob describes itself::

        version (1 byte, = 1) | len(key id) (1 byte) | key id (ASCII) | nonce (12) | ct || tag (16)

    The header (version and key id) is authenticated together with the caller's ``aad``, which
    should bind the blob to where it lives (e.g. ``b"subject.name:" + sid``) so that a blob
    copied into another row or column fails to decrypt.

    GCM loses confidentiality and integrity if a nonce ever repeats under one key, so nonces
    come from ``os.urandom`` (96 random bits; rotate keys well before ~2**32 encryptions under
    one key). ``nonce_source`` exists for deterministic tests; never give it anything else.
    """

    __slots__ = ("_aeads", "_current", "_nonce_source")

    def __init__(
        self,
        keys: Mapping[str, bytes],
        current: str,
        *,
        nonce_source: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if not keys:
            raise ValueError("FieldCipher needs at least one key")
        aeads: dict[str, AESGCM] = {}
        for key_id, key in keys.items():
            if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
                raise ValueError(
                    f"key ids are 1-16 characters from A-Z a-z 0-9 . _ - (got {key_id!r})"
                )
            if not isinstance(key, bytes) or len(key) != _KEY_LENGTH:
                raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256)")
            aeads[key_id] = AESGCM(key)
        if current not in aeads:
            raise ValueError(f"current key id {current!r} is not among the keys")
        self._aeads = aeads
        self._current = current
        self._nonce_source = nonce_source

    @classmethod
    def from_spec(
        cls, spec: str, *, nonce_source: Callable[[int], bytes] = os.urandom
    ) -> FieldCipher:
        """Parse ``"k1:BASE64KEY,k0:BASE64KEY"``: the first key is the current one."""
        keys: dict[str, bytes] = {}
        current: str | None = None
        for item in spec.split(","):
            key_id, sep, encoded = item.strip().partition(":")
            if not sep:
                raise ValueError("field key spec items look like KEY_ID:BASE64KEY")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise ValueError(f"field key {key_id!r} is not valid base64") from None
            if key_id in keys:
                raise ValueError(f"field key id {key_id!r} appears twice")
            keys[key_id] = key
            current = current or key_id
        assert current is not None  # split() yields at least one item
        return cls(keys, current, nonce_source=nonce_source)

    @staticmethod
    def generate_key() -> bytes:
        return AESGCM.generate_key(bit_length=256)

    @property
    def current(self) -> str:
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._aeads)

    def encrypt(self, plaintext: str, *, aad: bytes) -> bytes:
        if not isinstance(plaintext, str):
            raise TypeError("FieldCipher encrypts text (str)")
        key_id = self._current.encode("ascii")
        header = bytes((_BLOB_VERSION, len(key_id))) + key_id
        nonce = self._nonce_source(_NONCE_LENGTH)
        if len(nonce) != _NONCE_LENGTH:
            raise ValueError("nonce_source must return 12 bytes")
        sealed = self._aeads[self._current].encrypt(nonce, plaintext.encode("utf-8"), header + aad)
        return header + nonce + sealed

    def decrypt(self, blob: bytes, *, aad: bytes) -> str:
        key_id, header_end = self._parse_header(blob)
        aead = self._aeads.get(key_id)
        if aead is None:
            raise DecryptionError(f"unknown field key id {key_id!r}")
        nonce = blob[header_end : header_end + _NONCE_LENGTH]
        try:
            plain = aead.decrypt(nonce, blob[header_end + _NONCE_LENGTH :], blob[:header_end] + aad)
            return plain.decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            raise DecryptionError("field blob failed authentication") from None

    def key_id_of(self, blob: bytes) -> str:
        return self._parse_header(blob)[0]

    def needs_reencrypt(self, blob: bytes) -> bool:
        """Whether ``blob`` was sealed under a key other than the current one."""
        return self.key_id_of(blob) != self._current

    def rotate(self, blob: bytes, *, aad: bytes) -> bytes:
        """``blob`` sealed under the current key (the same blob if it already is)."""
        if not self.needs_reencrypt(blob):
            return blob
        return self.encrypt(self.decrypt(blob, aad=aad), aad=aad)

    def _parse_header(self, blob: bytes) -> tuple[str, int]:
        if not isinstance(blob, bytes):
            raise TypeError("a field blob is bytes")
        if len(blob) < 2 or blob[0] != _BLOB_VERSION:
            raise DecryptionError("not a field blob (unknown format version)")
        end = 2 + blob[1]
        if len(blob) < end + _NONCE_LENGTH + _TAG_LENGTH:
            raise DecryptionError("field blob is truncated")
        try:
            key_id = blob[2:end].decode("ascii")
        except UnicodeDecodeError:
            raise DecryptionError("field blob has a malformed key id") from None
        return key_id, end

    def __repr__(self) -> str:
        return f"<FieldCipher current={self._current!r} keys={list(self._aeads)!r}>"
