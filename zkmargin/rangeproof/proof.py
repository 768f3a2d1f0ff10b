"""The range-proof statement, the proof object and its byte layout.

Statement (what the verifier holds): bit width n ∈ {8, 16, 32, 64}, commitments V_0 … V_{m−1},
a context string. The proof shows PK{(v_j, γ_j)_j : V_j = v_j·G + γ_j·H ∧ 0 ≤ v_j < 2^n}.
The prover pads m up to a power of two m' with commitments to zero under blinding zero, i.e. the
identity, which the verifier derives itself.

Byte layout, N = n·m', K = log₂ N::

    A ‖ S ‖ T1 ‖ T2 ‖ L_1 ‖ R_1 ‖ … ‖ L_K ‖ R_K ‖ τx ‖ μ ‖ t̂ ‖ a ‖ b

(2K + 4) compressed points of 48 bytes, then 5 canonical big-endian scalars of 32 bytes: 928 bytes
for one 64-bit value. The decoder takes n and m from the statement, so the length is fixed; it
rejects a missing or extra byte, a point off the curve or outside the subgroup, any identity
point, and any scalar ≥ r.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import group
from ..errors import DecodeError, require_bytes, require_int
from ..group import POINT_BYTES, SCALAR_BYTES, Point

#: Bit widths a range proof supports.
BIT_WIDTHS = (8, 16, 32, 64)
#: Largest n·m' accepted, a bound on the verifier's work.
MAX_VECTOR_LENGTH = 1 << 16


def padded_count(m: int) -> int:
    """m', the smallest power of two >= m."""
    if m < 1:
        raise ValueError("a range proof covers at least one value")
    return 1 << (m - 1).bit_length()


def check_shape(n: int, m: int) -> int:
    """Validate (n, m) and return K = log₂(n·m')."""
    require_int("n", n)
    require_int("m", m)
    if n not in BIT_WIDTHS:
        raise ValueError(f"bit width must be one of {BIT_WIDTHS}, got {n}")
    size = n * padded_count(m)
    if size > MAX_VECTOR_LENGTH:
        raise ValueError(f"n·m' = {size} exceeds the limit {MAX_VECTOR_LENGTH}")
    return size.bit_length() - 1


def proof_size(n: int, m: int) -> int:
    """Bytes of a proof for m values of n bits: 48·(2K + 4) + 32·5."""
    k = check_shape(n, m)
    return POINT_BYTES * (2 * k + 4) + SCALAR_BYTES * 5


@dataclass(frozen=True)
class RangeProof:
    """An aggregated Bulletproofs range proof (points A, S, T1, T2, L_k, R_k; five scalars)."""

    A: Point
    S: Point
    T1: Point
    T2: Point
    L: tuple[Point, ...]
    R: tuple[Point, ...]
    tau_x: int
    mu: int
    t_hat: int
    a: int
    b: int
    #: The canonical encoding, kept once known (decoded from, or encoded once). Not an init
    #: field, so ``dataclasses.replace`` never carries it over to a changed proof.
    _encoding: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def to_bytes(self) -> bytes:
        """The proof's bytes (computed once; compressing a point costs about 9 µs)."""
        if self._encoding is None:
            points = [self.A, self.S, self.T1, self.T2]
            for left, right in zip(self.L, self.R, strict=True):
                points += [left, right]
            scalars = [self.tau_x, self.mu, self.t_hat, self.a, self.b]
            data = b"".join(group.encode_point(p) for p in points) + b"".join(
                group.encode_scalar(s) for s in scalars
            )
            object.__setattr__(self, "_encoding", data)
            return data
        return self._encoding

    @classmethod
    def from_bytes(cls, data: bytes, n: int, m: int) -> RangeProof:
        """Decode a proof for m values of n bits, or raise :class:`DecodeError`."""
        data = require_bytes("a range proof", data)
        try:
            k = check_shape(n, m)
        except ValueError as exc:
            raise DecodeError(str(exc)) from None
        expected = proof_size(n, m)
        if len(data) != expected:
            raise DecodeError(f"a proof for n={n}, m={m} is {expected} bytes, got {len(data)}")
        n_points = 2 * k + 4
        points = group.decode_points(data[: POINT_BYTES * n_points], n_points)
        tau_x, mu, t_hat, a, b = group.decode_scalars(data[POINT_BYTES * n_points :], 5)
        proof = cls(
            points[0],
            points[1],
            points[2],
            points[3],
            tuple(points[4::2]),
            tuple(points[5::2]),
            tau_x,
            mu,
            t_hat,
            a,
            b,
        )
        object.__setattr__(proof, "_encoding", bytes(data))
        return proof
