"""BLS12-381 G1 behind one flat API, with two interchangeable backends.

``native`` (default) runs on arkworks; ``reference`` runs on py_ecc. ``ZKMARGIN_BACKEND`` picks
one at import time and :func:`set_backend` / :func:`using` switch at run time. Both backends give
byte-identical encodings and identical accept/reject decisions, because every untrusted byte goes
through the one decoder below, which screens what the libraries disagree on (flags, canonical
x < p, canonical identity) before either library sees it, and re-encodes what it returns.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import cast

from ..errors import DecodeError
from .interface import POINT_BYTES, SCALAR_BYTES, Backend, FieldElement, P, Point, R

__all__ = [
    "POINT_BYTES",
    "SCALAR_BYTES",
    "Backend",
    "FieldElement",
    "P",
    "Point",
    "R",
    "affine",
    "available_backends",
    "backend",
    "decode_point",
    "decode_points",
    "decode_scalar",
    "decode_scalars",
    "encode_point",
    "encode_scalar",
    "field",
    "field_to_int",
    "generator",
    "hash_to_curve",
    "identity",
    "is_identity",
    "msm",
    "msm_field",
    "mul",
    "set_backend",
    "using",
]

_X_MASK = (1 << 381) - 1
_BACKEND_NAMES = ("native", "reference")
_instances: dict[str, Backend] = {}


def _make(name: str) -> Backend:
    if name not in _instances:
        if name == "native":
            from .native import NativeBackend

            _instances[name] = NativeBackend()
        elif name == "reference":
            from .reference import ReferenceBackend

            _instances[name] = ReferenceBackend()
        else:
            raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(_BACKEND_NAMES)}")
    return _instances[name]


class _UnknownBackend:
    """Stands in for the backend named by an unknown ``ZKMARGIN_BACKEND``: importing zkmargin
    (and ``zkmargin --help``) still works; the first use raises one clear error."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> object:
        raise ValueError(
            f"ZKMARGIN_BACKEND={self.name!r} is not a backend; choose one of "
            f"{', '.join(_BACKEND_NAMES)}"
        )


def _initial() -> Backend:
    name = os.environ.get("ZKMARGIN_BACKEND", "native") or "native"
    if name not in _BACKEND_NAMES:
        return cast(Backend, _UnknownBackend(name))
    return _make(name)


_active: Backend = _initial()


def available_backends() -> tuple[str, ...]:
    """Names of the backends zkmargin ships."""
    return _BACKEND_NAMES


def backend() -> Backend:
    """The active backend."""
    return _active


def set_backend(name: str) -> Backend:
    """Make ``name`` the active backend and return it. Points of different backends never mix."""
    global _active
    _active = _make(name)
    return _active


@contextmanager
def using(name: str) -> Iterator[Backend]:
    """Run a block with another backend active."""
    previous = _active
    try:
        yield set_backend(name)
    finally:
        globals()["_active"] = previous


def identity() -> Point:
    """O, the neutral element."""
    return _active.identity()


def generator() -> Point:
    """The standard generator of G1."""
    return _active.generator()


def is_identity(point: Point) -> bool:
    """Whether P = O."""
    return _active.is_identity(point)


def mul(point: Point, k: int) -> Point:
    """k·P for any integer k (reduced mod r)."""
    return _active.mul(point, k)


def msm(points: Sequence[Point], scalars: Sequence[int]) -> Point:
    """Σ k_i·P_i. Unequal lengths are an error, never a truncation."""
    if len(points) != len(scalars):
        raise ValueError(
            f"multi-scalar multiplication needs as many scalars as points "
            f"({len(scalars)} scalars, {len(points)} points)"
        )
    return _active.msm(points, scalars)


def field(k: int) -> FieldElement:
    """k mod r in the backend's fast field representation (operators +, -, *)."""
    return _active.field(k)


def field_to_int(e: FieldElement) -> int:
    """The integer in [0, r) of a field element."""
    return _active.field_to_int(e)


def msm_field(points: Sequence[Point], scalars: Sequence[FieldElement]) -> Point:
    """Σ e_i·P_i with field-element scalars. Unequal lengths are an error."""
    if len(points) != len(scalars):
        raise ValueError(
            f"multi-scalar multiplication needs as many scalars as points "
            f"({len(scalars)} scalars, {len(points)} points)"
        )
    return _active.msm_field(points, scalars)


def hash_to_curve(msg: bytes, dst: bytes) -> Point:
    """RFC 9380 hash-to-curve, suite ``BLS12381G1_XMD:SHA-256_SSWU_RO_``."""
    return _active.hash_to_curve(msg, dst)


def affine(point: Point) -> tuple[int, int]:
    """Affine (x, y) of a non-identity point."""
    if _active.is_identity(point):
        raise ValueError("the identity has no affine coordinates")
    return _active.affine(point)


def encode_point(point: Point) -> bytes:
    """The 48-byte compressed (ZCash / IETF pairing-friendly-curves) encoding of P."""
    return _active.encode(point)


def screen_compressed(data: bytes, size: int, what: str, *, allow_identity: bool) -> bool:
    """The checks both groups' decoders make before a library sees the bytes: exactly ``size``
    bytes, the compression flag set, the identity only as 0xc0 ‖ 0^(size−1) and only where
    allowed, and every 48-byte coordinate (flags masked off the first) canonical, < p.
    Returns whether the bytes are the identity; raises :class:`DecodeError` otherwise."""
    if len(data) != size:
        raise DecodeError(f"a {what} is exactly {size} bytes, got {len(data)}")
    flags = data[0]
    if not flags & 0x80:
        raise DecodeError(f"{what} is not in compressed form (compression flag clear)")
    if flags & 0x40:
        if data != bytes([0xC0]) + bytes(size - 1):
            raise DecodeError(f"non-canonical encoding of the identity ({what})")
        if not allow_identity:
            raise DecodeError("the identity point is not allowed here")
        return True
    chunks = [int.from_bytes(data[i : i + POINT_BYTES], "big") for i in range(0, size, POINT_BYTES)]
    if chunks[0] & _X_MASK >= P or any(c >= P for c in chunks[1:]):
        raise DecodeError(f"{what} coordinate is not canonical (x >= p)")
    return False


def decode_point(data: bytes, *, allow_identity: bool = False) -> Point:
    """Decode untrusted bytes into a point of the prime-order subgroup, or raise DecodeError.

    Accepts exactly 48 bytes with the compression flag set, x < p, the point on the curve and in
    the subgroup, and bytes equal to the point's own re-encoding. The identity is accepted only
    with ``allow_identity`` and only in its one canonical form 0xc0 ‖ 0^47.
    """
    data = bytes(data)
    if screen_compressed(data, POINT_BYTES, "point", allow_identity=allow_identity):
        return _active.identity()
    try:
        point = _active.decompress(data)
    except ValueError as exc:
        raise DecodeError(f"invalid point: {exc}") from None
    if _active.encode(point) != data:
        raise DecodeError("point encoding is not canonical")
    return point


def decode_points(data: bytes, count: int, *, allow_identity: bool = False) -> list[Point]:
    """Decode exactly ``count`` consecutive points."""
    if len(data) != count * POINT_BYTES:
        raise DecodeError(f"expected {count} points ({count * POINT_BYTES} bytes), got {len(data)}")
    return [
        decode_point(data[i : i + POINT_BYTES], allow_identity=allow_identity)
        for i in range(0, len(data), POINT_BYTES)
    ]


def encode_scalar(k: int) -> bytes:
    """The canonical 32-byte big-endian encoding of k mod r (I2OSP, as the Sigma ciphersuite)."""
    return (k % R).to_bytes(SCALAR_BYTES, "big")


def decode_scalar(data: bytes) -> int:
    """Decode exactly 32 big-endian bytes of a canonical scalar (< r), or raise DecodeError."""
    if len(data) != SCALAR_BYTES:
        raise DecodeError(f"a scalar is exactly {SCALAR_BYTES} bytes, got {len(data)}")
    k = int.from_bytes(data, "big")
    if k >= R:
        raise DecodeError("scalar is not canonical (>= r)")
    return k


def decode_scalars(data: bytes, count: int) -> list[int]:
    """Decode exactly ``count`` consecutive canonical scalars."""
    if len(data) != count * SCALAR_BYTES:
        raise DecodeError(
            f"expected {count} scalars ({count * SCALAR_BYTES} bytes), got {len(data)}"
        )
    return [decode_scalar(data[i : i + SCALAR_BYTES]) for i in range(0, len(data), SCALAR_BYTES)]
