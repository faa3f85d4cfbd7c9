"""RFC 9162 Merkle tree: the published RFC 6962 vectors, and properties over any log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yimatong.domain.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "merkle" / "rfc6962.json").read_text()
)


def _tree() -> MerkleTree:
    return MerkleTree(leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaf_inputs"])


def _hashes(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


def test_leaf_hashes_match_the_published_vectors() -> None:
    got = [leaf_hash(bytes.fromhex(x)).hex() for x in VECTORS["leaf_inputs"]]
    assert got == VECTORS["leaf_hashes"]


def test_roots_of_every_prefix_match_the_published_vectors() -> None:
    tree = _tree()
    assert [tree.root(n).hex() for n in range(len(tree) + 1)] == VECTORS["roots"]
    assert tree.root(0) == EMPTY_ROOT


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}in{c['size']}")
def test_inclusion_paths_match_and_verify_against_the_published_vectors(case: dict) -> None:
    tree = _tree()
    path = tree.inclusion_path(case["index"], case["size"])
    assert [p.hex() for p in path] == case["path"]
    root = bytes.fromhex(VECTORS["roots"][case["size"]])
    assert verify_inclusion(case["index"], case["size"], tree.leaf(case["index"]), path, root)


@pytest.mark.parametrize(
    "case", VECTORS["consistency"], ids=lambda c: f"{c['first']}to{c['second']}"
)
def test_consistency_paths_match_and_verify_against_the_published_vectors(case: dict) -> None:
    tree = _tree()
    path = tree.consistency_path(case["first"], case["second"])
    assert [p.hex() for p in path] == case["path"]
    first, second = case["first"], case["second"]
    roots = _hashes(VECTORS["roots"])
    assert verify_consistency(first, second, roots[first], roots[second], path)


def test_edge_cases_of_consistency_follow_the_rfc() -> None:
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert verify_consistency(0, 0, a, a, [])
    assert verify_consistency(0, 5, a, b, [])  # the empty tree is a prefix of every tree
    assert verify_consistency(3, 3, a, a, [])
    assert not verify_consistency(3, 3, a, b, [])  # same size, two roots: a fork
    assert not verify_consistency(3, 3, a, a, [b])  # same size, a proof that is not empty
    assert not verify_consistency(4, 3, a, b, [])  # the log cannot shrink
    assert not verify_consistency(2, 5, a, b, [])  # a proof is needed


def test_a_single_leaf_tree_has_the_leaf_hash_as_root_and_an_empty_path() -> None:
    leaf = leaf_hash(b"data")
    tree = MerkleTree([leaf])
    assert tree.root() == leaf
    assert tree.inclusion_path(0, 1) == []
    assert verify_inclusion(0, 1, leaf, [], leaf)
    assert not verify_inclusion(0, 1, leaf, [], EMPTY_ROOT)


def test_bad_arguments_are_refused() -> None:
    tree = _tree()
    with pytest.raises(ValueError):
        tree.root(9)
    with pytest.raises(ValueError):
        tree.inclusion_path(8, 8)
    with pytest.raises(ValueError):
        tree.consistency_path(5, 4)
    with pytest.raises(ValueError):
        tree.append(b"short")
    with pytest.raises(ValueError):
        root_from_inclusion(3, 3, tree.leaf(0), [])
    assert not verify_inclusion(0, 2, tree.leaf(0), [b"short"], tree.root(2))


def _naive_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1's definition."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_naive_root(leaves[:k]), _naive_root(leaves[k:]))


entries = st.lists(st.binary(max_size=8), min_size=1, max_size=70)


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_every_leaf_proof_verifies_and_any_flipped_byte_fails(
    raw: list[bytes], data: st.DataObject
) -> None:
    leaves = [leaf_hash(e) for e in raw]
    tree = MerkleTree(leaves)
    size = data.draw(st.integers(1, len(leaves)))
    root = tree.root(size)
    assert root == _naive_root(leaves[:size])
    index = data.draw(st.integers(0, size - 1))
    path = tree.inclusion_path(index, size)
    assert verify_inclusion(index, size, leaves[index], path, root)
    # Tampering: another leaf, another index, a flipped byte anywhere in the path or the root.
    other = leaf_hash(raw[index] + b"x")
    assert not verify_inclusion(index, size, other, path, root)
    if size > 1:
        wrong = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        if leaves[wrong] != leaves[index]:  # two equal entries share a leaf hash
            assert not verify_inclusion(wrong, size, leaves[index], path, root)
    if path:
        i = data.draw(st.integers(0, len(path) - 1))
        byte = data.draw(st.integers(0, 31))
        bad = list(path)
        bad[i] = bad[i][:byte] + bytes([bad[i][byte] ^ 0x01]) + bad[i][byte + 1 :]
        assert not verify_inclusion(index, size, leaves[index], bad, root)
        assert not verify_inclusion(index, size, leaves[index], path[:-1], root)
        assert not verify_inclusion(index, size, leaves[index], [*path, root], root)
    flipped = bytes([root[0] ^ 0x80]) + root[1:]
    assert not verify_inclusion(index, size, leaves[index], path, flipped)


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_consistency_between_any_two_sizes_verifies_and_tampering_fails(
    raw: list[bytes], data: st.DataObject
) -> None:
    tree = MerkleTree(leaf_hash(e) for e in raw)
    second = data.draw(st.integers(1, len(tree)))
    first = data.draw(st.integers(1, second))
    r1, r2 = tree.root(first), tree.root(second)
    path = tree.consistency_path(first, second)
    assert verify_consistency(first, second, r1, r2, path)
    if first < second:
        assert path
        i = data.draw(st.integers(0, len(path) - 1))
        byte = data.draw(st.integers(0, 31))
        bad = list(path)
        bad[i] = bad[i][:byte] + bytes([bad[i][byte] ^ 0x01]) + bad[i][byte + 1 :]
        assert not verify_consistency(first, second, r1, r2, bad)
        assert not verify_consistency(first, second, r1, r2, path[:-1])
        forked = bytes([r1[0] ^ 0x01]) + r1[1:]
        assert not verify_consistency(first, second, forked, r2, path)
        # A log that rewrote an old entry has another root at the second size: a fork.
        rewritten = MerkleTree(leaf_hash(e) for e in raw)
        rewritten._leaves[first - 1] = leaf_hash(b"rewritten" + raw[first - 1])
        assert not verify_consistency(first, second, r1, rewritten.root(second), path)


@settings(max_examples=100, deadline=None)
@given(entries, st.data())
def test_a_compact_range_reaches_the_same_root_as_the_whole_tree(
    raw: list[bytes], data: st.DataObject
) -> None:
    leaves = [leaf_hash(e) for e in raw]
    cut = data.draw(st.integers(0, len(leaves)))
    start = CompactRange()
    for leaf in leaves[:cut]:
        start.append(leaf)
    # Kept between runs as (size, hashes), then carried on with the newer leaves only.
    resumed = CompactRange(start.size, start.hashes)
    assert resumed.root() == MerkleTree(leaves[:cut]).root()
    for leaf in leaves[cut:]:
        resumed.append(leaf)
    assert resumed.size == len(leaves)
    assert resumed.root() == MerkleTree(leaves).root()


def test_a_compact_range_refuses_hashes_that_do_not_fit_its_size() -> None:
    with pytest.raises(ValueError):
        CompactRange(3, [EMPTY_ROOT])
    with pytest.raises(ValueError):
        CompactRange(1, [b"short"])
