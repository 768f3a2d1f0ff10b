"""The reference backend on ``py_ecc`` (pure Python): slow, simple, the yardstick.

py_ecc's decompression does not check subgroup membership, so :meth:`decompress` adds the check
r·P = O itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, cast

from py_ecc.bls.hash_to_curve import hash_to_G1, hash_to_G2
from py_ecc.bls.point_compression import compress_G1, compress_G2, decompress_G1, decompress_G2
from py_ecc.bls.typing import G1Compressed, G2Compressed
from py_ecc.fields import optimized_bls12_381_FQ12 as FQ12
from py_ecc.optimized_bls12_381.optimized_curve import (
    G1,
    G2,
    Z1,
    Z2,
    add,
    eq,
    is_inf,
    multiply,
    neg,
    normalize,
)
from py_ecc.optimized_bls12_381.optimized_pairing import final_exponentiate, pairing

from .interface import POINT_BYTES, FieldElement, Point, R


class RefPoint:
    """A py_ecc Jacobian point with the operators the protocol code uses."""

    __slots__ = ("pt",)

    def __init__(self, pt: Any) -> None:
        self.pt = pt

    def __add__(self, other: RefPoint) -> RefPoint:
        return RefPoint(add(self.pt, other.pt))

    def __sub__(self, other: RefPoint) -> RefPoint:
        return RefPoint(add(self.pt, neg(other.pt)))

    def __neg__(self) -> RefPoint:
        return RefPoint(neg(self.pt))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RefPoint):
            return NotImplemented
        return bool(eq(self.pt, other.pt))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RefPoint({compress_G1(self.pt):#x})"


class RefScalar:
    """An element of F_r as a Python int, reduced after every operation."""

    __slots__ = ("v",)

    def __init__(self, v: int) -> None:
        self.v = v % R

    def __add__(self, other: RefScalar) -> RefScalar:
        return RefScalar(self.v + other.v)

    def __sub__(self, other: RefScalar) -> RefScalar:
        return RefScalar(self.v - other.v)

    def __mul__(self, other: RefScalar) -> RefScalar:
        return RefScalar(self.v * other.v)

    def __neg__(self) -> RefScalar:
        return RefScalar(-self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RefScalar) and self.v == other.v

    __hash__ = None  # type: ignore[assignment]


def _p(point: Point) -> Any:
    return cast(RefPoint, point).pt


class ReferenceBackend:
    """G1 on py_ecc's ``optimized_bls12_381``."""

    name = "reference"

    def identity(self) -> Point:
        return cast(Point, RefPoint(Z1))

    def generator(self) -> Point:
        return cast(Point, RefPoint(G1))

    def mul(self, point: Point, k: int) -> Point:
        return cast(Point, RefPoint(multiply(_p(point), k % R)))

    def msm(self, points: Sequence[Point], scalars: Sequence[int]) -> Point:
        acc = Z1
        for point, k in zip(points, scalars, strict=True):
            k %= R
            if k:
                acc = add(acc, multiply(_p(point), k))
        return cast(Point, RefPoint(acc))

    def field(self, k: int) -> FieldElement:
        return cast(FieldElement, RefScalar(k))

    def field_to_int(self, e: FieldElement) -> int:
        return cast(RefScalar, e).v

    def msm_field(self, points: Sequence[Point], scalars: Sequence[FieldElement]) -> Point:
        return self.msm(points, [cast(RefScalar, e).v for e in scalars])

    def encode(self, point: Point) -> bytes:
        return int(compress_G1(_p(point))).to_bytes(POINT_BYTES, "big")

    def decompress(self, data: bytes) -> Point:
        try:
            pt = decompress_G1(G1Compressed(int.from_bytes(data, "big")))
        except ValueError:  # py_ecc's own words; both backends say the same
            raise ValueError("not a point of G1 (no curve point has this x-coordinate)") from None
        if not is_inf(multiply(pt, R)):
            raise ValueError("not in the prime-order subgroup")
        return cast(Point, RefPoint(pt))

    def hash_to_curve(self, msg: bytes, dst: bytes) -> Point:
        return cast(Point, RefPoint(hash_to_G1(msg, dst, cast(Any, hashlib.sha256))))

    def is_identity(self, point: Point) -> bool:
        return bool(is_inf(_p(point)))

    def affine(self, point: Point) -> tuple[int, int]:
        x, y = normalize(_p(point))
        return int(x.n), int(y.n)


class ReferencePairing:
    """G2 and the pairing on py_ecc (the primitives of py_ecc's ``bls`` module): slow, simple."""

    name = "reference"

    def g2_identity(self) -> object:
        return Z2

    def g2_generator(self) -> object:
        return G2

    def g2_add(self, a: object, b: object) -> object:
        return add(cast(Any, a), cast(Any, b))

    def g2_mul(self, a: object, k: int) -> object:
        return multiply(cast(Any, a), k % R)

    def g2_encode(self, a: object) -> bytes:
        z1, z2 = compress_G2(cast(Any, a))
        return int(z1).to_bytes(48, "big") + int(z2).to_bytes(48, "big")

    def g2_decompress(self, data: bytes) -> object:
        pt = decompress_G2(
            G2Compressed((int.from_bytes(data[:48], "big"), int.from_bytes(data[48:], "big")))
        )
        if not is_inf(multiply(pt, R)):
            raise ValueError("not in the prime-order subgroup of G2")
        return pt

    def hash_to_g2(self, msg: bytes, dst: bytes) -> object:
        return hash_to_G2(msg, dst, cast(Any, hashlib.sha256))

    def g2_affine(self, a: object) -> tuple[int, int, int, int]:
        x, y = normalize(cast(Any, a))
        return int(x.coeffs[0]), int(x.coeffs[1]), int(y.coeffs[0]), int(y.coeffs[1])

    def pairing_check(self, g1s: Sequence[Point], g2s: Sequence[object]) -> bool:
        """Whether Π e(P_i, Q_i) = 1: Miller loops multiplied, one final exponentiation."""
        acc = FQ12.one()
        for p, q in zip(g1s, g2s, strict=True):
            if is_inf(_p(p)) or is_inf(cast(Any, q)):
                continue
            acc = acc * pairing(cast(Any, q), _p(p), final_exponentiate=False)
        return bool(final_exponentiate(acc) == FQ12.one())
