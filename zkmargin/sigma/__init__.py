"""Sigma proofs for linear relations, ciphersuite ``sigma-proofs_Shake128_BLS12381``."""

from .proof import (
    BATCHABLE,
    COMPACT,
    batch_verify,
    check_tag,
    derive_challenge,
    prove_batchable,
    prove_compact,
    verify_batchable,
    verify_compact,
)
from .relation import (
    Equation,
    InvalidInstance,
    LinearRelation,
    RelationBuilder,
    deserialize_relation,
)

__all__ = [
    "BATCHABLE",
    "COMPACT",
    "Equation",
    "InvalidInstance",
    "LinearRelation",
    "RelationBuilder",
    "batch_verify",
    "check_tag",
    "derive_challenge",
    "deserialize_relation",
    "prove_batchable",
    "prove_compact",
    "verify_batchable",
    "verify_compact",
]
