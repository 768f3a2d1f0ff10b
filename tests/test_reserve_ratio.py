"""The reserves proof with a minimum ratio ρ = num/den: den·R − num·t ≥ 0 per column; ρ = 1
keeps format 1 byte for byte."""

from __future__ import annotations

from typing import Any

import pytest

from zkmargin.errors import ProvingError
from zkmargin.formats.publication import ReserveProof, ReserveRatioProof
from zkmargin.group import R
from zkmargin.liabilities import reserves as rsv
from zkmargin.liabilities.leaf import LEAF_BITS
from zkmargin.pedersen import commit
from zkmargin.transcript import SpongeRng

HEIGHT = 3
MESSAGE = b"a signed root's message"


def _prove(
    reserves: list[int], owed: list[int], ratio: rsv.Ratio, reveal: list[str] | None = None
) -> tuple[rsv.AnyReserveProof, list[Any]]:
    openings = [(t, 1000 + j) for j, t in enumerate(owed)]
    totals = [commit(t, b) for t, b in openings]
    rng = SpongeRng.from_tag(b"r")
    proof = rsv.prove_reserves(
        totals, openings, reserves, HEIGHT, MESSAGE, rng, ratio, reveal=reveal
    )
    return proof, totals


def test_ratio_parsing_and_bounds() -> None:
    assert rsv.parse_ratio("1") == (1, 1)
    assert rsv.parse_ratio("1.05") == (21, 20)
    assert rsv.parse_ratio("1000") == (1000, 1)
    assert rsv.parse_ratio("1.000001") == (1_000_001, 1_000_000)
    for bad in ("0.99", "1000.5", "1.0000001", "x", "nan", "-2"):
        with pytest.raises(ValueError):
            rsv.parse_ratio(bad)
    with pytest.raises(ValueError, match="lowest terms"):
        rsv.check_ratio((42, 40))
    # the widest statement: R = 10^36, den = 10^6, num = 10^9, h = 40: three limbs, no wrap
    num, den = 999_998_999, 999_999  # just under 1000, in lowest terms
    limbs = rsv.reserve_limbs(rsv.MAX_RESERVE, 40, (num, den))
    spread = num << (40 + LEAF_BITS)
    assert limbs == 3
    assert den * rsv.MAX_RESERVE + spread <= 1 << (64 * limbs)
    assert (1 << (64 * limbs)) + spread < R
    assert rsv.reserve_limbs(5, HEIGHT) == rsv.reserve_limbs(5, HEIGHT, (1, 1))


def test_ratio_one_is_format_one() -> None:
    proof, totals = _prove([150, 7], [100, 7], (1, 1))
    assert isinstance(proof, ReserveProof)
    assert "min_ratio" not in proof.model_dump_json()
    assert rsv.verify_reserves(proof, totals, HEIGHT, MESSAGE)
    # the context of ρ = 1 is the original one (nothing about a ratio absorbed)
    limbs = [rsv.reserve_limbs(r, HEIGHT) for r in (150, 7)]
    assert rsv.reserves_context(MESSAGE, [150, 7], limbs) == rsv.reserves_context(
        MESSAGE, [150, 7], limbs, (1, 1)
    )


def test_ratio_proof_verifies_and_binds_the_ratio() -> None:
    proof, totals = _prove([105, 0, 2100], [100, 0, 2000], (21, 20))
    assert isinstance(proof, ReserveRatioProof) and proof.min_ratio == "21/20"
    assert rsv.verify_reserves(proof, totals, HEIGHT, MESSAGE)
    assert rsv.proof_ratio(proof) == (21, 20)
    for other in ("11/10", "1/1", "22/21"):
        forged = proof.model_copy(update={"min_ratio": other})
        assert not rsv.verify_reserves(forged, totals, HEIGHT, MESSAGE)
    as_v1 = ReserveProof.model_validate(proof.model_dump(exclude={"format", "min_ratio", "totals"}))
    assert not rsv.verify_reserves(as_v1, totals, HEIGHT, MESSAGE)
    assert not rsv.verify_reserves(proof, totals, HEIGHT, MESSAGE + b"!")


def test_short_of_the_ratio_is_refused() -> None:
    with pytest.raises(ProvingError, match="21/20"):
        _prove([104, 0], [100, 0], (21, 20))
    # a liability at the bound is fine; one unit more at the ratio is not
    _prove([1050], [1000], (21, 20))
    with pytest.raises(ProvingError):
        _prove([1050], [1001], (21, 20))


def test_negative_liabilities_at_a_ratio() -> None:
    """A column whose total is negative (the venue owes less than nothing): den·R − num·t is
    still the non-negative integer proven."""
    t = -(1 << 20)
    proof, totals = _prove([0], [t], (3, 2))
    assert rsv.verify_reserves(proof, totals, HEIGHT, MESSAGE)


def test_revealed_totals_open_the_commitments() -> None:
    proof, totals = _prove([105, 3], [100, -2], (21, 20), reveal=["BTC", "USD"])
    assert isinstance(proof, ReserveRatioProof) and proof.totals is not None
    assert [(o.column, o.value) for o in proof.totals] == [("BTC", "100"), ("USD", "-2")]
    assert rsv.verify_reserves(proof, totals, HEIGHT, MESSAGE)
    assert rsv.check_revealed(proof, ["BTC", "USD"], totals) == ""
    lie = [o.model_copy(update={"value": "99"}) if o.column == "BTC" else o for o in proof.totals]
    forged = proof.model_copy(update={"totals": lie})
    assert "column BTC" in rsv.check_revealed(forged, ["BTC", "USD"], totals)
    assert "in order" in rsv.check_revealed(proof, ["USD", "BTC"], totals)
    # revealing at ρ = 1 writes format 2 with "1/1", whose proof is format 1's
    plain, totals = _prove([5], [5], (1, 1), reveal=["BTC"])
    assert isinstance(plain, ReserveRatioProof) and plain.min_ratio == "1/1"
    assert rsv.verify_reserves(plain, totals, HEIGHT, MESSAGE)
    assert (
        rsv.check_revealed(
            ReserveProof.model_validate(
                plain.model_dump(exclude={"format", "min_ratio", "totals"})
            ),
            ["BTC"],
            totals,
        )
        == ""
    )
