"""Reserves: per column, PK{(t, β): T = t·G + β·H ∧ 0 ≤ den·R − num·t < 2^(64·L)} for the public
reserve R, the root's total commitment T and a public minimum reserve ratio ρ = num/den ≥ 1
(ρ = 1 is the plain R − t ≥ 0).

D = den·R·G − num·T commits to den·R − num·t with blinding −num·β. Its value may need more than
64 bits, so it is split into L ≤ 3 limbs of 64 bits: the prover commits the lower L − 1 (C_j), the
verifier derives the top one itself, C_top = 2^{−64(L−1)}·(D − Σ_j 2^{64j}·C_j), and one aggregated
64-bit Bulletproof shows every limb in [0, 2^64). Then den·R − num·t ≡ Σ_j 2^{64j}·v_j (mod r)
with the sum S in [0, 2^{64L}).

The limb bound. Every leaf's liabilities are bounded (|L_c| < 2^73: ``leaf.LEAF_BITS``), so
|t| < 2^(h+73) for a tree of height h, and the integer g = den·R − num·t lies in
(den·R − num·2^(h+73), den·R + num·2^(h+73)). L is the least with den·R + num·2^(h+73) ≤
2^{64L}, and it must also satisfy 2^{64L} + num·2^(h+73) < r. If g were negative,
g > −num·2^(h+73), so its residue r + g would exceed r − num·2^(h+73) > 2^{64L} > S: no limbs
open to it, and the proof shows g ≥ 0, i.e. R ≥ ρ·t. With ρ = num/den in lowest terms,
num ≤ 10^9 and den ≤ 10^6 (ρ a decimal in [1, 1000] with at most 6 decimals), R ≤ 10^36 < 2^120
and h ≤ 40: den·R < 2^140 and num·2^(h+73) < 2^143, so L ≤ 3 and 2^192 + 2^143 < r ≈ 2^254.9:
the form never wraps mod r. For ρ = 1 this is the original bound.
L is a function of R, h and ρ, recomputed by the verifier, never read from the proof.

ρ = 1 writes format ``zkmargin/reserve-proof/1`` exactly as before; any other ρ writes
``zkmargin/reserve-proof/2``, which states ``min_ratio`` ("num/den") and absorbs num and den into
the proof's context.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from .. import group, rangeproof
from ..errors import DecodeError, ProvingError
from ..formats.common import DECIMAL_PATTERN
from ..formats.publication import ReserveProof, ReserveRatioProof
from ..generators import pedersen_bases
from ..group import Point, R
from ..pedersen import commit
from ..transcript import RESERVES_TAG, Rng, Transcript
from .leaf import LEAF_BITS

LIMB_BITS = 64
MAX_LIMBS = 3
#: The largest reserve a column may state (10^36 units, as every amount).
MAX_RESERVE = 10**36
#: A minimum reserve ratio num/den, in lowest terms: 1 ≤ num/den ≤ 1000, den ≤ 10^6.
Ratio = tuple[int, int]
ONE: Ratio = (1, 1)
MAX_RATIO_DEN = 10**6
MAX_RATIO = 1000
DECIMAL = re.compile(DECIMAL_PATTERN)
AnyReserveProof = ReserveProof | ReserveRatioProof


def check_ratio(ratio: Ratio) -> Ratio:
    """``ratio`` if it is num/den in lowest terms with 1 ≤ num/den ≤ 1000 and den ≤ 10^6."""
    num, den = ratio
    if not (1 <= den <= MAX_RATIO_DEN and den <= num <= MAX_RATIO * den):
        got = ratio_text(ratio) if den >= 1 else f"{num}/{den}"
        raise ValueError(f"a reserve ratio must lie in [1, {MAX_RATIO}], got {got}")
    if math.gcd(num, den) != 1:
        raise ValueError(f"write the reserve ratio {num}/{den} in lowest terms")
    return ratio


def parse_ratio(text: str) -> Ratio:
    """A decimal ratio ("1.05") as num/den in lowest terms; ValueError outside [1, 1000] or with
    more than 6 decimals."""
    if not DECIMAL.fullmatch(text):
        raise ValueError(f'reserve ratio {text!r} is not a plain decimal number ("1.05")')
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"reserve ratio {text!r} is not a decimal number") from None
    if not d.is_finite() or d != d.quantize(Decimal("0.000001")):
        raise ValueError(f"reserve ratio {text!r}: a decimal with at most 6 decimals")
    num, den = int(d * MAX_RATIO_DEN), MAX_RATIO_DEN
    g = math.gcd(num, den)
    return check_ratio((num // g, den // g))


def ratio_text(ratio: Ratio) -> str:
    """num/den as the decimal it was given as ("1.05"; "1" for ρ = 1)."""
    num, den = ratio
    d = (Decimal(num) / Decimal(den)).quantize(Decimal("0.000001")).normalize()
    return format(d, "f")


def proof_ratio(doc: AnyReserveProof) -> Ratio:
    """The ratio a reserves proof states (1 for format 1)."""
    if isinstance(doc, ReserveRatioProof):
        num, den = doc.min_ratio.split("/")
        return check_ratio((int(num), int(den)))
    return ONE


def reserve_limbs(reserve: int, height: int, ratio: Ratio = ONE) -> int:
    """L for a reserve R in a tree of height h and a ratio num/den:
    den·R + num·2^(h+73) ≤ 2^{64L} and 2^{64L} + num·2^(h+73) < r (73 = leaf.LEAF_BITS)."""
    if not 0 <= reserve <= MAX_RESERVE:
        raise ValueError(f"a reserve must be in [0, 10^36] units, got {reserve}")
    num, den = check_ratio(ratio)
    spread = num << (height + LEAF_BITS)
    limbs = -(-(den * reserve + spread).bit_length() // LIMB_BITS)
    if limbs > MAX_LIMBS or (1 << (LIMB_BITS * limbs)) + spread >= R:
        raise ValueError("the reserve is too wide to range-prove")
    return limbs


def reserves_context(
    root_message: bytes, reserves: Sequence[int], limbs: Sequence[int], ratio: Ratio = ONE
) -> bytes:
    """Everything the proof speaks of: the signed root's message, each reserve and limb count,
    and (ρ ≠ 1 only, so format 1 is unchanged) the ratio's num and den."""
    t = Transcript(RESERVES_TAG)
    t.absorb_varlen(root_message)
    t.absorb_u32(len(reserves))
    for reserve, n in zip(reserves, limbs, strict=True):
        t.absorb_varlen(str(reserve).encode())
        t.absorb_u32(n)
    if ratio != ONE:
        t.absorb_varlen(f"min-ratio {ratio[0]}/{ratio[1]}".encode())
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
    ratio: Ratio = ONE,
    *,
    reveal: Sequence[str] | None = None,
) -> AnyReserveProof:
    """Prove den·R_c − num·t_c ≥ 0 (R_c ≥ ρ·t_c) for every column; refuse (ProvingError) a
    column that falls short. ``reveal`` (the column symbols) opens every total in the proof
    (format 2)."""
    G, _ = pedersen_bases()
    num, den = check_ratio(ratio)
    limbs = [reserve_limbs(r, height, ratio) for r in reserves]
    context = reserves_context(root_message, reserves, limbs, ratio)
    values: list[int] = []
    blindings: list[int] = []
    lower_points: list[Point] = []
    for c, (total, (t, beta), reserve, n) in enumerate(
        zip(totals, openings, reserves, limbs, strict=True)
    ):
        if commit(t, beta) != total:
            raise ProvingError(f"column {c}: the total's opening does not open its commitment")
        gap = den * reserve - num * t
        if gap < 0:
            raise ProvingError(
                f"column {c}: the reserve {reserve} is below {num}/{den} of the total {t}"
            )
        digits = [(gap >> (LIMB_BITS * j)) & ((1 << LIMB_BITS) - 1) for j in range(n)]
        rhos = rng.random_scalars(n - 1)
        lower = [commit(v, g) for v, g in zip(digits[:-1], rhos, strict=True)]
        inv = pow(1 << (LIMB_BITS * (n - 1)), -1, R)
        top_blind = (-num * beta - sum(g << (LIMB_BITS * j) for j, g in enumerate(rhos))) * inv % R
        values += digits
        blindings += [*rhos, top_blind]
        lower_points += lower
        assert _top_commitment(_gap_commitment(G, reserve, total, ratio), lower, n) == commit(
            digits[-1], top_blind
        )
    proof, _ = rangeproof.prove(values, blindings, LIMB_BITS, context, rng=rng)
    fields: dict[str, object] = {
        "reserves": [str(r) for r in reserves],
        "limbs": limbs,
        "limb_commitments": [group.encode_point(p).hex() for p in lower_points],
        "proof": proof.to_bytes().hex(),
    }
    if ratio == ONE and reveal is None:
        return ReserveProof.model_validate(fields)
    if reveal is not None:
        fields["totals"] = [
            {"column": symbol, "value": str(t), "blinding": f"{beta % R:064x}"}
            for symbol, (t, beta) in zip(reveal, openings, strict=True)
        ]
    return ReserveRatioProof.model_validate({"min_ratio": f"{num}/{den}", **fields})


def check_revealed(doc: AnyReserveProof, columns: Sequence[str], totals: Sequence[Point]) -> str:
    """The empty string if the proof reveals no totals, or if every revealed total opens its
    column's commitment; else which column does not."""
    if not isinstance(doc, ReserveRatioProof) or doc.totals is None:
        return ""
    if [o.column for o in doc.totals] != list(columns) or len(totals) != len(columns):
        return "the revealed totals do not name the root's columns in order"
    for o, total in zip(doc.totals, totals, strict=True):
        if commit(int(o.value), int(o.blinding, 16)) != total:
            return f"column {o.column}: the revealed total does not open its commitment"
    return ""


def _gap_commitment(G: Point, reserve: int, total: Point, ratio: Ratio) -> Point:
    """D = den·R·G − num·T (R·G − T for ρ = 1, computed as before)."""
    num, den = ratio
    if ratio == ONE:
        return group.mul(G, reserve) - total
    return group.mul(G, den * reserve % R) - group.mul(total, num)


def reserve_parts(
    doc: AnyReserveProof, totals: Sequence[Point], height: int, root_message: bytes
) -> tuple[rangeproof.RangeProof, list[Point], int, bytes]:
    """The range-proof item of a reserves proof, every commitment derived by the verifier;
    raise :class:`DecodeError` for a malformed or inconsistent proof."""
    G, _ = pedersen_bases()
    if len(doc.reserves) != len(totals):
        raise DecodeError(f"{len(totals)} columns but {len(doc.reserves)} reserves")
    reserves = [int(r) for r in doc.reserves]
    try:
        ratio = proof_ratio(doc)
        limbs = [reserve_limbs(r, height, ratio) for r in reserves]
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
        derived += [*lower, _top_commitment(_gap_commitment(G, reserve, total, ratio), lower, n)]
    m = len(derived)
    proof = rangeproof.RangeProof.from_bytes(bytes.fromhex(doc.proof), LIMB_BITS, m)
    return proof, derived, LIMB_BITS, reserves_context(root_message, reserves, limbs, ratio)


def verify_reserves(
    doc: AnyReserveProof, totals: Sequence[Point], height: int, root_message: bytes
) -> bool:
    """Whether the proof shows R_c ≥ ρ·t_c (den·R_c − num·t_c ≥ 0) for every column of the
    signed root, ρ the ratio the proof states (1 for format 1)."""
    try:
        item = reserve_parts(doc, totals, height, root_message)
    except DecodeError:
        return False
    if any(group.is_identity(d) for d in item[1]):
        return False
    return rangeproof.verify(*item)
