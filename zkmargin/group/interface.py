"""The backend interface: BLS12-381 G1 points, scalars as Python ints mod r.

Every curve library is hidden behind :class:`Backend`. Points support ``+``, ``-``, unary ``-``
and ``==`` directly (so hot loops pay no dispatch cost); everything else goes through the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: r, the prime order of G1 and of the scalar field.
R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: p, the prime of the base field F_p over which G1 is defined.
P = int(
    "1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF"
    "6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB",
    16,
)
#: Ne: bytes of a compressed G1 point.
POINT_BYTES = 48
#: Ns: bytes of a canonical scalar.
SCALAR_BYTES = 32


class Point(Protocol):
    """An element of G1 as a backend represents it."""

    def __add__(self, other: Point, /) -> Point: ...

    def __sub__(self, other: Point, /) -> Point: ...

    def __neg__(self) -> Point: ...

    def __eq__(self, other: object, /) -> bool: ...


class FieldElement(Protocol):
    """An element of the scalar field F_r in a backend's own fast representation."""

    def __add__(self, other: FieldElement, /) -> FieldElement: ...

    def __sub__(self, other: FieldElement, /) -> FieldElement: ...

    def __mul__(self, other: FieldElement, /) -> FieldElement: ...

    def __neg__(self) -> FieldElement: ...


class Backend(Protocol):
    """What a curve library must provide. Scalars are Python ints; they are reduced mod r."""

    name: str

    def identity(self) -> Point:
        """The neutral element O."""
        ...

    def generator(self) -> Point:
        """The standard generator of G1 (Appendix C of the pairing-friendly-curves draft)."""
        ...

    def mul(self, point: Point, k: int) -> Point:
        """k·P."""
        ...

    def msm(self, points: Sequence[Point], scalars: Sequence[int]) -> Point:
        """Σ k_i·P_i. The caller guarantees equal lengths (the flat API checks them)."""
        ...

    def field(self, k: int) -> FieldElement:
        """k mod r as a field element."""
        ...

    def field_to_int(self, e: FieldElement) -> int:
        """The canonical integer in [0, r) of a field element."""
        ...

    def msm_field(self, points: Sequence[Point], scalars: Sequence[FieldElement]) -> Point:
        """Σ e_i·P_i with field-element scalars (equal lengths guaranteed by the caller)."""
        ...

    def encode(self, point: Point) -> bytes:
        """The 48-byte compressed encoding (the identity encodes as 0xc0 ‖ 0^47)."""
        ...

    def decompress(self, data: bytes) -> Point:
        """Decode 48 pre-screened bytes of a non-identity point.

        Must raise ``ValueError`` unless the point is on the curve and in the prime-order subgroup.
        """
        ...

    def hash_to_curve(self, msg: bytes, dst: bytes) -> Point:
        """RFC 9380 ``BLS12381G1_XMD:SHA-256_SSWU_RO_``."""
        ...

    def is_identity(self, point: Point) -> bool:
        """Whether P = O."""
        ...

    def affine(self, point: Point) -> tuple[int, int]:
        """Affine coordinates (x, y) of a non-identity point."""
        ...
