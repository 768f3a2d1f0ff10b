"""The range-proof prover: PK{(v_j, γ_j): V_j = v_j·G + γ_j·H ∧ 0 ≤ v_j < 2^n, j < m}.

With N = n·m', bits a_L (v_j = Σ_i a_L[jn+i]·2^i), a_R = a_L − 1 and blinding vectors s_L, s_R:

1. A = α·H + ⟨a_L, g⟩ + ⟨a_R, h⟩ (built by additions: a_L, a_R ∈ {0, ±1}),
   S = ρ·H + ⟨s_L, g⟩ + ⟨s_R, h⟩; challenges y, z.
2. l(X) = a_L − z·1 + s_L·X, r(X) = y^N ∘ (a_R + z·1 + s_R·X) + ζ, ζ[jn+i] = z^{2+j}·2^i;
   t(X) = ⟨l(X), r(X)⟩ = t₀ + t₁X + t₂X²; T_k = t_k·G + τ_k·H; challenge x.
3. t̂ = ⟨l(x), r(x)⟩, τx = τ₂x² + τ₁x + Σ_j z^{2+j}γ_j, μ = α + ρx; challenge w, Q = w·G.
4. The inner-product argument for ⟨l, r⟩ = t̂ on bases g and h' = y^{−i}·h.

(ρ, s_L, s_R) do not depend on the values, so :func:`prepare` can draw them ahead of time and
compute S with its cross terms against the first inner-product round's bases
(⟨s_L,lo, g_hi⟩, ⟨s_R,hi, h_lo⟩, ⟨s_L,hi, g_lo⟩, ⟨s_R,lo, h_hi⟩). The online prover then builds
L_1, R_1 from additions of bases selected by the bits, those four points and one half-size
multi-scalar multiplication for the public ζ terms. A :class:`Precommitment` is single-use.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import group
from ..errors import ProvingError, require_bytes, require_int
from ..generators import pedersen_bases, table
from ..group import Point, R
from ..pedersen import commit
from ..transcript import (
    HEDGED_RNG_TAG,
    RANGEPROOF_TAG,
    DuplexSponge,
    EntropySource,
    Rng,
    SpongeRng,
    derive_session_id,
    hedged_rng,
    system_entropy,
)
from .ipa import prove_inner_product
from .proof import RangeProof, check_shape, padded_count
from .statement import statement_transcript


@dataclass
class Precommitment:
    """(ρ, s_L, s_R), S and S's cross terms with the first round's bases. Use once."""

    size: int
    rho: int
    s_l: list[int]
    s_r: list[int]
    S: Point
    cross: tuple[Point, Point, Point, Point]
    used: bool = field(default=False)


def _commit_s(rho: int, s_l: list[int], s_r: list[int]) -> Point:
    """S = ρ·H + ⟨s_L, g⟩ + ⟨s_R, h⟩."""
    t = table()
    _, H = pedersen_bases()
    return group.msm([H, *t.g(len(s_l)), *t.h(len(s_r))], [rho, *s_l, *s_r])


class _PrecommitmentKey:
    """A per-process secret and a counter: every precommitment of the process is derived from a
    distinct (key, counter) pair, so a stuck or predictable entropy source can never make two of
    them equal. Reseeded in a forked child, so workers of a pool never share one."""

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.key = secrets.token_bytes(32)
        self.counter = itertools.count()

    def next(self) -> bytes:
        return self.key + next(self.counter).to_bytes(8, "little")


_PRECOMMITMENT_KEY = _PrecommitmentKey()


def prepare(n: int, m: int, *, _test_entropy: EntropySource | None = None) -> Precommitment:
    """Draw (ρ, s_L, s_R) and precompute S and its cross terms.

    The scalars come from a sponge over the process's secret precommitment key, a counter that
    never repeats, and 32 fresh bytes of operating-system entropy (``_test_entropy`` replaces
    only those bytes, for tests of a failing source). A precommitment is single-use.
    """
    check_shape(n, m)
    size = n * padded_count(m)
    sponge = DuplexSponge(derive_session_id(HEDGED_RNG_TAG))
    sponge.absorb(b"precommitment" + size.to_bytes(4, "little"))
    sponge.absorb(_PRECOMMITMENT_KEY.next())
    sponge.absorb((_test_entropy or system_entropy)(32))
    rng = SpongeRng(sponge)
    return precommit(rng.random_scalar(), rng.random_scalars(size), rng.random_scalars(size))


def precommit(rho: int, s_l: list[int], s_r: list[int]) -> Precommitment:
    """S and its cross terms for given (ρ, s_L, s_R); the scalars must be fresh and secret."""
    size = len(s_l)
    half = size // 2
    t = table()
    g, h = t.g(size), t.h(size)
    cross = (
        group.msm(g[half:], s_l[:half]),
        group.msm(h[:half], s_r[half:]),
        group.msm(g[:half], s_l[half:]),
        group.msm(h[half:], s_r[:half]),
    )
    return Precommitment(size, rho, s_l, s_r, _commit_s(rho, s_l, s_r), cross)


_base_sums: dict[tuple[str, int], tuple[Point, Point, Point, Point]] = {}


def _half_sums(size: int) -> tuple[Point, Point, Point, Point]:
    """(Σ g_lo, Σ g_hi, Σ h_lo, Σ h_hi) of the first ``size`` bases, cached."""
    key = (group.backend().name, size)
    if key not in _base_sums:
        t = table()
        g, h = t.g(size), t.h(size)
        half = size // 2
        zero = group.identity()
        _base_sums[key] = (
            sum(g[:half], zero),
            sum(g[half:], zero),
            sum(h[:half], zero),
            sum(h[half:], zero),
        )
    return _base_sums[key]


def _first_round(
    pre: Precommitment,
    bits: list[int],
    y: int,
    z: int,
    x: int,
    w: int,
    zeta: list[int],
    y_pows: list[int],
    y_inv_pows: list[int],
    c_lr: tuple[int, int],
) -> tuple[Point, Point]:
    """L_1, R_1 from the precommitment (equal to the generic computation in :mod:`.ipa`).

    L_1 = Σ_{a_L,lo[i]=1} g_hi[i] − z·Σg_hi + x·⟨s_L,lo, g_hi⟩
          + y^{N/2}·(−Σ_{a_L,hi[i]=0} h_lo[i] + z·Σh_lo + x·⟨s_R,hi, h_lo⟩)
          + Σ_i ζ_hi[i]·y^{−i}·h_lo[i] + c_L·w·G, and R_1 symmetrically.
    """
    size = len(bits)
    half = size // 2
    t = table()
    g, h = t.g(size), t.h(size)
    G, _ = pedersen_bases()
    sum_g_lo, sum_g_hi, sum_h_lo, sum_h_hi = _half_sums(size)
    x_l, y_l, x_r, y_r = pre.cross
    zero = group.identity()
    bits_lo, bits_hi = bits[:half], bits[half:]
    b_l = sum((gi for gi, bit in zip(g[half:], bits_lo, strict=True) if bit), zero)
    c_l = sum((hi for hi, bit in zip(h[:half], bits_hi, strict=True) if not bit), zero)
    b_r = sum((gi for gi, bit in zip(g[:half], bits_hi, strict=True) if bit), zero)
    c_r = sum((hi for hi, bit in zip(h[half:], bits_lo, strict=True) if not bit), zero)
    y_half, y_inv_half = y_pows[half], y_inv_pows[half]
    left = group.msm(
        [b_l, sum_g_hi, x_l, c_l, sum_h_lo, y_l, G, *h[:half]],
        [
            1,
            -z % R,
            x,
            -y_half % R,
            y_half * z % R,
            y_half * x % R,
            c_lr[0] * w % R,
            *(ze * yi % R for ze, yi in zip(zeta[half:], y_inv_pows[:half], strict=True)),
        ],
    )
    right = group.msm(
        [b_r, sum_g_lo, x_r, c_r, sum_h_hi, y_r, G, *h[half:]],
        [
            1,
            -z % R,
            x,
            -y_inv_half % R,
            y_inv_half * z % R,
            y_inv_half * x % R,
            c_lr[1] * w % R,
            *(ze * yi % R for ze, yi in zip(zeta[:half], y_inv_pows[half:], strict=True)),
        ],
    )
    return left, right


def _witness_bytes(values: Sequence[int], blindings: Sequence[int]) -> bytes:
    return b"".join(
        group.encode_scalar(v) + group.encode_scalar(g)
        for v, g in zip(values, blindings, strict=True)
    )


def _powers(base: int, count: int) -> list[int]:
    out = [1] * count
    for i in range(1, count):
        out[i] = out[i - 1] * base % R
    return out


def prove(
    values: Sequence[int],
    blindings: Sequence[int],
    n: int,
    context: bytes = b"",
    *,
    rng: Rng | None = None,
    entropy: EntropySource | None = None,
    precommitment: Precommitment | None = None,
    tag: bytes = RANGEPROOF_TAG,
    _unsafe_skip_range_check: bool = False,
) -> tuple[RangeProof, list[Point]]:
    """Prove 0 ≤ v_j < 2^n for V_j = v_j·G + γ_j·H; return the proof and the commitments V_j.

    Raises :class:`ProvingError` if a value is out of range. ``rng`` replaces the hedged nonce
    source (tests use a seeded one for reproducible proofs); ``entropy`` replaces only its fresh
    bytes. ``_unsafe_skip_range_check`` exists for soundness tests only: it lets a forged proof be
    attempted for an out-of-range value.
    """
    values = [require_int(f"value {j}", v) for j, v in enumerate(values)]
    blindings = [require_int(f"blinding {j}", gamma) for j, gamma in enumerate(blindings)]
    context = require_bytes("context", context)
    m = len(values)
    if len(blindings) != m:
        raise ProvingError(f"{m} values but {len(blindings)} blindings")
    for j, gamma in enumerate(blindings):
        if gamma % R == 0:
            raise ProvingError(f"blinding {j} is 0 mod r: the commitment would hide nothing")
    try:
        check_shape(n, m)
    except ValueError as exc:
        raise ProvingError(str(exc)) from None
    for j, v in enumerate(values):
        if not 0 <= v < 1 << n and not _unsafe_skip_range_check:
            raise ProvingError(f"value {j} is outside [0, 2^{n}); it cannot be range-proven")
    commitments = [commit(v, g) for v, g in zip(values, blindings, strict=True)]
    m_pad = padded_count(m)
    size = n * m_pad
    vals = [v % R for v in values] + [0] * (m_pad - m)
    gammas = [g % R for g in blindings] + [0] * (m_pad - m)

    transcript = statement_transcript(commitments, n, context, tag)
    if rng is None:
        # The precommitment's secret ρ joins the witness: nonces never repeat across
        # precommitments, even from a stuck entropy source (else τ₁, τ₂ reused over three
        # proofs would give away γ).
        secret = _witness_bytes(values, blindings)
        if precommitment is not None:
            secret += group.encode_scalar(precommitment.rho)
        rng = hedged_rng(transcript, secret, entropy)
    alpha, tau1, tau2 = rng.random_scalars(3)
    if precommitment is None:
        rho = rng.random_scalar()
        s_l, s_r = rng.random_scalars(size), rng.random_scalars(size)
        S = _commit_s(rho, s_l, s_r)
    else:
        if precommitment.used or precommitment.size != size:
            raise ProvingError("a precommitment is single-use and must match n·m'")
        precommitment.used = True
        rho, s_l, s_r, S = precommitment.rho, precommitment.s_l, precommitment.s_r, precommitment.S

    t = table()
    G, H = pedersen_bases()
    g, h = t.g(size), t.h(size)
    bits = [(vals[j] >> i) & 1 for j in range(m_pad) for i in range(n)]
    A = group.mul(H, alpha)
    for bit, gi, hi in zip(bits, g, h, strict=True):
        A = A + gi if bit else A - hi

    transcript.absorb_point(A)
    transcript.absorb_point(S)
    y = transcript.challenge_scalar()
    z = transcript.challenge_scalar()

    y_pows = _powers(y, size)
    zeta = [0] * size
    zj = z * z % R
    for j in range(m_pad):
        for i in range(n):
            zeta[j * n + i] = (zj << i) % R
        zj = zj * z % R
    l0 = [(bit - z) % R for bit in bits]
    r0 = [(yp * (bit - 1 + z) + ze) % R for yp, bit, ze in zip(y_pows, bits, zeta, strict=True)]
    r1 = [yp * s % R for yp, s in zip(y_pows, s_r, strict=True)]
    t1 = (
        sum(a * b for a, b in zip(l0, r1, strict=True))
        + sum(a * b for a, b in zip(s_l, r0, strict=True))
    ) % R
    t2 = sum(a * b for a, b in zip(s_l, r1, strict=True)) % R
    T1 = group.msm([G, H], [t1, tau1])
    T2 = group.msm([G, H], [t2, tau2])
    transcript.absorb_point(T1)
    transcript.absorb_point(T2)
    x = transcript.challenge_scalar()

    l_vec = [(a + x * b) % R for a, b in zip(l0, s_l, strict=True)]
    r_vec = [(a + x * b) % R for a, b in zip(r0, r1, strict=True)]
    t_hat = sum(a * b for a, b in zip(l_vec, r_vec, strict=True)) % R
    tau_x = (tau2 * x * x + tau1 * x) % R
    zj = z * z % R
    for gamma in gammas:
        tau_x = (tau_x + zj * gamma) % R
        zj = zj * z % R
    mu = (alpha + rho * x) % R
    transcript.absorb_scalar(tau_x)
    transcript.absorb_scalar(mu)
    transcript.absorb_scalar(t_hat)
    w = transcript.challenge_scalar()

    weights = _powers(pow(y, -1, R), size)
    first = None
    if precommitment is not None:
        half = size // 2
        c_lr = (
            sum(a * b for a, b in zip(l_vec[:half], r_vec[half:], strict=True)) % R,
            sum(a * b for a, b in zip(l_vec[half:], r_vec[:half], strict=True)) % R,
        )
        first = _first_round(precommitment, bits, y, z, x, w, zeta, y_pows, weights, c_lr)
    ls, rs, a_fin, b_fin = prove_inner_product(
        transcript, g, h, weights, G, w, l_vec, r_vec, first_round=first
    )
    for point in (A, S, T1, T2, *ls, *rs):
        if group.is_identity(point):
            raise ProvingError("a prover message is the identity (retry with fresh randomness)")
    proof = RangeProof(A, S, T1, T2, tuple(ls), tuple(rs), tau_x, mu, t_hat, a_fin, b_fin)
    return proof, commitments
