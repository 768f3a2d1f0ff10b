"""The range-proof verifier: one multi-scalar multiplication per proof or per batch.

For a proof with challenges y, z, x, w, t_1…t_K (all re-derived from the transcript), the two
checks are

  (1) t̂·G + τx·H = Σ_j z^{2+j}·V_j + δ(y, z)·G + x·T1 + x²·T2,
      δ(y, z) = (z − z²)·Σ_{i<N} y^i − Σ_{j<m'} z^{3+j}·(2^n − 1);

  (2) T·P₀ + Σ_k T_{>k}·(t_k²·L_k + R_k) = a·Σ_i s_i·g_i + b·Σ_i s'_i·y^{−i}·h_i + a·b·w·G,
      P₀ = A + x·S − z·Σ g_i + Σ_i (z + ζ_i·y^{−i})·h_i − μ·H + t̂·w·G,

with T = Π_k t_k, T_{>k} = Π_{j>k} t_j, s_i = Π_{k: bit k of i set} t_k (round 1 ↔ the top bit)
and s'_i = T/s_i. The verifier adds c·(1) to (2), with c squeezed from the transcript after the
whole proof is absorbed, and checks one multi-scalar multiplication against O. A batch adds the
equations of every proof, each multiplied by its own 128-bit weight ω, squeezed from a sponge
that has absorbed every proof's transcript state; the bases G, H, g_i, h_i are shared.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import group
from ..errors import InvalidArgument, require_bytes, require_int
from ..generators import pedersen_bases, table
from ..group import POINT_BYTES, SCALAR_BYTES, FieldElement, Point, R
from ..transcript import (
    RANGEPROOF_BATCH_TAG,
    RANGEPROOF_TAG,
    DuplexSponge,
    Transcript,
    ZeroChallenge,
    derive_session_id,
    le2ip,
)
from .proof import RangeProof, check_shape, padded_count
from .statement import statement_transcript


@dataclass
class _Accumulator:
    """The scalars of one combined multi-scalar multiplication.

    Vectors over the shared bases g_i, h_i are kept as field elements (the backend's fast
    representation); a proof's constant term on its first N bases is kept per N and added once.
    """

    g_scalar: int = 0
    h_scalar: int = 0
    points: list[Point] = field(default_factory=list)
    scalars: list[int] = field(default_factory=list)
    g_acc: list[FieldElement] = field(default_factory=list)
    h_acc: list[FieldElement] = field(default_factory=list)
    g_const: dict[int, int] = field(default_factory=dict)
    h_const: dict[int, int] = field(default_factory=dict)

    def add_vector(self, acc: list[FieldElement], values: list[FieldElement]) -> None:
        if len(acc) < len(values):
            zero = group.field(0)
            acc.extend([zero] * (len(values) - len(acc)))
        acc[: len(values)] = [a + v for a, v in zip(acc, values, strict=False)]

    def check(self) -> bool:
        size = len(self.g_acc)
        t = table()
        G, H = pedersen_bases()
        g_sc, h_sc = self.g_acc, self.h_acc
        for n_p, const in self.g_const.items():
            c = group.field(const)
            g_sc[:n_p] = [e + c for e in g_sc[:n_p]]
        for n_p, const in self.h_const.items():
            c = group.field(const)
            h_sc[:n_p] = [e + c for e in h_sc[:n_p]]
        points = [G, H, *self.points, *t.g(size), *t.h(size)]
        to_field = group.field
        scalars = [to_field(self.g_scalar), to_field(self.h_scalar)]
        scalars += [to_field(k) for k in self.scalars]
        return group.is_identity(group.msm_field(points, [*scalars, *g_sc, *h_sc]))


def _tensor(root: int, factors: Sequence[int]) -> list[FieldElement]:
    """[root·Π_k factors[k]^{bit_k(i)}]_i, factors[0] going with the most significant bit."""
    out = [group.field(root)]
    for f in reversed(factors):
        fe = group.field(f)
        out = out + [e * fe for e in out]
    return out


def _batch_inverse(values: Sequence[int]) -> list[int]:
    """[1/v for v in values] with one modular inversion (Montgomery's trick); no v may be 0."""
    prefix = [1] * (len(values) + 1)
    for i, v in enumerate(values):
        prefix[i + 1] = prefix[i] * v % R
    inv = pow(prefix[-1], -1, R)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = prefix[i] * inv % R
        inv = inv * values[i] % R
    return out


def _replay(
    proof: RangeProof, commitments: Sequence[Point], n: int, context: bytes, tag: bytes
) -> tuple[Transcript, int, int, int, int, list[int], int]:
    """Re-derive y, z, x, w, (t_k) and the combination weight c, absorbing the proof in order."""
    data = proof.to_bytes()
    pb, sb = POINT_BYTES, SCALAR_BYTES
    scalars_at = len(data) - 5 * sb
    tr = statement_transcript(commitments, n, context, tag)
    tr.absorb_bytes(data[: 2 * pb])  # A, S
    y = tr.challenge_scalar()
    z = tr.challenge_scalar()
    tr.absorb_bytes(data[2 * pb : 4 * pb])  # T1, T2
    x = tr.challenge_scalar()
    tr.absorb_bytes(data[scalars_at : scalars_at + 3 * sb])  # τx, μ, t̂
    w = tr.challenge_scalar()
    ts = []
    for k in range(len(proof.L)):
        tr.absorb_bytes(data[(4 + 2 * k) * pb : (6 + 2 * k) * pb])  # L_k, R_k
        ts.append(tr.challenge_short())
    tr.absorb_bytes(data[scalars_at + 3 * sb :])  # a, b
    c = tr.challenge_scalar()
    return tr, y, z, x, w, ts, c


def _accumulate(
    acc: _Accumulator,
    proof: RangeProof,
    commitments: Sequence[Point],
    n: int,
    context: bytes,
    tag: bytes,
    omega: int,
    challenges: tuple[Transcript, int, int, int, int, list[int], int],
) -> None:
    """Add ω·((2) + c·(1)) of one proof to the accumulator."""
    m = len(commitments)
    m_pad = padded_count(m)
    size = n * m_pad
    _, y, z, x, w, ts, c = challenges
    k_rounds = len(ts)
    z2 = z * z % R
    # T = Π t_k and the suffix products T_{>k}.
    suffix = [1] * (k_rounds + 1)
    for k in range(k_rounds - 1, -1, -1):
        suffix[k] = suffix[k + 1] * ts[k] % R
    big_t = suffix[0]
    wt = omega * big_t % R
    wc = omega * c % R
    # δ(y, z), with Σ_{i<2^k} u^i = Π_{j<k} (1 + u^{2^j}) (sizes are powers of two).
    sum_y, p = 1, y
    for _ in range(k_rounds):
        sum_y = sum_y * (1 + p) % R
        p = p * p % R
    sum_z, p = z2 * z % R, z
    for _ in range(m_pad.bit_length() - 1):
        sum_z = sum_z * (1 + p) % R
        p = p * p % R
    delta = ((z - z2) * sum_y - sum_z * ((1 << n) - 1)) % R
    acc.g_scalar += wc * (proof.t_hat - delta) + omega * w % R * (
        big_t * proof.t_hat - proof.a * proof.b
    )
    acc.h_scalar += wc * proof.tau_x - wt * proof.mu
    x2 = x * x % R
    pts = [proof.A, proof.S, proof.T1, proof.T2]
    scs = [wt, wt * x % R, -wc * x % R, -wc * x2 % R]
    zj = z2
    for v in commitments:
        pts.append(v)
        scs.append(-wc * zj % R)
        zj = zj * z % R
    for k in range(k_rounds):
        pts.append(proof.L[k])
        scs.append(omega * suffix[k + 1] % R * ts[k] % R * ts[k] % R)
        pts.append(proof.R[k])
        scs.append(omega * suffix[k + 1] % R)
    acc.points += pts
    acc.scalars += scs
    # g_i: −ω·(T·z + a·s_i), s = ⊗_k (1, t_k).
    acc.add_vector(acc.g_acc, _tensor(-omega * proof.a, ts))
    acc.g_const[size] = acc.g_const.get(size, 0) - wt * z
    # h_i: ω·T·z + u_i + v_i with
    #   u_i = ω·T·ζ_i·y^{−i} = ω·T·z²·⊗(block bits: (z·y^{−n})^{2^j}; bit bits: (2/y)^{2^j}),
    #   v_i = −ω·b·s'_i·y^{−i} = −ω·b·T·⊗_k (1, y^{−2^{K−k}}/t_k).
    inverses = _batch_inverse([y, *ts])
    y_inv, t_invs = inverses[0], inverses[1:]
    y_inv_pows = [y_inv]  # y^{−2^j} for j <= K
    for _ in range(k_rounds):
        y_inv_pows.append(y_inv_pows[-1] * y_inv_pows[-1] % R)
    v_vec = _tensor(
        -omega * proof.b % R * big_t,
        [y_inv_pows[k_rounds - 1 - k] * t_invs[k] % R for k in range(k_rounds)],
    )
    log_n = n.bit_length() - 1
    bit_factors = [2 * y_inv % R]
    for _ in range(log_n - 1):
        bit_factors.append(bit_factors[-1] * bit_factors[-1] % R)
    block_factors = [z * y_inv_pows[log_n] % R]
    for _ in range(m_pad.bit_length() - 2):
        block_factors.append(block_factors[-1] * block_factors[-1] % R)
    block_factors = block_factors[: m_pad.bit_length() - 1]
    u = _tensor(wt * z2, [*reversed(block_factors), *reversed(bit_factors)])
    acc.add_vector(acc.h_acc, [a + b for a, b in zip(u, v_vec, strict=True)])
    acc.h_const[size] = acc.h_const.get(size, 0) + wt * z


def verify(
    proof: RangeProof,
    commitments: Sequence[Point],
    n: int,
    context: bytes = b"",
    *,
    tag: bytes = RANGEPROOF_TAG,
) -> bool:
    """Whether ``proof`` shows that every V_j commits to a value in [0, 2^n)."""
    return batch_verify([(proof, commitments, n, context)], tag=tag)


def batch_verify(
    items: Sequence[tuple[RangeProof, Sequence[Point], int, bytes]],
    *,
    tag: bytes = RANGEPROOF_TAG,
) -> bool:
    """Verify many proofs (any mix of n and m) with one multi-scalar multiplication.

    A single proof is verified with weight ω = 1; in a batch of two or more, each proof's
    equations get an independent 128-bit weight ω squeezed after every proof has been absorbed,
    so a bad proof survives with probability about 2^−128. An empty batch is valid.
    """
    acc = _Accumulator()
    replays = []
    for proof, commitments, n, context in items:
        if not isinstance(proof, RangeProof):
            raise InvalidArgument(f"expected a RangeProof, got {type(proof).__name__}")
        require_bytes("context", context)
        require_int("n", n)
        try:
            k = check_shape(n, len(commitments))
        except ValueError:
            return False
        if len(proof.L) != k or len(proof.R) != k:
            return False
        if any(group.is_identity(v) for v in commitments):
            return False
        try:
            replays.append(_replay(proof, commitments, n, context, tag))
        except ZeroChallenge:
            return False
    if len(items) == 1:
        omegas = [1]
    else:
        sponge = DuplexSponge(derive_session_id(RANGEPROOF_BATCH_TAG))
        for tr, *_ in replays:
            sponge.absorb(tr.state_digest())
        raw = sponge.squeeze(16 * len(items))
        omegas = [le2ip(raw[16 * i : 16 * i + 16]) or 1 for i in range(len(items))]
    for (proof, commitments, n, context), omega, ch in zip(items, omegas, replays, strict=True):
        _accumulate(acc, proof, commitments, n, context, tag, omega, ch)
    if not items:
        return True
    return acc.check()
