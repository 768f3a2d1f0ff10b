"""Non-interactive Sigma proofs for linear relations (draft-irtf-cfrg-sigma-protocols §4–5).

Ciphersuite ``sigma-proofs_Shake128_BLS12381``: G1 of BLS12-381, Ne = 48, Ns = 32 (big-endian),
SHAKE128 duplex sponge. For a relation image = M·w the prover sends the commitment
K = M·k for random nonces k, gets c = DeriveChallenge(tag, instance, K) and answers
s = k + c·w; the verifier checks M·s = K + c·image.

* batchable NARG string: ``K ‖ s`` (Ne·num_equations + Ns·num_scalars bytes), verifiable in
  batches with one multi-scalar multiplication;
* compact NARG string: ``c ‖ s`` (Ns·(num_scalars + 1) bytes); the verifier recomputes
  K = M·s − c·image and checks that it hashes to c.

The tag must contain the flavor marker (``DSFS`` or ``CMPT``) and the ciphersuite identifier
verbatim; a tag without them is refused before any proof is read.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import group
from ..errors import DecodeError, ProvingError
from ..group import POINT_BYTES, SCALAR_BYTES, Point, R
from ..transcript import (
    SIGMA_BATCH_TAG,
    SIGMA_CIPHERSUITE,
    DuplexSponge,
    EntropySource,
    Rng,
    Transcript,
    decode_uint,
    derive_session_id,
    hedged_rng,
    le2ip,
)
from .relation import InvalidInstance, LinearRelation

BATCHABLE = "DSFS"
COMPACT = "CMPT"


def check_tag(tag: bytes, flavor: str) -> None:
    """A tag is ``{application}-{flavor}-with-{ciphersuite}`` (§5.1): the flavor is its own
    '-'-delimited field just before ``-with-``, the ciphersuite ends it, and no field names the
    other flavor (so a proof cannot be re-encoded into the other flavor under one tag)."""
    if not isinstance(tag, bytes):
        raise TypeError("a tag is bytes")
    suffix = f"-with-{SIGMA_CIPHERSUITE}".encode()
    if not tag.endswith(suffix):
        raise ValueError(
            f"the tag must end with the ciphersuite identifier: -with-{SIGMA_CIPHERSUITE}"
        )
    fields = tag[: -len(suffix)].split(b"-")
    if fields[-1] != flavor.encode():
        raise ValueError(f"the tag's flavor field (before -with-) must be {flavor}")
    other = COMPACT if flavor == BATCHABLE else BATCHABLE
    if other.encode() in fields:
        raise ValueError(f"the tag names both flavors {flavor} and {other}")


def derive_challenge(tag: bytes, relation: LinearRelation, commitment_bytes: bytes) -> int:
    """DeriveChallenge: DecodeField(Squeeze(48)) after the instance and the commitment."""
    sponge = DuplexSponge(derive_session_id(tag))
    sponge.absorb(relation.serialize())
    sponge.absorb(commitment_bytes)
    return decode_uint(sponge.squeeze(SCALAR_BYTES + 16), R)


def _witness_bytes(witness: Sequence[int]) -> bytes:
    return b"".join(group.encode_scalar(w) for w in witness)


def _commit(
    tag: bytes,
    relation: LinearRelation,
    witness: Sequence[int],
    rng: Rng | None,
    entropy: EntropySource | None,
) -> tuple[list[int], bytes]:
    """ProverCommitment: validate, check the witness, draw nonces k, return (k, encode(M·k))."""
    try:
        relation.validate()
    except InvalidInstance as exc:
        raise ProvingError(f"invalid instance: {exc}") from None
    if len(witness) != relation.num_scalars:
        raise ProvingError(
            f"the relation has {relation.num_scalars} witness scalars, got {len(witness)}"
        )
    if relation.map(witness) != relation.image():
        raise ProvingError("the witness does not satisfy the relation")
    if rng is None:
        t = Transcript(tag)
        t.absorb_bytes(relation.serialize())
        rng = hedged_rng(t, _witness_bytes(witness), entropy)
    nonces = rng.random_scalars(relation.num_scalars)
    commitment = relation.map(nonces)
    if any(group.is_identity(k) for k in commitment):
        raise ProvingError("the commitment is the identity (retry with fresh randomness)")
    return nonces, b"".join(group.encode_point(k) for k in commitment)


def _respond(nonces: Sequence[int], witness: Sequence[int], challenge: int) -> bytes:
    """ProverResponse: s_i = k_i + c·w_i."""
    return b"".join(
        group.encode_scalar((k + w * challenge) % R) for k, w in zip(nonces, witness, strict=True)
    )


def prove_batchable(
    tag: bytes,
    relation: LinearRelation,
    witness: Sequence[int],
    rng: Rng | None = None,
    entropy: EntropySource | None = None,
) -> bytes:
    """ProveBatchable: the NARG string K ‖ s."""
    check_tag(tag, BATCHABLE)
    nonces, commitment_bytes = _commit(tag, relation, witness, rng, entropy)
    c = derive_challenge(tag, relation, commitment_bytes)
    return commitment_bytes + _respond(nonces, witness, c)


def prove_compact(
    tag: bytes,
    relation: LinearRelation,
    witness: Sequence[int],
    rng: Rng | None = None,
    entropy: EntropySource | None = None,
) -> bytes:
    """ProveCompact: the NARG string c ‖ s."""
    check_tag(tag, COMPACT)
    nonces, commitment_bytes = _commit(tag, relation, witness, rng, entropy)
    c = derive_challenge(tag, relation, commitment_bytes)
    return group.encode_scalar(c) + _respond(nonces, witness, c)


def _parse_batchable(relation: LinearRelation, narg: bytes) -> tuple[list[Point], list[int]]:
    n_eq, n_sc = relation.num_equations, relation.num_scalars
    if len(narg) != POINT_BYTES * n_eq + SCALAR_BYTES * n_sc:
        raise DecodeError("batchable NARG string has the wrong length")
    commitment = group.decode_points(narg[: POINT_BYTES * n_eq], n_eq)
    response = group.decode_scalars(narg[POINT_BYTES * n_eq :], n_sc)
    return commitment, response


def verify_batchable(tag: bytes, relation: LinearRelation, narg: bytes) -> bool:
    """VerifyBatchable: exact length, canonical K and s, and M·s = K + c·image."""
    check_tag(tag, BATCHABLE)
    try:
        commitment, response = _parse_batchable(relation, narg)
        relation.validate()
    except (InvalidInstance, DecodeError):
        return False
    c = derive_challenge(tag, relation, narg[: POINT_BYTES * relation.num_equations])
    expected = relation.map(response)
    image = relation.image()
    return all(
        e == k + group.mul(img, c) for e, k, img in zip(expected, commitment, image, strict=True)
    )


def verify_compact(tag: bytes, relation: LinearRelation, narg: bytes) -> bool:
    """VerifyCompact: K = M·s − c·image must not contain O and must hash back to c."""
    check_tag(tag, COMPACT)
    try:
        n_sc = relation.num_scalars
        if len(narg) != SCALAR_BYTES * (n_sc + 1):
            return False
        relation.validate()
        c = group.decode_scalar(narg[:SCALAR_BYTES])
        response = group.decode_scalars(narg[SCALAR_BYTES:], n_sc)
    except (InvalidInstance, DecodeError):
        return False
    image = relation.image()
    commitment = [
        m - group.mul(img, c) for m, img in zip(relation.map(response), image, strict=True)
    ]
    if any(group.is_identity(k) for k in commitment):
        return False
    return derive_challenge(tag, relation, b"".join(map(group.encode_point, commitment))) == c


def batch_verify(proofs: Sequence[tuple[bytes, LinearRelation, bytes]]) -> bool:
    """Verify many batchable NARG strings as one multi-scalar multiplication (§5.5).

    Each equation j of proof i gets a weight ρ_ij, uniform in [0, 2^128), squeezed from a sponge
    that has absorbed every session identifier, instance and NARG string, and the verifier checks
    Σ ρ_ij·(K_ij + c_i·image_ij − (M_i·s_i)_j) = O. An empty batch is valid.
    """
    if len(proofs) >= 1 << 32:
        raise ValueError("a batch holds fewer than 2^32 proofs")
    parsed = []
    weights_sponge = DuplexSponge(derive_session_id(SIGMA_BATCH_TAG))
    total_equations = 0
    for tag, relation, narg in proofs:
        check_tag(tag, BATCHABLE)
        try:
            commitment, response = _parse_batchable(relation, narg)
            relation.validate()
        except (InvalidInstance, DecodeError):
            return False
        instance = relation.serialize()
        c = derive_challenge(tag, relation, narg[: POINT_BYTES * relation.num_equations])
        parsed.append((relation, commitment, response, c))
        weights_sponge.absorb(derive_session_id(tag))
        weights_sponge.absorb(instance)
        weights_sponge.absorb(narg)
        total_equations += relation.num_equations
    randomness = weights_sponge.squeeze(16 * total_equations)
    points: list[Point] = []
    scalars: list[int] = []
    k = 0
    for relation, commitment, response, c in parsed:
        for j, eq in enumerate(relation.equations):
            rho = le2ip(randomness[16 * k : 16 * (k + 1)])
            k += 1
            points.append(commitment[j])
            scalars.append(rho)
            for e, coeff in eq.image:
                points.append(relation.elements[e])
                scalars.append(rho * c * coeff % R)
            for s, e, coeff in eq.terms:
                points.append(relation.elements[e])
                scalars.append(-rho * coeff * response[s] % R)
    return group.is_identity(group.msm(points, scalars))
