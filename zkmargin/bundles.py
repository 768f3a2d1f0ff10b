"""Range proofs and Sigma relations as bytes: what a user stores or sends is exactly what the
verifier decodes, with every validation rule of :mod:`zkmargin.group` applied."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from . import group, pedersen, rangeproof, sigma
from .errors import DecodeError, InvalidArgument, require_bytes, require_int
from .generators import pedersen_bases
from .group import R
from .rangeproof import RangeProof


@dataclass(frozen=True)
class RangeProofBundle:
    """A range proof with its public statement, all as bytes."""

    n: int
    context: bytes
    commitments: tuple[bytes, ...]
    proof: bytes


def prove_range(
    values: Sequence[int],
    n: int,
    context: bytes = b"",
    blindings: Sequence[int] | None = None,
) -> tuple[RangeProofBundle, list[pedersen.Opening]]:
    """Commit to ``values`` and prove each lies in [0, 2^n); return the bundle and openings.

    Fresh blindings are drawn unless given. The openings are secret: keep them.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidArgument(f"values must be a sequence of ints, got {type(values).__name__}")
    gammas = (
        list(blindings) if blindings is not None else [secrets.randbelow(R - 1) + 1 for _ in values]
    )
    proof, commitments = rangeproof.prove(values, gammas, n, context)
    bundle = RangeProofBundle(
        n, context, tuple(group.encode_point(c) for c in commitments), proof.to_bytes()
    )
    return bundle, [pedersen.Opening(v % R, g % R) for v, g in zip(values, gammas, strict=True)]


def decode_bundle(bundle: RangeProofBundle) -> tuple[RangeProof, list[group.Point]]:
    """Decode a bundle's commitments and proof, or raise :class:`DecodeError`."""
    require_int("n", bundle.n)
    require_bytes("context", bundle.context)
    commitments = [group.decode_point(require_bytes("a commitment", c)) for c in bundle.commitments]
    if not commitments:
        raise DecodeError("a range proof needs at least one commitment")
    return RangeProof.from_bytes(bundle.proof, bundle.n, len(commitments)), commitments


def verify_range(bundle: RangeProofBundle) -> bool:
    """Whether the bundle's proof shows every commitment holds a value in [0, 2^n).

    Malformed bytes raise :class:`DecodeError`; a well-formed but false proof returns False.
    """
    if not isinstance(bundle, RangeProofBundle):
        raise InvalidArgument(f"expected a RangeProofBundle, got {type(bundle).__name__}")
    proof, commitments = decode_bundle(bundle)
    return rangeproof.verify(proof, commitments, bundle.n, bundle.context)


def batch_verify_range(bundles: Sequence[RangeProofBundle]) -> bool:
    """Verify many bundles as one multi-scalar multiplication."""
    items = []
    for b in bundles:
        proof, commitments = decode_bundle(b)
        items.append((proof, commitments, b.n, b.context))
    return rangeproof.batch_verify(items)


def opening_relation(commitment: group.Point) -> sigma.LinearRelation:
    """PK{(v, γ): C = v·G + γ·H}."""
    G, H = pedersen_bases()
    b = sigma.RelationBuilder("PedersenOpening")
    v, gamma = b.witness("v", "γ")
    g_i, h_i, c_i = b.element("G", G), b.element("H", H), b.element("C", commitment)
    b.equation([(1, c_i)], [(1, v, g_i), (1, gamma, h_i)])
    return b.build()


def equality_relation(left: group.Point, right: group.Point) -> sigma.LinearRelation:
    """PK{(δ): C₁ − C₂ = δ·H}: C₁ and C₂ commit to the same value."""
    _, H = pedersen_bases()
    b = sigma.RelationBuilder("EqualValues")
    (delta,) = b.witness("δ")
    h_i, c1, c2 = b.element("H", H), b.element("C₁", left), b.element("C₂", right)
    b.equation([(1, c1), (-1, c2)], [(1, delta, h_i)])
    return b.build()
