"""Aggregated Bulletproofs range proofs with batch verification.

``prove(values, blindings, n, context)`` returns a :class:`RangeProof` and the commitments
V_j = v_j·G + γ_j·H; ``verify(proof, commitments, n, context)`` and ``batch_verify`` check them.
"""

from .proof import BIT_WIDTHS, RangeProof, padded_count, proof_size
from .prover import Precommitment, prepare, prove
from .verifier import batch_verify, verify

__all__ = [
    "BIT_WIDTHS",
    "Precommitment",
    "RangeProof",
    "batch_verify",
    "padded_count",
    "prepare",
    "proof_size",
    "prove",
    "verify",
]
