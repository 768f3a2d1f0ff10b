"""Commit to balances, prove them non-negative and below 2^64, verify, and see a replay fail.

Run: python examples/range_proof_basics.py
"""

from __future__ import annotations

from zkmargin import api


def main() -> int:
    balances = [1_000_000, 25, 0]  # integer units, e.g. micro-USDT
    bundle, openings = api.prove_range(balances, 64, context=b"example; epoch=42")
    print(f"{len(bundle.commitments)} commitments, proof of {len(bundle.proof)} bytes")
    assert api.verify_range(bundle), "an honest proof must verify"
    replayed = api.RangeProofBundle(
        bundle.n, b"example; epoch=43", bundle.commitments, bundle.proof
    )
    assert not api.verify_range(replayed), "a proof must not verify under another epoch"
    print("verified; the same proof replayed under another epoch is rejected")
    print(f"keep the openings secret: {len(openings)} (value, blinding) pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
