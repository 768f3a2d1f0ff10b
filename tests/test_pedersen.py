"""Pedersen commitments: openings and the homomorphism, on both backends."""

from __future__ import annotations

from zkmargin import pedersen
from zkmargin.group import R
from zkmargin.pedersen import Opening


def test_openings_and_homomorphism(backend: str) -> None:
    a, b = Opening(1_000_000, 17), Opening(R - 5, 2**200)  # R − 5 is −5
    ca, cb = pedersen.commit_opening(a), pedersen.commit_opening(b)
    assert pedersen.verify_opening(ca, a)
    assert not pedersen.verify_opening(ca, Opening(1_000_001, 17))
    assert not pedersen.verify_opening(ca, Opening(1_000_000, 18))
    assert ca + cb == pedersen.commit_opening(a + b)
    coeffs = [3, -2]
    combined = pedersen.combine_openings([a, b], coeffs)
    assert combined == Opening((3 * 1_000_000 + 10) % R, (3 * 17 - 2 * 2**200) % R)
    assert pedersen.linear_combination([ca, cb], coeffs) == pedersen.commit_opening(combined)
    assert pedersen.commit_opening(a.scale(7)) == pedersen.linear_combination([ca], [7])
