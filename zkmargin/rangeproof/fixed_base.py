"""Fixed-base multiplication for the first inner-product rounds, by bucket accumulation.

For a fixed base P keep its powers P_j = 2^{wj}·P (j < W). For a scalar k with signed base-2^w
digits d_j ∈ [−2^{w−1} + 1, 2^{w−1}] (k = Σ d_j·2^{wj}):

    k·P = Σ_j d_j·P_j = Σ_{d≥1} d·B_d,   B_d = Σ_{j: d_j = d} P_j − Σ_{j: d_j = −d} P_j,

and Σ d·B_d costs 2·2^{w−1} additions by the running sum B_top, B_top + B_{top−1}, … . Several
(base, scalar) pairs share one set of buckets, so an output costs about one addition per nonzero
digit plus the running sum: about 49 additions for a 128-bit scalar (w = 4) and 4·49 + 32 for the
four full scalars of a second-round base (w = 5), against 128 or 255 doublings and additions for
a plain multiplication. Only additions and negations are used, so both backends run this code.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import group
from ..group import Point

# Signed recoding table: for a carry c ∈ {0, 1} and a byte b, the two base-16 digits and the carry.
_NIBBLES: tuple[tuple[tuple[int, int, int], ...], ...] = tuple(
    tuple(
        (
            lo - 16 if lo > 8 else lo,
            hi - 16 if hi > 8 else hi,
            1 if hi > 8 else 0,
        )
        for b in range(256)
        for lo in [(b & 15) + c]
        for hi in [(b >> 4) + (1 if lo > 8 else 0)]
    )
    for c in (0, 1)
)


def windows_for(bits: int, width: int) -> int:
    """Windows needed for a scalar of ``bits`` bits (one more for the final carry)."""
    return -(-bits // width) + 1


def signed_digits(k: int, width: int) -> list[int]:
    """Digits d_j with k = Σ d_j·2^{wj}, |d_j| <= 2^{w−1} (d_j > −2^{w−1}); k >= 0."""
    if k < 0:
        raise ValueError("signed_digits takes a non-negative integer")
    if width == 4:
        out: list[int] = []
        carry = 0
        for byte in k.to_bytes((k.bit_length() + 7) // 8, "little"):
            d0, d1, carry = _NIBBLES[carry][byte]
            out.append(d0)
            out.append(d1)
        if carry:
            out.append(1)
        return out
    half, mask = 1 << (width - 1), (1 << width) - 1
    out = []
    while k:
        d = k & mask
        if d > half:
            d -= 1 << width
        out.append(d)
        k = (k - d) >> width
    return out


class PowerCache:
    """Stored powers 2^{wj}·P of the generators, per backend, built on first use."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, int, int], list[Point]] = {}

    def powers(self, kind: str, index: int, base: Point, windows: int, width: int) -> list[Point]:
        """[2^{wj}·base for j < windows], cached under (backend, kind, index, width)."""
        key = (group.backend().name, kind, index, width)
        stored = self._cache.get(key)
        if stored is None:
            stored = [base]
            self._cache[key] = stored
        while len(stored) < windows:
            p = stored[-1]
            for _ in range(width):
                p = p + p
            stored.append(p)
        return stored


POWERS = PowerCache()


def combine(terms: Sequence[tuple[Sequence[Point], Sequence[int]]], offset: Point | None) -> Point:
    """offset + Σ_terms Σ_j d_j·powers_j, by shared buckets."""
    buckets: list[Point | None] = [None] * 17
    top = 0
    for powers, digits in terms:
        for p, d in zip(powers, digits, strict=False):
            if d > 0:
                b = buckets[d]
                buckets[d] = p if b is None else b + p
                if d > top:
                    top = d
            elif d < 0:
                b = buckets[-d]
                buckets[-d] = -p if b is None else b - p
                if -d > top:
                    top = -d
    run: Point | None = None
    acc: Point | None = offset
    for d in range(top, 0, -1):
        b = buckets[d]
        if b is not None:
            run = b if run is None else run + b
        if run is not None:
            acc = run if acc is None else acc + run
    return acc if acc is not None else group.identity()
