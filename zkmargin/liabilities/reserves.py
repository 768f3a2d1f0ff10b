"""Reserves: per column, PK{(t, β): T = t·G + β·H ∧ 0 ≤ R − t < 2^(64·L)} for the public reserve
R and the root's total commitment T.

D = R·G − T commits to R − t with blinding −β. Its value may need more than 64 bits, so it is
split into L ≤ 3 limbs of 64 bits: the prover commits the lower L − 1 (C_j), the verifier derives
the top one itself, C_top = 2^{−64(L−1)}·(D − Σ_j 2^{64j}·C_j), and one aggregated 64-bit
Bulletproof shows every limb in [0, 2^64). Then R − t ≡ Σ_j 2^{64j}·v_j (mod r) with the sum in
[0, 2^{64L}). Since |t| < 2^(h+66) (every leaf's liabilities are bounded), R − t lies in
(R − 2^(h+66), R + 2^(h+66)), and L is chosen from that interval so that 2^{64L} + 2^(h+66) < r:
a negative R − t, which would sit at r + (R − t) mod r, cannot be written with L limbs.
L is a function of R and h, recomputed by the verifier, never read from the proof.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import group, rangeproof
from ..errors import DecodeError, ProvingError
from ..formats.publication import ReserveProof
from ..generators import pedersen_bases
from ..group import Point, R
from ..pedersen import commit
from ..transcript import RESERVES_TAG, Rng, Transcript
from .leaf import LEAF_BITS

LIMB_BITS = 64
MAX_LIMBS = 3
#: The largest reserve a column may state (10^36 units, as every amount).
MAX_RESERVE = 10**36


def reserve_limbs(reserve: int, height: int) -> int:
    """L for a reserve R in a tree of height h: R − t < R + 2^(h+66) < 2^{64L}."""
    if not 0 <= reserve <= MAX_RESERVE:
        raise ValueError(f"a reserve must be in [0, 10^36] units, got {reserve}")
    spread = 1 << (height + LEAF_BITS)
    limbs = -(-(reserve + spread).bit_length() // LIMB_BITS)
    if limbs > MAX_LIMBS or (1 << (LIMB_BITS * limbs)) + spread >= R:
        raise ValueError("the reserve is too wide to range-prove")
    return limbs


def reserves_context(root_message: bytes, reserves: Sequence[int], limbs: Sequence[int]) -> bytes:
    """Everything the proof speaks of: the signed root's message, each reserve and limb count."""
    t = Transcript(RESERVES_TAG)
    t.absorb_varlen(root_message)
    t.absorb_u32(len(reserves))
    for reserve, n in zip(reserves, limbs, strict=True):
        t.absorb_varlen(str(reserve).encode())
        t.absorb_u32(n)
    return t.state_digest()


def _top_commitment(d: Point, lower: Sequence[Point], limbs: int) -> Point:
    inv = pow(1 << (LIMB_BITS * (limbs - 1)), -1, R)
    acc = d
    for j, c in enumerate(lower):
        acc = acc - group.mul(c, 1 << (LIMB_BITS * j)) if j else acc - c
    return group.mul(acc, inv)


def prove_reserves(
    totals: Sequence[Point],
    openings: Sequence[tuple[int, int]],
    reserves: Sequence[int],
    height: int,
    root_message: bytes,
    rng: Rng,
) -> ReserveProof:
    """Prove R_c − t_c ≥ 0 for every column; refuse (ProvingError) a column that falls short."""
    G, _ = pedersen_bases()
    limbs = [reserve_limbs(r, height) for r in reserves]
    context = reserves_context(root_message, reserves, limbs)
    values: list[int] = []
    blindings: list[int] = []
    lower_points: list[Point] = []
    for c, (total, (t, beta), reserve, n) in enumerate(
        zip(totals, openings, reserves, limbs, strict=True)
    ):
        if commit(t, beta) != total:
            raise ProvingError(f"column {c}: the total's opening does not open its commitment")
        gap = reserve - t
        if gap < 0:
            raise ProvingError(f"column {c}: the reserve {reserve} is below the total {t}")
        digits = [(gap >> (LIMB_BITS * j)) & ((1 << LIMB_BITS) - 1) for j in range(n)]
        rhos = rng.random_scalars(n - 1)
        lower = [commit(v, g) for v, g in zip(digits[:-1], rhos, strict=True)]
        inv = pow(1 << (LIMB_BITS * (n - 1)), -1, R)
        top_blind = (-beta - sum(g << (LIMB_BITS * j) for j, g in enumerate(rhos))) * inv % R
        values += digits
        blindings += [*rhos, top_blind]
        lower_points += lower
        assert _top_commitment(group.mul(G, reserve) - total, lower, n) == commit(
            digits[-1], top_blind
        )
    proof, _ = rangeproof.prove(values, blindings, LIMB_BITS, context, rng=rng)
    return ReserveProof(
        reserves=[str(r) for r in reserves],
        limbs=limbs,
        limb_commitments=[group.encode_point(p).hex() for p in lower_points],
        proof=proof.to_bytes().hex(),
    )


def reserve_parts(
    doc: ReserveProof, totals: Sequence[Point], height: int, root_message: bytes
) -> tuple[rangeproof.RangeProof, list[Point], int, bytes]:
    """The range-proof item of a reserves proof, every commitment derived by the verifier;
    raise :class:`DecodeError` for a malformed or inconsistent proof."""
    G, _ = pedersen_bases()
    if len(doc.reserves) != len(totals):
        raise DecodeError(f"{len(totals)} columns but {len(doc.reserves)} reserves")
    reserves = [int(r) for r in doc.reserves]
    try:
        limbs = [reserve_limbs(r, height) for r in reserves]
    except ValueError as exc:
        raise DecodeError(str(exc)) from None
    if list(doc.limbs) != limbs:
        raise DecodeError("the limb counts are not those the reserves and height fix")
    n_lower = sum(n - 1 for n in limbs)
    if len(doc.limb_commitments) != n_lower:
        raise DecodeError(f"{n_lower} limb commitments expected, got {len(doc.limb_commitments)}")
    lower_all = group.decode_points(
        b"".join(bytes.fromhex(h) for h in doc.limb_commitments), n_lower
    )
    derived: list[Point] = []
    at = 0
    for total, reserve, n in zip(totals, reserves, limbs, strict=True):
        lower = lower_all[at : at + n - 1]
        at += n - 1
        derived += [*lower, _top_commitment(group.mul(G, reserve) - total, lower, n)]
    m = len(derived)
    proof = rangeproof.RangeProof.from_bytes(bytes.fromhex(doc.proof), LIMB_BITS, m)
    return proof, derived, LIMB_BITS, reserves_context(root_message, reserves, limbs)


def verify_reserves(
    doc: ReserveProof, totals: Sequence[Point], height: int, root_message: bytes
) -> bool:
    """Whether the proof shows R_c − t_c ≥ 0 for every column of the signed root."""
    try:
        item = reserve_parts(doc, totals, height, root_message)
    except DecodeError:
        return False
    if any(group.is_identity(d) for d in item[1]):
        return False
    return rangeproof.verify(*item)
