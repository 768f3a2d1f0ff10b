"""The inner-product argument with an asymmetric fold on 128-bit challenges.

Relation, for public g, h' ∈ G^N, Q ∈ G and P ∈ G:

    PK{(a, b ∈ F^N): P = ⟨a, g⟩ + ⟨b, h'⟩ + ⟨a, b⟩·Q}.

Each round halves N. The prover sends L = ⟨a_lo, g_hi⟩ + ⟨b_hi, h'_lo⟩ + ⟨a_lo, b_hi⟩·Q and
R = ⟨a_hi, g_lo⟩ + ⟨b_lo, h'_hi⟩ + ⟨a_hi, b_lo⟩·Q, receives t ∈ [1, 2^128), and both sides fold

    a ← t·a_lo + a_hi,   b ← b_lo + t·b_hi,   g ← g_lo + t·g_hi,   h' ← t·h'_lo + h'_hi,
    P ← t·P + t²·L + R,

which keeps P = ⟨a, g⟩ + ⟨b, h'⟩ + ⟨a, b⟩·Q. Each folded base costs one multiplication by a
128-bit scalar instead of the textbook fold's two by full ones. After K = log₂ N rounds the
prover sends the scalars a, b. ``docs/rangeproof.md`` proves the variant sound.

In the range proof h'_i = y^{−i}·h_i. The prover never materialises the first round's folded
bases: it computes L_2, R_2 over the fixed bases (two per folded base), then builds the
second-round bases in one pass from stored powers of the fixed bases (:mod:`.fixed_base`):

    g⁽²⁾_i = g_i + t₁·g_{i+2q} + t₂·g_{i+q} + t₁t₂·g_{i+3q},
    h⁽²⁾_i = t₂t₁y^{−i}·h_i + t₂y^{−(i+2q)}·h_{i+2q} + t₁y^{−(i+q)}·h_{i+q} + y^{−(i+3q)}·h_{i+3q},

with q = N/4; the weights y^{−i} disappear there. Later rounds multiply.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import group
from ..group import Point, R
from ..transcript import Transcript
from .fixed_base import POWERS, combine, signed_digits, windows_for

#: Window widths of the stored powers: g takes 128-bit and product scalars, h full ones.
G_WIDTH, H_WIDTH = 4, 5


def _inner(a: Sequence[int], b: Sequence[int]) -> int:
    return sum(x * y for x, y in zip(a, b, strict=True)) % R


def _round(
    transcript: Transcript,
    left: Point,
    right: Point,
    a: list[int],
    b: list[int],
    ls: list[Point],
    rs: list[Point],
) -> tuple[int, list[int], list[int]]:
    """Send (L, R), take t, fold the scalar vectors."""
    transcript.absorb_point(left)
    transcript.absorb_point(right)
    t = transcript.challenge_short()
    ls.append(left)
    rs.append(right)
    half = len(a) // 2
    a = [(t * x + y) % R for x, y in zip(a[:half], a[half:], strict=True)]
    b = [(x + t * y) % R for x, y in zip(b[:half], b[half:], strict=True)]
    return t, a, b


def _second_round_bases(
    g: Sequence[Point], h: Sequence[Point], w: Sequence[int], t1: int, t2: int
) -> tuple[list[Point], list[Point]]:
    """g⁽²⁾ and h⁽²⁾ straight from the fixed bases, by buckets over their stored powers."""
    q = len(g) // 4
    short, full_g, full_h = (
        windows_for(128, G_WIDTH),
        windows_for(255, G_WIDTH),
        windows_for(255, H_WIDTH),
    )
    d1, d2, d12 = (signed_digits(k, G_WIDTH) for k in (t1, t2, t1 * t2 % R))
    powers = POWERS.powers
    gs = [
        combine(
            [
                (powers("g", i + 2 * q, g[i + 2 * q], short, G_WIDTH), d1),
                (powers("g", i + q, g[i + q], short, G_WIDTH), d2),
                (powers("g", i + 3 * q, g[i + 3 * q], full_g, G_WIDTH), d12),
            ],
            g[i],
        )
        for i in range(q)
    ]
    t12 = t1 * t2 % R
    hs = []
    for i in range(q):
        terms = []
        for j, k in (
            (i, t12 * w[i]),
            (i + 2 * q, t2 * w[i + 2 * q]),
            (i + q, t1 * w[i + q]),
            (i + 3 * q, w[i + 3 * q]),
        ):
            terms.append((powers("h", j, h[j], full_h, H_WIDTH), signed_digits(k % R, H_WIDTH)))
        hs.append(combine(terms, None))
    return gs, hs


def prove_inner_product(
    transcript: Transcript,
    g: Sequence[Point],
    h: Sequence[Point],
    h_weights: Sequence[int],
    q_base: Point,
    q_scale: int,
    a: list[int],
    b: list[int],
    first_round: tuple[Point, Point] | None = None,
) -> tuple[list[Point], list[Point], int, int]:
    """Run the prover against h'_i = h_weights[i]·h_i and Q = q_scale·q_base (N >= 4).

    ``g`` and ``h`` must be the fixed generators g_0…g_{N−1}, h_0…h_{N−1} (their stored powers
    are cached by index). ``first_round`` may supply (L_1, R_1) computed another way (the range
    prover does so from a precommitment); they must equal what this function would compute.
    Returns (L_k, R_k, a, b).
    """
    n = len(a)
    if n < 4 or n & (n - 1):
        raise ValueError("the inner-product argument here needs N = 2^K >= 4")
    w = h_weights
    ls: list[Point] = []
    rs: list[Point] = []
    # Round 1 over the fixed bases, weights folded into the scalars.
    half = n // 2
    if first_round is None:
        a_lo, a_hi, b_lo, b_hi = a[:half], a[half:], b[:half], b[half:]
        left = group.msm(
            [*g[half:], *h[:half], q_base],
            [
                *a_lo,
                *(x * y % R for x, y in zip(b_hi, w[:half], strict=True)),
                _inner(a_lo, b_hi) * q_scale % R,
            ],
        )
        right = group.msm(
            [*g[:half], *h[half:], q_base],
            [
                *a_hi,
                *(x * y % R for x, y in zip(b_lo, w[half:], strict=True)),
                _inner(a_hi, b_lo) * q_scale % R,
            ],
        )
    else:
        left, right = first_round
    t1, a, b = _round(transcript, left, right, a, b, ls, rs)
    # Round 2 over the fixed bases: each first-round base is two fixed ones.
    q = n // 4
    a_lo, a_hi, b_lo, b_hi = a[:q], a[q:], b[:q], b[q:]
    left = group.msm(
        [*g[q : 2 * q], *g[3 * q :], *h[:q], *h[2 * q : 3 * q], q_base],
        [
            *a_lo,
            *(x * t1 % R for x in a_lo),
            *(x * t1 % R * y % R for x, y in zip(b_hi, w[:q], strict=True)),
            *(x * y % R for x, y in zip(b_hi, w[2 * q : 3 * q], strict=True)),
            _inner(a_lo, b_hi) * q_scale % R,
        ],
    )
    right = group.msm(
        [*g[:q], *g[2 * q : 3 * q], *h[q : 2 * q], *h[3 * q :], q_base],
        [
            *a_hi,
            *(x * t1 % R for x in a_hi),
            *(x * t1 % R * y % R for x, y in zip(b_lo, w[q : 2 * q], strict=True)),
            *(x * y % R for x, y in zip(b_lo, w[3 * q :], strict=True)),
            _inner(a_hi, b_lo) * q_scale % R,
        ],
    )
    t2, a, b = _round(transcript, left, right, a, b, ls, rs)
    if q > 1:
        gs, hs = _second_round_bases(g, h, w, t1, t2)
    n = q
    # Later rounds: explicit bases, no weights.
    mul = group.mul
    while n > 1:
        half = n // 2
        left = group.msm(
            [*gs[half:], *hs[:half], q_base],
            [*a[:half], *b[half:], _inner(a[:half], b[half:]) * q_scale % R],
        )
        right = group.msm(
            [*gs[:half], *hs[half:], q_base],
            [*a[half:], *b[:half], _inner(a[half:], b[:half]) * q_scale % R],
        )
        t, a, b = _round(transcript, left, right, a, b, ls, rs)
        if half > 1:
            gs = [lo + mul(hi, t) for lo, hi in zip(gs[:half], gs[half:], strict=True)]
            hs = [mul(lo, t) + hi for lo, hi in zip(hs[:half], hs[half:], strict=True)]
        n = half
    return ls, rs, a[0], b[0]
