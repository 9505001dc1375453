"""The Merkle algorithms agree with RFC 6962's published vectors, and every proof they make verifies."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arrears import merkle

# Certificate Transparency's reference leaves and the root of each tree size 1..8.
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
HASHES = merkle.LeafList([merkle.leaf_hash(leaf) for leaf in LEAVES])


def test_the_empty_tree_and_the_reference_roots() -> None:
    assert merkle.root(HASHES, 0) == hashlib.sha256(b"").digest()
    assert [merkle.root(HASHES, n).hex() for n in range(1, 9)] == ROOTS


def test_the_reference_inclusion_proofs() -> None:
    for (index, size), expected in INCLUSION.items():
        path = merkle.inclusion_path(HASHES, index, size)
        assert [p.hex() for p in path] == expected
        assert merkle.verify_inclusion(
            HASHES.leaves[index], index, size, path, bytes.fromhex(ROOTS[size - 1])
        )


def test_the_reference_consistency_proofs() -> None:
    for (old, new), expected in CONSISTENCY.items():
        path = merkle.consistency_path(HASHES, old, new)
        assert [p.hex() for p in path] == expected
        old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
        assert merkle.verify_consistency(old, new, old_root, new_root, path)
        assert not merkle.verify_consistency(old, new, new_root, old_root, path)


def test_the_frontier_grows_the_same_roots_and_reports_completed_subtrees() -> None:
    frontier = merkle.Frontier()
    completed: dict[tuple[int, int], bytes] = {}
    for n, leaf in enumerate(HASHES.leaves, start=1):
        for level, index, digest in frontier.append(leaf):
            completed[(level, index)] = digest
        assert frontier.root().hex() == ROOTS[n - 1]
    assert completed[(3, 0)].hex() == ROOTS[7] and completed[(2, 0)].hex() == ROOTS[3]
    again = merkle.Frontier.load(merkle.Known(completed), 7)
    assert again.root().hex() == ROOTS[6]


def test_a_recorded_source_asks_for_logarithmically_many_subtrees() -> None:
    recorder = merkle.Recorder()
    merkle.inclusion_path(recorder, 123_456, 1_000_000)
    merkle.root(recorder, 1_000_000)
    assert len(recorder.wanted) < 60


def _tree(size: int) -> merkle.LeafList:
    return merkle.LeafList([merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)])


def _flip(path: list[bytes], at: int) -> list[bytes]:
    tampered = list(path)
    tampered[at] = bytes([tampered[at][0] ^ 1]) + tampered[at][1:]
    return tampered


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_every_inclusion_proof_verifies_and_a_tampered_one_fails(case: tuple[int, int]) -> None:
    size, index = case
    tree = _tree(size)
    top = merkle.root(tree, size)
    path = merkle.inclusion_path(tree, index, size)
    leaf = tree.leaves[index]
    assert merkle.verify_inclusion(leaf, index, size, path, top)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, size, path, top)
    for at in range(len(path)):
        assert not merkle.verify_inclusion(leaf, index, size, _flip(path, at), top)
    if size > 1:
        other = (index + 1) % size
        assert not merkle.verify_inclusion(leaf, other, size, path, top)
    assert not merkle.verify_inclusion(leaf, index, size, path, merkle.root(tree, size - 1))
    assert not merkle.verify_inclusion(leaf, index, size, [*path, top], top)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_every_consistency_proof_verifies_and_a_tampered_one_fails(case: tuple[int, int]) -> None:
    old, new = case
    tree = _tree(new)
    old_root, new_root = merkle.root(tree, old), merkle.root(tree, new)
    path = merkle.consistency_path(tree, old, new)
    assert merkle.verify_consistency(old, new, old_root, new_root, path)
    for at in range(len(path)):
        assert not merkle.verify_consistency(old, new, old_root, new_root, _flip(path, at))
    forged = merkle.leaf_hash(b"forged")
    if old < new:
        assert not merkle.verify_consistency(old, new, forged, new_root, path)
        assert not merkle.verify_consistency(old, new, old_root, forged, path)
        assert not merkle.verify_consistency(old, new, old_root, new_root, path[:-1])
        # a rewritten leaf below the old size changes the old root: the old head no longer fits
        rewritten = merkle.LeafList([forged, *tree.leaves[1:]])
        assert not merkle.verify_consistency(
            old, new, old_root, merkle.root(rewritten, new), merkle.consistency_path(rewritten, old, new)
        )


def test_out_of_range_requests_are_refused() -> None:
    with pytest.raises(ValueError):
        merkle.inclusion_path(HASHES, 8, 8)
    with pytest.raises(ValueError):
        merkle.consistency_path(HASHES, 5, 4)
    with pytest.raises(LookupError):
        merkle.Known({}).perfect(3, 0)
