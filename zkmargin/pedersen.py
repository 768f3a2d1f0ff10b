"""Pedersen commitments C = v·G + γ·H over the bases of :mod:`zkmargin.generators`.

Perfectly hiding, computationally binding (binding rests on nobody knowing log_G H, which
hash-to-curve guarantees). Commitments are additively homomorphic:
Com(v₁, γ₁) + Com(v₂, γ₂) = Com(v₁ + v₂, γ₁ + γ₂) and k·Com(v, γ) = Com(k·v, k·γ), which is how
linear forms over committed values are evaluated without opening them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import group
from .generators import pedersen_bases
from .group import Point, R


@dataclass(frozen=True)
class Opening:
    """The opening (v, γ) of a commitment: value and blinding, both mod r."""

    value: int
    blinding: int

    def __add__(self, other: Opening) -> Opening:
        return Opening((self.value + other.value) % R, (self.blinding + other.blinding) % R)

    def scale(self, k: int) -> Opening:
        """The opening of k·C."""
        return Opening(self.value * k % R, self.blinding * k % R)


def commit(value: int, blinding: int) -> Point:
    """C = v·G + γ·H."""
    G, H = pedersen_bases()
    return group.msm([G, H], [value % R, blinding % R])


def commit_opening(opening: Opening) -> Point:
    """C = v·G + γ·H for an :class:`Opening`."""
    return commit(opening.value, opening.blinding)


def verify_opening(commitment: Point, opening: Opening) -> bool:
    """Whether C = v·G + γ·H."""
    return bool(commit_opening(opening) == commitment)


def linear_combination(commitments: Sequence[Point], coefficients: Sequence[int]) -> Point:
    """Σ k_i·C_i, the commitment to Σ k_i·v_i under blinding Σ k_i·γ_i."""
    return group.msm(commitments, [k % R for k in coefficients])


def combine_openings(openings: Sequence[Opening], coefficients: Sequence[int]) -> Opening:
    """The opening of Σ k_i·C_i."""
    if len(openings) != len(coefficients):
        raise ValueError("need one coefficient per opening")
    v = sum(o.value * k for o, k in zip(openings, coefficients, strict=True)) % R
    g = sum(o.blinding * k for o, k in zip(openings, coefficients, strict=True)) % R
    return Opening(v, g)
