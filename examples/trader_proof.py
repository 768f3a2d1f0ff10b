"""The trader's story through the Python API: a venue attests, a trader proves θ = 1.25 to a
lender, the lender verifies, and the same proof fails for another lender.

Run: python examples/trader_proof.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from zkmargin import api

HERE = Path(__file__).resolve().parent / "trader"


def main() -> int:
    market, account = HERE / "market.json", HERE / "account.json"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        key, pub = api.venue_keygen(d / "venue.key", "Example Venue")
        api.venue_attest(key=key, market=market, accounts=account, out_dir=d)
        result = api.prove_margin(
            market=market,
            statement=d / "alice.statement.json",
            openings=d / "alice.openings.json",
            threshold="1.25",
            context="lender=Acme",
            out=d / "proof.json",
        )
        print(f"{result.circuit} proof: {result.proof_bytes} bytes")
        venue_key = api.load_venue_public_key(pub)
        [ok] = api.verify_margin_proofs(
            [d / "proof.json"], market=market, venue_key=venue_key, context="lender=Acme"
        )
        assert ok.valid, ok.reason
        [other] = api.verify_margin_proofs(
            [d / "proof.json"], market=market, venue_key=venue_key, context="lender=Other"
        )
        assert not other.valid
        print(f"verified; shown to another lender it is rejected ({other.reason})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
