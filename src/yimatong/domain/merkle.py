"""The Merkle tree of a transparency log, as RFC 9162 (Certificate Transparency 2.0) §2.1 has it.

Pure functions over SHA-256, no storage and no clock:

- ``leaf_hash(entry)`` = SHA-256(0x00 ‖ entry) and ``node_hash(l, r)`` = SHA-256(0x01 ‖ l ‖ r):
  the prefixes keep a leaf from ever passing for an inner node (second preimages).
- ``MerkleTree`` holds a log's leaf hashes and answers the Merkle tree hash (MTH) of its first
  ``size`` leaves, the inclusion path of a leaf (§2.1.3.1) and the consistency path between
  two sizes (§2.1.4.1). A subtree of 2^k leaves starting at a multiple of 2^k never changes
  in an append-only log, so those hashes are kept once computed: after the first call a
  root or a proof costs O(log² n) hashes, not O(n).
- ``verify_inclusion`` and ``verify_consistency`` are the RFC's verification algorithms
  (§2.1.3.2, §2.1.4.2), written from the RFC's steps; what a client runs on a proof it was
  given.
- ``CompactRange`` is a log's right edge (the roots of its perfect subtrees, largest first):
  enough to append leaves and compute the new root without the old leaves, which is what
  ``yimatong log verify`` keeps between runs.

Why not ``pymerkle`` (7.0.0, looked at for this): its proofs are its own format (indices from
one, a path that starts with the leaf, left/right bits beside it), not RFC 9162 audit paths,
which every other log client (Go's transparency-dev/merkle, Rust's ct-merkle, a browser)
reads; its stores are its own SQLite file or memory, while each log entry here must be written
in the transaction of the change it records; and it is GPL-3.0-or-later (this package is
Apache-2.0) and pins ``cachetools`` to one exact version. The hashing and the four algorithms
are a few dozen lines and are checked against the published RFC 6962 test vectors
(tests/vectors/merkle) and by property tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "MerkleTree",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: MTH({}) = SHA-256 of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An append-only list of leaf hashes and the RFC 9162 hashes and proofs over it."""

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._leaves: list[bytes] = []
        #: (start, width) → hash, for perfect subtrees (width a power of two, start aligned)
        self._perfect: dict[tuple[int, int], bytes] = {}
        self.extend(leaves)

    def __len__(self) -> int:
        return len(self._leaves)

    def append(self, leaf: bytes) -> None:
        if len(leaf) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        self._leaves.append(leaf)

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def leaf(self, index: int) -> bytes:
        return self._leaves[index]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (all of them by default)."""
        size = len(self._leaves) if size is None else size
        self._check_size(size)
        if size == 0:
            return EMPTY_ROOT
        return self._hash(0, size)

    def inclusion_path(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), leaf side first."""
        self._check_size(size)
        if not 0 <= index < size:
            raise ValueError("the leaf index must be below the tree size")
        path: list[bytes] = []
        start, end = 0, size
        # Walk down from the root, collecting the sibling at each level; the RFC's recursion
        # appends on the way back up, so the list is reversed at the end.
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                path.append(self._hash(start + k, end))
                end = start + k
            else:
                path.append(self._hash(start, start + k))
                start += k
        return path[::-1]

    def consistency_path(self, first: int, second: int) -> list[bytes]:
        """PROOF(first, D[0:second]) (RFC 9162 §2.1.4.1); empty when first is 0 or second."""
        self._check_size(second)
        if not 0 <= first <= second:
            raise ValueError("the first size must not exceed the second")
        if first in (0, second):
            return []
        path: list[bytes] = []
        start, end, whole = 0, second, True
        m = first
        while True:
            n = end - start
            if m == n:
                if not whole:
                    path.append(self._hash(start, end))
                break
            k = _split(n)
            if m <= k:
                path.append(self._hash(start + k, end))
                end = start + k
            else:
                path.append(self._hash(start, start + k))
                start += k
                m -= k
                whole = False
        return path[::-1]

    # ---------------------------------------------------------------------- helpers
    def _check_size(self, size: int) -> None:
        if not 0 <= size <= len(self._leaves):
            raise ValueError(f"the tree has {len(self._leaves)} leaves, not {size}")

    def _hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 1 ≤ end - start."""
        width = end - start
        if width == 1:
            return self._leaves[start]
        perfect = width & (width - 1) == 0
        if perfect:
            kept = self._perfect.get((start, width))
            if kept is not None:
                return kept
        k = _split(width)
        value = node_hash(self._hash(start, start + k), self._hash(start + k, end))
        if perfect:
            self._perfect[(start, width)] = value
        return value


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root that ``path`` leads to from ``leaf`` at ``index`` in a tree of ``size``
    (RFC 9162 §2.1.3.2, steps 1-4); ValueError when the path cannot be one for them."""
    if not 0 <= index < size:
        raise ValueError("the leaf index must be below the tree size")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in path):
        raise ValueError("hashes are 32 bytes")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ValueError("the inclusion path is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the inclusion path is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """True when ``path`` proves ``leaf`` is entry ``index`` of the tree ``(size, root)``."""
    try:
        return root_from_inclusion(index, size, leaf, path) == root
    except ValueError:
        return False


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """True when ``path`` proves the tree ``(first, first_root)`` is a prefix of the tree
    ``(second, second_root)`` (RFC 9162 §2.1.4.2). A tree is consistent with itself (an
    empty path and equal roots), and the empty tree with every tree (an empty path)."""
    if not 0 <= first <= second:
        return False
    if any(len(p) != HASH_SIZE for p in path):
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if not path:
        return False
    nodes = list(path)
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a node of the second
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


class CompactRange:
    """The right edge of a log of ``size`` leaves: the roots of its perfect subtrees, largest
    first (one per set bit of ``size``). ``append`` adds a leaf, ``root`` is the MTH."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != bin(size).count("1"):
            raise ValueError("a compact range holds one hash per set bit of its size")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError("hashes are 32 bytes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        if len(leaf) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        value = leaf
        size = self.size
        # Each trailing set bit of the old size is a subtree of the new leaf's width: merge.
        while size & 1:
            value = node_hash(self.hashes.pop(), value)
            size >>= 1
        self.hashes.append(value)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            value = node_hash(h, value)
        return value
