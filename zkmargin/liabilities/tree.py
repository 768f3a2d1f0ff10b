"""The Merkle sum tree over the leaves: per-column commitments summed, and a hash binding both
children's sums and hashes (against the max attack: a node whose hash omitted a child's sum
would let the prover show each user a different sum on the way up).

    node.sums_c = left.sums_c + right.sums_c
    node.hash   = SHA-256("zkmargin-V01-liabilities-node" ‖ left.sums ‖ right.sums
                          ‖ left.hash ‖ right.hash)

Level 0 holds the 2^h leaves; level h the root. The node at (level l, index i) has children
(l − 1, 2i) and (l − 1, 2i + 1); the inclusion path of leaf p is the sibling at each level,
p ⊕ 1, then (p >> 1) ⊕ 1, and so on.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import DecodeError
from ..group import Point
from .leaf import decode_sums, encode_sums

NODE_DOMAIN = b"zkmargin-V01-liabilities-node"


@dataclass(frozen=True)
class Node:
    """A node or leaf: its per-column commitments and its hash."""

    sums: tuple[Point, ...]
    hash: bytes

    def sums_bytes(self) -> bytes:
        return encode_sums(self.sums)

    @classmethod
    def decode(cls, sums: bytes, hash_: bytes, columns: int) -> Node:
        """From stored bytes, or raise :class:`DecodeError`."""
        if len(hash_) != 32:
            raise DecodeError("a node hash is 32 bytes")
        return cls(tuple(decode_sums(sums, columns)), bytes(hash_))


def node_hash(left_sums: bytes, right_sums: bytes, left_hash: bytes, right_hash: bytes) -> bytes:
    return hashlib.sha256(NODE_DOMAIN + left_sums + right_sums + left_hash + right_hash).digest()


def parent(left: Node, right: Node) -> Node:
    """The parent of two siblings."""
    sums = tuple(a + b for a, b in zip(left.sums, right.sums, strict=True))
    return Node(sums, node_hash(left.sums_bytes(), right.sums_bytes(), left.hash, right.hash))


def build_levels(nodes: Sequence[Node], levels: int) -> list[list[Node]]:
    """Levels 1..``levels`` above ``nodes`` (a power of two of them, at least 2^levels)."""
    out: list[list[Node]] = []
    cur = list(nodes)
    for _ in range(levels):
        cur = [parent(cur[i], cur[i + 1]) for i in range(0, len(cur), 2)]
        out.append(cur)
    return out


def root_from_path(leaf: Node, position: int, path: Sequence[Node]) -> Node:
    """The root a leaf at ``position`` reaches through the siblings ``path`` (bottom up)."""
    cur = leaf
    for level, sibling in enumerate(path):
        right = (position >> level) & 1
        cur = parent(sibling, cur) if right else parent(cur, sibling)
    return cur


def sibling_index(position: int, level: int) -> int:
    """The index at ``level`` of the sibling on leaf ``position``'s path."""
    return (position >> level) ^ 1


def subtree_height(height: int, workers: int) -> int:
    """The height k of the subtrees the nodes are built in, one task each: about four subtrees
    per worker (one subtree, the whole tree but its root, with one worker). Levels k + 1 … h
    are built from their roots."""
    split = 0 if workers == 1 else math.ceil(math.log2(4 * workers))
    return height - max(0, min(split, height - 1))
