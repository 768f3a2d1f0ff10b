"""G2 and the pairing e: G1 × G2 → GT, for BLS signatures, on the active backend.

The same screening rules as G1's decoder apply to G2's 96-byte compressed encoding
(c1 ‖ c0 of x ∈ F_p², flags in the top three bits of the first byte): exact length, compression
flag set, the one canonical identity (0xc0 ‖ 0^95) and only where allowed, both coordinates < p,
on the curve, in the prime-order subgroup, and re-encoding to the same bytes. G2 points are
opaque objects of the backend; they never mix across backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..errors import DecodeError
from . import backend, screen_compressed
from .interface import Point

#: Bytes of a compressed G2 point.
G2_BYTES = 96
G2_IDENTITY_ENCODING = bytes([0xC0]) + bytes(G2_BYTES - 1)


class G2Point(Protocol):
    """An element of G2 as a backend represents it (opaque)."""


class PairingBackend(Protocol):
    name: str

    def g2_identity(self) -> object: ...
    def g2_generator(self) -> object: ...
    def g2_add(self, a: object, b: object) -> object: ...
    def g2_mul(self, a: object, k: int) -> object: ...
    def g2_encode(self, a: object) -> bytes: ...
    def g2_decompress(self, data: bytes) -> object: ...
    def hash_to_g2(self, msg: bytes, dst: bytes) -> object: ...
    def g2_affine(self, a: object) -> tuple[int, int, int, int]: ...
    def pairing_check(self, g1s: Sequence[Point], g2s: Sequence[object]) -> bool: ...


_instances: dict[str, PairingBackend] = {}


def _active() -> PairingBackend:
    name = backend().name
    if name not in _instances:
        if name == "native":
            from .native import NativePairing

            _instances[name] = NativePairing()
        else:
            from .reference import ReferencePairing

            _instances[name] = ReferencePairing()
    return _instances[name]


def g2_identity() -> object:
    """O of G2."""
    return _active().g2_identity()


def g2_generator() -> object:
    """The standard generator of G2."""
    return _active().g2_generator()


def g2_add(a: object, b: object) -> object:
    """A + B in G2."""
    return _active().g2_add(a, b)


def g2_mul(a: object, k: int) -> object:
    """k·A in G2."""
    return _active().g2_mul(a, k)


def g2_is_identity(a: object) -> bool:
    """Whether A = O in G2."""
    return encode_g2(a) == G2_IDENTITY_ENCODING


def encode_g2(a: object) -> bytes:
    """The 96-byte compressed encoding of a G2 point."""
    return _active().g2_encode(a)


def g2_affine(a: object) -> tuple[int, int, int, int]:
    """(x.c0, x.c1, y.c0, y.c1) of a non-identity G2 point."""
    return _active().g2_affine(a)


def hash_to_g2(msg: bytes, dst: bytes) -> object:
    """RFC 9380 hash-to-curve, suite ``BLS12381G2_XMD:SHA-256_SSWU_RO_``."""
    return _active().hash_to_g2(msg, dst)


def pairing_check(g1s: Sequence[Point], g2s: Sequence[object]) -> bool:
    """Whether Π e(P_i, Q_i) = 1 in GT. Unequal lengths are an error."""
    if len(g1s) != len(g2s):
        raise ValueError("a pairing product needs as many G2 points as G1 points")
    return _active().pairing_check(g1s, g2s)


def decode_g2(data: bytes, *, allow_identity: bool = False) -> object:
    """Decode untrusted bytes into a point of G2's prime-order subgroup, or raise DecodeError."""
    data = bytes(data)
    if screen_compressed(data, G2_BYTES, "G2 point", allow_identity=allow_identity):
        return g2_identity()
    try:
        point = _active().g2_decompress(data)
    except Exception as exc:  # py_ecc raises ValueError and others on bad input
        raise DecodeError(f"invalid G2 point: {exc}") from None
    if encode_g2(point) != data:
        raise DecodeError("G2 point encoding is not canonical")
    return point


__all__ = [
    "G2_BYTES",
    "decode_g2",
    "encode_g2",
    "g2_add",
    "g2_affine",
    "g2_generator",
    "g2_identity",
    "g2_is_identity",
    "g2_mul",
    "hash_to_g2",
    "pairing_check",
]
