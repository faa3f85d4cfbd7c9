"""Keys, signatures, kids and field encryption (yimatong.adapters.crypto).

Where a published vector exists the test uses it (RFC 8032 for Ed25519, RFC 4231 for HMAC,
GB/T 32905 for SM3); SM2 is checked against an independent pure-Python verifier below, since
the user ID that goes into SM2's Z value is what interoperating implementations get wrong.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from yimatong.adapters import crypto
from yimatong.adapters.crypto import (
    SM2_MISSING,
    Algorithm,
    BadSignature,
    DecryptionError,
    FieldCipher,
    SigningKey,
    compute_kid,
    generate_signing_key,
    hmac_sha256,
    load_signing_key,
    load_verifying_key,
    signing_key_from_seed,
)

ALL_ALGS = [
    Algorithm.EDDSA,
    Algorithm.ES256,
    Algorithm.SM2_SM3,
]


@pytest.fixture(params=ALL_ALGS, ids=lambda a: a.label)
def alg(request: pytest.FixtureRequest) -> Algorithm:
    value: Algorithm = request.param
    if value is Algorithm.SM2_SM3:
        pytest.importorskip("tongsuopy")
    return value


@pytest.fixture
def key(alg: Algorithm) -> SigningKey:
    return generate_signing_key(alg)


# --------------------------------------------------------------------------------------------
# Algorithms and kids


def test_cose_identifiers() -> None:
    assert Algorithm.EDDSA.value == -8
    assert Algorithm.ES256.value == -7
    assert Algorithm.SM2_SM3.value < -65536  # private use (RFC 9053 registry rules)
    assert {a.label for a in Algorithm} == {"EdDSA", "ES256", "SM2-SM3"}
    for a in Algorithm:
        assert Algorithm.from_label(a.label) is a
    with pytest.raises(ValueError, match="unknown algorithm"):
        Algorithm.from_label("RS256")


def test_kid_is_sha256_of_spki_truncated(key: SigningKey) -> None:
    spki = key.public.spki_der()
    assert key.kid == key.public.kid == compute_kid(spki) == hashlib.sha256(spki).digest()[:8]


def test_compute_kid_on_a_fixed_input() -> None:
    assert compute_kid(b"") == bytes.fromhex("e3b0c44298fc1c14")


# --------------------------------------------------------------------------------------------
# Signatures


def test_sign_verify_round_trip(key: SigningKey) -> None:
    signature = key.sign(b"message")
    assert len(signature) == 64  # raw r || s (or Ed25519 R || S), never DER
    key.public.verify(signature, b"message")


def test_wrong_data_or_key_fails(key: SigningKey, alg: Algorithm) -> None:
    signature = key.sign(b"message")
    with pytest.raises(BadSignature):
        key.public.verify(signature, b"messagE")
    with pytest.raises(BadSignature):
        generate_signing_key(alg).public.verify(signature, b"message")


def test_malformed_signatures_fail_cleanly(key: SigningKey) -> None:
    good = key.sign(b"m")
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    candidates = [
        b"",
        good[:-1],
        good + b"\x00",
        bytes(64),
        b"\xff" * 64,
        good[:32] + bytes(32),
        bytes(32) + good[32:],
        order.to_bytes(32, "big") + good[32:],
    ]
    candidates += [good[:i] + bytes([good[i] ^ 0x01]) + good[i + 1 :] for i in range(64)]
    for bad in candidates:
        with pytest.raises(BadSignature):
            key.public.verify(bad, b"m")


def test_ed25519_rfc8032_test_1() -> None:
    secret = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = signing_key_from_seed(Algorithm.EDDSA, secret)
    public_raw = key.public.spki_der()[-32:]
    assert public_raw.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert key.sign(b"").hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555"
        "fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


def test_es256_signature_is_raw_r_s_that_cryptography_accepts_as_der() -> None:
    key = generate_signing_key(Algorithm.ES256)
    signature = key.sign(b"data")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public = serialization.load_der_public_key(key.public.spki_der())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(encode_dss_signature(r, s), b"data", ec.ECDSA(hashes.SHA256()))


def test_seeded_keys_are_deterministic(alg: Algorithm) -> None:
    a = signing_key_from_seed(alg, bytes(range(32)))
    b = signing_key_from_seed(alg, bytes(range(32)))
    c = signing_key_from_seed(alg, bytes(range(1, 33)))
    assert a.kid == b.kid != c.kid
    assert a.public == b.public
    b.public.verify(a.sign(b"x"), b"x")


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        signing_key_from_seed(Algorithm.EDDSA, b"short")


def test_repr_shows_no_key_material(key: SigningKey) -> None:
    text = repr(key) + repr(key.public)
    assert key.kid.hex() in text
    assert b"PRIVATE" not in text.encode()
    assert base64.b64encode(key.public.spki_der()).decode()[:20] not in text


# --------------------------------------------------------------------------------------------
# Serialisation


def test_private_pem_round_trip(key: SigningKey) -> None:
    pem = key.private_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    again = load_signing_key(pem)
    assert again.alg is key.alg
    assert again.kid == key.kid
    key.public.verify(again.sign(b"z"), b"z")


def test_public_key_loads_from_pem_and_der(key: SigningKey) -> None:
    for data in (key.public.public_pem(), key.public.spki_der()):
        loaded = load_verifying_key(data)
        assert loaded == key.public
        assert loaded.alg is key.alg
        assert loaded.kid == key.kid
        loaded.verify(key.sign(b"y"), b"y")
    assert len({key.public, load_verifying_key(key.public.public_pem())}) == 1


def test_private_der_loads_too() -> None:
    key = generate_signing_key(Algorithm.ES256)
    der = serialization.load_pem_private_key(key.private_pem(), None).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert load_signing_key(der).kid == key.kid


def test_public_pem_matches_cryptography() -> None:
    key = generate_signing_key(Algorithm.EDDSA)
    ours = key.public.public_pem()
    theirs = serialization.load_der_public_key(key.public.spki_der()).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert ours == theirs


@pytest.mark.parametrize(
    "private",
    [
        ec.generate_private_key(ec.SECP384R1()),
        rsa.generate_private_key(public_exponent=65537, key_size=1024),
    ],
    ids=["p384", "rsa"],
)
def test_other_key_types_are_refused(private: ec.EllipticCurvePrivateKey) -> None:
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="unsupported"):
        load_signing_key(pem)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="unsupported"):
        load_verifying_key(public_pem)


def test_garbage_is_not_a_key() -> None:
    with pytest.raises(ValueError):
        load_verifying_key(b"not a key")
    with pytest.raises(ValueError):
        load_signing_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


# --------------------------------------------------------------------------------------------
# SM2 specifics

# GB/T 32918.5 curve parameters, for the independent verifier.
SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_G = (
    0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)


def sm3(data: bytes) -> bytes:
    """SM3 (GB/T 32905-2016), straight from the standard; slow and independent of tongsuopy."""

    def rotl(x: int, n: int) -> int:
        n %= 32
        return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF

    def p0(x: int) -> int:
        return x ^ rotl(x, 9) ^ rotl(x, 17)

    def p1(x: int) -> int:
        return x ^ rotl(x, 15) ^ rotl(x, 23)

    v = [
        0x7380166F,
        0x4914B2B9,
        0x172442D7,
        0xDA8A0600,
        0xA96F30BC,
        0x163138AA,
        0xE38DEE4D,
        0xB0FB0E4E,
    ]
    padded = data + b"\x80" + bytes((55 - len(data)) % 64) + (8 * len(data)).to_bytes(8, "big")
    for block in range(0, len(padded), 64):
        w = [int.from_bytes(padded[block + 4 * i : block + 4 * i + 4], "big") for i in range(16)]
        for j in range(16, 68):
            w.append(p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6])
        w1 = [w[j] ^ w[j + 4] for j in range(64)]
        a, b, c, d, e, f, g, h = v
        for j in range(64):
            t = 0x79CC4519 if j < 16 else 0x7A879D8A
            ss1 = rotl((rotl(a, 12) + e + rotl(t, j)) & 0xFFFFFFFF, 7)
            ss2 = ss1 ^ rotl(a, 12)
            ff = (a ^ b ^ c) if j < 16 else ((a & b) | (a & c) | (b & c))
            gg = (e ^ f ^ g) if j < 16 else ((e & f) | (~e & g))
            tt1 = (ff + d + ss2 + w1[j]) & 0xFFFFFFFF
            tt2 = (gg + h + ss1 + w[j]) & 0xFFFFFFFF
            a, b, c, d = tt1, a, rotl(b, 9), c
            e, f, g, h = p0(tt2), e, rotl(f, 19), g
        v = [x ^ y for x, y in zip(v, [a, b, c, d, e, f, g, h], strict=True)]
    return b"".join(x.to_bytes(4, "big") for x in v)


def test_sm3_reference_matches_the_standard() -> None:
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3(b"abcd" * 16).hex() == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def _ec_add(p: tuple[int, int] | None, q: tuple[int, int] | None) -> tuple[int, int] | None:
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % SM2_P == 0:
        return None
    if p == q:
        slope = (3 * p[0] * p[0] + SM2_A) * pow(2 * p[1], -1, SM2_P) % SM2_P
    else:
        slope = (q[1] - p[1]) * pow(q[0] - p[0], -1, SM2_P) % SM2_P
    x = (slope * slope - p[0] - q[0]) % SM2_P
    return x, (slope * (p[0] - x) - p[1]) % SM2_P


def _ec_mul(k: int, point: tuple[int, int]) -> tuple[int, int] | None:
    result: tuple[int, int] | None = None
    addend: tuple[int, int] | None = point
    while k:
        if k & 1:
            result = _ec_add(result, addend)
        addend = _ec_add(addend, addend)
        k >>= 1
    return result


def sm2_verify_reference(
    public_xy: tuple[int, int], user_id: bytes, msg: bytes, sig: bytes
) -> bool:
    """GB/T 32918.2 §7 verification, e = SM3(Z || M) with Z from ``user_id``."""

    def b32(v: int) -> bytes:
        return v.to_bytes(32, "big")

    z = sm3(
        (8 * len(user_id)).to_bytes(2, "big")
        + user_id
        + b"".join(b32(v) for v in (SM2_A, SM2_B, *SM2_G, *public_xy))
    )
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if not (0 < r < SM2_N and 0 < s < SM2_N):
        return False
    t = (r + s) % SM2_N
    point = _ec_add(_ec_mul(s, SM2_G), _ec_mul(t, public_xy))
    assert point is not None
    e = int.from_bytes(sm3(z + msg), "big")
    return (e + point[0]) % SM2_N == r


def test_sm2_signs_with_sm3_and_the_default_user_id() -> None:
    pytest.importorskip("tongsuopy")
    key = signing_key_from_seed(Algorithm.SM2_SM3, bytes(32))
    spki = key.public.spki_der()
    assert spki[-65] == 0x04  # uncompressed point at the end of the SPKI
    xy = (int.from_bytes(spki[-64:-32], "big"), int.from_bytes(spki[-32:], "big"))
    msg = b"yimatong SM2 interop check"
    signature = key.sign(msg)
    assert sm2_verify_reference(xy, b"1234567812345678", msg, signature)
    assert crypto.SM2_DEFAULT_USER_ID == b"1234567812345678"
    assert not sm2_verify_reference(xy, b"", msg, signature)
    assert not sm2_verify_reference(xy, b"1234567812345678", msg + b"!", signature)


def test_sm2_keys_are_ordinary_spki_with_the_sm2_curve() -> None:
    pytest.importorskip("tongsuopy")
    key = generate_signing_key(Algorithm.SM2_SM3)
    spki = key.public.spki_der()
    assert bytes.fromhex("06072a8648ce3d0201") in spki  # id-ecPublicKey
    assert bytes.fromhex("06082a811ccf5501822d") in spki  # curve 1.2.156.10197.1.301
    assert load_verifying_key(key.public.public_pem()).alg is Algorithm.SM2_SM3


@pytest.fixture
def without_tongsuopy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [m for m in sys.modules if m == "tongsuopy" or m.startswith("tongsuopy.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "tongsuopy", None)
    crypto._sm2.cache_clear()
    yield
    crypto._sm2.cache_clear()


@pytest.mark.usefixtures("without_tongsuopy")
def test_sm2_without_the_extra_says_how_to_get_it() -> None:
    with pytest.raises(RuntimeError) as excinfo:
        generate_signing_key(Algorithm.SM2_SM3)
    assert (
        str(excinfo.value)
        == SM2_MISSING
        == ("SM2 needs the optional 'sm' extra: pip install 'yimatong[sm]'")
    )
    with pytest.raises(RuntimeError, match="yimatong\\[sm\\]"):
        signing_key_from_seed(Algorithm.SM2_SM3, bytes(32))
    # Ed25519 and P-256 never need it.
    generate_signing_key(Algorithm.EDDSA).sign(b"fine")


# --------------------------------------------------------------------------------------------
# HMAC


def test_hmac_sha256_rfc4231_case_2() -> None:
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


# --------------------------------------------------------------------------------------------
# Field encryption

K1 = bytes(range(32))
K0 = bytes(range(32, 64))


def cipher(**kwargs: object) -> FieldCipher:
    return FieldCipher({"k1": K1, "k0": K0}, "k1", **kwargs)  # type: ignore[arg-type]


def test_field_round_trip() -> None:
    c = cipher()
    blob = c.encrypt("张三 330106199001011234", aad=b"subject.name:abc")
    assert c.decrypt(blob, aad=b"subject.name:abc") == "张三 330106199001011234"
    assert "张三".encode() not in blob


def test_field_blob_layout() -> None:
    c = cipher(nonce_source=lambda n: b"\x07" * n)
    blob = c.encrypt("x", aad=b"")
    assert blob[0] == 1
    assert blob[1] == 2
    assert blob[2:4] == b"k1"
    assert blob[4:16] == b"\x07" * 12
    assert len(blob) == 4 + 12 + 1 + 16
    assert c.key_id_of(blob) == "k1"


def test_only_text_is_encrypted() -> None:
    with pytest.raises(TypeError, match="str"):
        cipher().encrypt(b"bytes", aad=b"")  # type: ignore[arg-type]


def test_nonces_are_fresh() -> None:
    c = cipher()
    assert c.encrypt("same", aad=b"") != c.encrypt("same", aad=b"")


def test_nonce_source_must_give_twelve_bytes() -> None:
    with pytest.raises(ValueError, match="12 bytes"):
        cipher(nonce_source=lambda n: b"short").encrypt("x", aad=b"")


def test_aad_mismatch_fails() -> None:
    c = cipher()
    blob = c.encrypt("secret", aad=b"row:1")
    with pytest.raises(DecryptionError, match="authentication"):
        c.decrypt(blob, aad=b"row:2")


def test_any_tampering_fails() -> None:
    c = cipher()
    blob = c.encrypt("secret", aad=b"a")
    for i in range(len(blob)):
        tampered = blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :]
        with pytest.raises(DecryptionError):
            c.decrypt(tampered, aad=b"a")
    for cut in (0, 1, 3, len(blob) - 1):
        with pytest.raises(DecryptionError):
            c.decrypt(blob[:cut], aad=b"a")


def test_relabelled_key_id_fails_even_with_the_right_key() -> None:
    # Same key material under two ids: the header is authenticated, so relabelling fails.
    c = FieldCipher({"k1": K1, "k2": K1}, "k1")
    blob = c.encrypt("secret", aad=b"")
    relabelled = blob[:3] + b"2" + blob[4:]
    assert c.key_id_of(relabelled) == "k2"
    with pytest.raises(DecryptionError):
        c.decrypt(relabelled, aad=b"")


def test_rotation() -> None:
    old = FieldCipher({"k0": K0}, "k0")
    old_blob = old.encrypt("before", aad=b"r")
    new = FieldCipher.from_spec(
        f"k1:{base64.b64encode(K1).decode()}, k0:{base64.b64encode(K0).decode()}"
    )
    assert new.current == "k1"
    assert new.key_ids == ("k1", "k0")
    assert new.decrypt(old_blob, aad=b"r") == "before"
    assert new.needs_reencrypt(old_blob)
    fresh = new.encrypt("after", aad=b"r")
    assert new.key_id_of(fresh) == "k1"
    assert not new.needs_reencrypt(fresh)
    rotated = new.rotate(old_blob, aad=b"r")
    assert new.key_id_of(rotated) == "k1"
    assert new.decrypt(rotated, aad=b"r") == "before"
    assert new.rotate(fresh, aad=b"r") is fresh


def test_unknown_key_id() -> None:
    blob = FieldCipher({"k9": K1}, "k9").encrypt("x", aad=b"")
    with pytest.raises(DecryptionError, match="unknown field key id 'k9'"):
        cipher().decrypt(blob, aad=b"")


@pytest.mark.parametrize(
    ("keys", "current", "message"),
    [
        ({}, "k1", "at least one"),
        ({"k1": K1[:16]}, "k1", "32 bytes"),
        ({"k:1": K1}, "k:1", "key ids"),
        ({"x" * 17: K1}, "x" * 17, "key ids"),
        ({"": K1}, "", "key ids"),
        ({"k1": K1}, "k2", "not among"),
    ],
)
def test_bad_cipher_configuration(keys: dict[str, bytes], current: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FieldCipher(keys, current)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "KEY_ID:BASE64KEY"),
        ("k1", "KEY_ID:BASE64KEY"),
        ("k1:!!!!", "not valid base64"),
        (f"k1:{base64.b64encode(K1).decode()},k1:{base64.b64encode(K0).decode()}", "twice"),
        ("k1:" + base64.b64encode(b"short").decode(), "32 bytes"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FieldCipher.from_spec(spec)


def test_generated_keys_are_random_32_bytes() -> None:
    a, b = FieldCipher.generate_key(), FieldCipher.generate_key()
    assert len(a) == len(b) == 32
    assert a != b


def test_cipher_repr_hides_keys() -> None:
    text = repr(cipher())
    assert "k1" in text
    assert K1.hex() not in text
    assert base64.b64encode(K1).decode() not in text


def test_ed25519_keys_interoperate_with_cryptography() -> None:
    raw = ed25519.Ed25519PrivateKey.generate()
    pem = raw.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = load_signing_key(pem)
    assert key.alg is Algorithm.EDDSA
    raw.public_key().verify(key.sign(b"m"), b"m")
