"""Every base zkmargin commits with, from RFC 9380 hash-to-curve under one zkmargin domain tag.

``BLS12381G1_XMD:SHA-256_SSWU_RO_`` is a random oracle onto G1, so nobody knows a discrete
logarithm between any two bases:

* ``G`` (values) and ``H`` (blindings) of Pedersen commitments C = v·G + γ·H;
* the vector bases g_0, g_1, … and h_0, h_1, … of Bulletproofs.

Hash-to-curve costs about 0.2 ms a point natively, so each backend's table is computed once per
process and extended on demand. The vector bases do not depend on how many are used, so proofs of
every size share one prefix of the same table.
"""

from __future__ import annotations

import hashlib

from . import group
from .group import Point

#: The RFC 9380 domain separation tag of every zkmargin base.
DST = b"ZKMARGIN-V01-CS01-with-BLS12381G1_XMD:SHA-256_SSWU_RO_"


class GeneratorTable:
    """The bases of one backend, computed lazily and kept."""

    def __init__(self, backend_name: str) -> None:
        self.backend_name = backend_name
        with group.using(backend_name):
            self.G = group.hash_to_curve(b"pedersen/G", DST)
            self.H = group.hash_to_curve(b"pedersen/H", DST)
        self._g: list[Point] = []
        self._h: list[Point] = []
        self._digests: dict[int, bytes] = {}

    def _extend(self, count: int) -> None:
        with group.using(self.backend_name):
            for i in range(len(self._g), count):
                idx = i.to_bytes(4, "little")
                self._g.append(group.hash_to_curve(b"bulletproofs/g/" + idx, DST))
                self._h.append(group.hash_to_curve(b"bulletproofs/h/" + idx, DST))

    def g(self, count: int) -> list[Point]:
        """g_0 … g_{count-1}."""
        if count > len(self._g):
            self._extend(count)
        return self._g[:count]

    def h(self, count: int) -> list[Point]:
        """h_0 … h_{count-1}."""
        if count > len(self._h):
            self._extend(count)
        return self._h[:count]

    def digest(self, count: int) -> bytes:
        """SHA-256 over DST, G, H, count and the encodings of g_i, h_i for i < count."""
        if count not in self._digests:
            gs, hs = self.g(count), self.h(count)
            with group.using(self.backend_name):
                d = hashlib.sha256()
                d.update(len(DST).to_bytes(4, "little") + DST)
                d.update(group.encode_point(self.G) + group.encode_point(self.H))
                d.update(count.to_bytes(4, "little"))
                for gi, hi in zip(gs, hs, strict=True):
                    d.update(group.encode_point(gi) + group.encode_point(hi))
            self._digests[count] = d.digest()
        return self._digests[count]


_tables: dict[str, GeneratorTable] = {}


def table() -> GeneratorTable:
    """The generator table of the active backend."""
    name = group.backend().name
    if name not in _tables:
        _tables[name] = GeneratorTable(name)
    return _tables[name]


def pedersen_bases() -> tuple[Point, Point]:
    """(G, H): the value base and the blinding base of Pedersen commitments."""
    t = table()
    return t.G, t.H
