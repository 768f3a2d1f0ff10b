"""The native backend on ``py-arkworks-bls12381`` (arkworks, Rust).

``multiexp_unchecked`` silently truncates lists of unequal length and the library accepts some
non-canonical encodings, so this module is only ever reached through :mod:`zkmargin.group`,
which checks lengths and screens every untrusted byte before it gets here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

from .interface import POINT_BYTES, FieldElement, Point, R

_IDENTITY_BYTES = bytes([0xC0]) + bytes(POINT_BYTES - 1)


def _scalar(k: int) -> Scalar:
    """k mod r as the library's Scalar (via bytes: 20x cheaper than ``Scalar(int)``)."""
    return Scalar.from_le_bytes((k % R).to_bytes(32, "little"))


class NativeBackend:
    """G1 on arkworks; points are ``G1Point`` objects used directly with ``+`` and ``-``."""

    name = "native"

    def __init__(self) -> None:
        self._identity = G1Point.identity()
        self._generator = G1Point()

    def identity(self) -> Point:
        return cast(Point, self._identity)

    def generator(self) -> Point:
        return cast(Point, self._generator)

    def mul(self, point: Point, k: int) -> Point:
        return cast(Point, cast(G1Point, point) * _scalar(k))

    def msm(self, points: Sequence[Point], scalars: Sequence[int]) -> Point:
        if not points:
            return cast(Point, self._identity)
        conv = Scalar.from_le_bytes
        ks = [conv((k if 0 <= k < R else k % R).to_bytes(32, "little")) for k in scalars]
        return cast(Point, G1Point.multiexp_unchecked(cast(list[G1Point], list(points)), ks))

    def field(self, k: int) -> FieldElement:
        return cast(FieldElement, _scalar(k))

    def field_to_int(self, e: FieldElement) -> int:
        return int(cast(Scalar, e))

    def msm_field(self, points: Sequence[Point], scalars: Sequence[FieldElement]) -> Point:
        if not points:
            return cast(Point, self._identity)
        return cast(
            Point,
            G1Point.multiexp_unchecked(
                cast(list[G1Point], list(points)), cast(list[Scalar], list(scalars))
            ),
        )

    def encode(self, point: Point) -> bytes:
        data = cast(G1Point, point).to_compressed_bytes()
        return bytes(data)

    def decompress(self, data: bytes) -> Point:
        try:
            point = G1Point.from_compressed_bytes(data)
        except Exception:  # the library raises its own error types, with its own words
            raise ValueError("not a point of G1 (no curve point has this x-coordinate)") from None
        if not point.is_in_subgroup():
            raise ValueError("not in the prime-order subgroup")
        return cast(Point, point)

    def hash_to_curve(self, msg: bytes, dst: bytes) -> Point:
        return cast(Point, G1Point.hash_to_curve(msg, dst))

    def is_identity(self, point: Point) -> bool:
        return bytes(cast(G1Point, point).to_compressed_bytes()) == _IDENTITY_BYTES

    def affine(self, point: Point) -> tuple[int, int]:
        xy = cast(G1Point, point).to_xy_bytes_be()
        return int.from_bytes(xy[:48], "big"), int.from_bytes(xy[48:], "big")


class NativePairing:
    """G2 and the pairing on arkworks, for BLS signatures (reached only through
    :mod:`zkmargin.group.pairing`, which screens untrusted bytes first)."""

    name = "native"

    def g2_identity(self) -> object:
        return G2Point.identity()

    def g2_generator(self) -> object:
        return G2Point()

    def g2_add(self, a: object, b: object) -> object:
        return cast(G2Point, a) + cast(G2Point, b)

    def g2_mul(self, a: object, k: int) -> object:
        return cast(G2Point, a) * _scalar(k)

    def g2_encode(self, a: object) -> bytes:
        return bytes(cast(G2Point, a).to_compressed_bytes())

    def g2_decompress(self, data: bytes) -> object:
        try:
            point = G2Point.from_compressed_bytes(data)
        except Exception:  # the library raises its own error types, with its own words
            raise ValueError("not a point of G2 (no curve point has this x-coordinate)") from None
        if not point.is_in_subgroup():
            raise ValueError("not in the prime-order subgroup of G2")
        return point

    def hash_to_g2(self, msg: bytes, dst: bytes) -> object:
        return G2Point.hash_to_curve(msg, dst)

    def g2_affine(self, a: object) -> tuple[int, int, int, int]:
        xy = cast(G2Point, a).to_xy_bytes_be()
        c = [int.from_bytes(xy[i : i + 48], "big") for i in range(0, 192, 48)]
        return c[0], c[1], c[2], c[3]

    def pairing_check(self, g1s: Sequence[Point], g2s: Sequence[object]) -> bool:
        """Whether Π e(P_i, Q_i) = 1."""
        return bool(
            GT.pairing_check(cast(list[G1Point], list(g1s)), cast(list[G2Point], list(g2s)))
        )
