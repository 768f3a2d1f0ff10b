"""The native backend on ``py-arkworks-bls12381`` (arkworks, Rust).

``multiexp_unchecked`` silently truncates lists of unequal length and the library accepts some
non-canonical encodings, so this module is only ever reached through :mod:`zkmargin.group`,
which checks lengths and screens every untrusted byte before it gets here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from py_arkworks_bls12381 import G1Point, Scalar

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
        except Exception as exc:  # the library raises its own error types
            raise ValueError(f"not a point of G1: {exc}") from None
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
