"""Merkle tree algorithms of RFC 9162 (Certificate Transparency 2.0) over leaf hashes: pure, no I/O.

The tree is read through a `NodeSource` that returns the hash of an aligned perfect subtree
(2**level leaves starting at index * 2**level). Every subtree the RFC's recursion visits is
either such a perfect subtree or splits into them, so a store that keeps perfect subtrees (or
the leaves under them) answers any root or proof with O(log n) look-ups, never a full scan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_PLACEHOLDER = bytes(HASH_BYTES)


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 2.1.1: HASH(0x00 || leaf)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 2.1.1: HASH(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where the RFC splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    """Hashes of aligned perfect subtrees of one tree."""

    def perfect(self, level: int, index: int) -> bytes:
        """The hash over leaves [index * 2**level, (index + 1) * 2**level)."""
        ...


class LeafList:
    """A source over leaf hashes held in memory (tests, small trees)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves

    def perfect(self, level: int, index: int) -> bytes:
        if level == 0:
            return self.leaves[index]
        return node_hash(self.perfect(level - 1, 2 * index), self.perfect(level - 1, 2 * index + 1))


@dataclass
class Recorder:
    """A source that answers nothing but notes what was asked, so that a store can fetch it all
    in one round trip and the computation run again over the answers. The recursion's shape
    depends on sizes and indexes only, never on hash values."""

    wanted: set[tuple[int, int]] = field(default_factory=set)

    def perfect(self, level: int, index: int) -> bytes:
        self.wanted.add((level, index))
        return _PLACEHOLDER


@dataclass
class Known:
    """A source over hashes fetched beforehand, keyed by (level, index)."""

    nodes: dict[tuple[int, int], bytes]

    def perfect(self, level: int, index: int) -> bytes:
        try:
            return self.nodes[(level, index)]
        except KeyError:
            raise LookupError(f"the tree has no stored subtree at level {level}, index {index}") from None


def subtree_hash(source: NodeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces (perfect parts are aligned)."""
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return source.perfect(level, start >> level)
    k = split(n)
    return node_hash(subtree_hash(source, start, start + k), subtree_hash(source, start + k, end))


def root(source: NodeSource, size: int) -> bytes:
    """The tree hash of the first `size` leaves."""
    return subtree_hash(source, 0, size)


def inclusion_path(source: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 6962 2.1.1 PATH(m, D[n]): the audit path of leaf `index` in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split(end - start)
        if m < k:
            path.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(source, start, start + k))
            start, m = start + k, m - k
    path.reverse()  # the recursion appends from the root down; the path runs from the leaf up
    return path


def consistency_path(source: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """RFC 6962 2.1.2 PROOF(m, D[n]): that the tree of `new_size` leaves extends the one of `old_size`."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"a tree of {new_size} leaves cannot extend one of {old_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                proof.append(subtree_hash(source, start, end))
            break
        k = split(n)
        if m <= k:
            proof.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(source, start, start + k))
            start, m, whole = start + k, m - k, False
    proof.reverse()
    return proof


def _shift_until_set(fn: int, sn: int) -> tuple[int, int]:
    while fn & 1 == 0 and fn != 0:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def root_from_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2 steps 1-5: the root a proof leads to, or None if its shape is wrong."""
    if not 0 <= index < size or any(len(p) != HASH_BYTES for p in path):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                fn, sn = _shift_until_set(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root_hash: bytes) -> bool:
    """Whether `path` proves leaf hash `leaf` at `index` in the tree of `size` leaves with `root_hash`."""
    return root_from_inclusion(leaf, index, size, path) == root_hash


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: whether `path` proves the tree (new_size, new_root) extends (old_size, old_root)."""
    if not 0 <= old_size <= new_size or any(len(c) != HASH_BYTES for c in path):
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if old_size == 0:
        return not path  # every tree extends the empty one
    if not path:
        return False
    nodes = list(path)
    if old_size & (old_size - 1) == 0:
        nodes.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                fn, sn = _shift_until_set(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def decomposition(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index), largest first, whose leaves are the first `size`."""
    parts, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            parts.append((level, start >> level))
            start += 1 << level
    return parts


@dataclass
class Frontier:
    """The right edge of a growing tree (a compact range): the perfect subtrees of its decomposition.

    Appending a leaf merges equal subtrees and reports each perfect subtree it completes, so that
    a store can keep them; the root folds the edge from the right, as MTH splits.
    """

    size: int = 0
    edge: list[bytes] = field(default_factory=list)

    @classmethod
    def load(cls, source: NodeSource, size: int) -> Frontier:
        """The frontier of the first `size` leaves of a stored tree."""
        return cls(size, [source.perfect(level, index) for level, index in decomposition(size)])

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf hash; return the perfect subtrees (level, index, hash) it completed, leaf included."""
        index = self.size
        completed = [(0, index, leaf)]
        self.edge.append(leaf)
        self.size += 1
        level, position = 0, index
        while position & 1:
            right = self.edge.pop()
            left = self.edge.pop()
            level, position = level + 1, position >> 1
            merged = node_hash(left, right)
            self.edge.append(merged)
            completed.append((level, position, merged))
        return completed

    def root(self) -> bytes:
        """MTH over every leaf appended so far."""
        if not self.edge:
            return EMPTY_ROOT
        r = self.edge[-1]
        for h in reversed(self.edge[:-1]):
            r = node_hash(h, r)
        return r
