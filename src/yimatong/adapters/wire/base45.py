"""Base45 (RFC 9285), tuned for the verification hot path.

Why not the ``base45`` package (which the tests use as the reference)? Its decoder walks the
string in Python, one triplet at a time: ~24 µs for a typical 300-character code, about a
third of an Ed25519 verification (~64 µs). This decoder does the arithmetic for all triplets
at once with big-integer lanes and runs in ~5 µs; the encoder looks every 16-bit word up in a
65,536-entry table of its three characters (~4 MiB, made at the first encode, so verifiers that
never encode never pay for it) and runs in ~4 µs instead of ~25 µs (``benchmarks/bench_verify.py``
measures both). Both refuse what RFC 9285 §4 calls invalid: characters outside the alphabet, a
dangling single character, and triplets worth more than 0xFFFF (pairs more than 0xFF).
"""

from __future__ import annotations

import struct

__all__ = ["ALPHABET", "b45decode", "b45encode", "encoded_length"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

_INVALID = 0xFF
# bytes.translate table: an ASCII character to its value 0..44, anything else to 0xFF.
_VALUE_OF = bytes(ALPHABET.index(chr(i)) if chr(i) in ALPHABET else _INVALID for i in range(256))
# For a 16-bit value x = c + 45*d + 2025*e, _PAIRS[x % 2025] is the first two characters (c, d).
_PAIRS = [ALPHABET[i % 45] + ALPHABET[i // 45] for i in range(45 * 45)]
# _TRIPLETS[x] is all three characters of x, so that encoding is one lookup a word. Verifiers
# only decode, so it is made when a node first encodes.
_TRIPLETS: list[str] | None = None


def encoded_length(n: int) -> int:
    """Characters in the base45 encoding of ``n`` bytes."""
    return 3 * (n // 2) + 2 * (n % 2)


def _triplets() -> list[str]:
    """The three characters of every 16-bit value, made at the first encode (~4 MiB)."""
    global _TRIPLETS
    if _TRIPLETS is None:
        _TRIPLETS = [pair + last for last in ALPHABET[:33] for pair in _PAIRS][:0x10000]
    return _TRIPLETS


def b45encode(data: bytes) -> str:
    n = len(data)
    even = n & ~1
    words = struct.unpack(f">{even // 2}H", data[:even])
    text = "".join(map(_triplets().__getitem__, words))
    return text + _PAIRS[data[-1]] if n & 1 else text


def b45decode(text: str) -> bytes:
    """Decode ``text``; raise ValueError if it is not canonical base45."""
    try:
        values = text.encode("ascii").translate(_VALUE_OF)
    except UnicodeEncodeError:
        raise ValueError("invalid base45: non-ASCII character") from None
    groups, rest = divmod(len(values), 3)
    if rest == 1:
        raise ValueError("invalid base45: dangling character")
    if _INVALID in values:
        raise ValueError("invalid base45: character outside the alphabet")
    full = 3 * groups
    # Put the first, second and third digit of every triplet in its own 32-bit lane of a big
    # integer; then one multiply-add computes every triplet's value c + 45*d + 2025*e at once
    # (at most 91124, so lanes never carry into each other).
    lanes = bytearray(4 * groups)
    lanes[3::4] = values[0:full:3]
    first = int.from_bytes(lanes, "big")
    lanes[3::4] = values[1:full:3]
    second = int.from_bytes(lanes, "big")
    lanes[3::4] = values[2:full:3]
    third = int.from_bytes(lanes, "big")
    words = (first + 45 * second + 2025 * third).to_bytes(4 * groups, "big")
    if words[0::4].count(0) != groups or words[1::4].count(0) != groups:
        raise ValueError("invalid base45: triplet value above 0xFFFF")
    out = bytearray(2 * groups + (rest >> 1))
    out[0 : 2 * groups : 2] = words[2::4]
    out[1 : 2 * groups : 2] = words[3::4]
    if rest:
        last = values[full] + 45 * values[full + 1]
        if last > 0xFF:
            raise ValueError("invalid base45: pair value above 0xFF")
        out[-1] = last
    return bytes(out)
