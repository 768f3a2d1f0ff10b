"""Files of liquidation proofs: one proof, and the venue's log of an epoch's liquidations.

A liquidation proof shows that an account's venue-signed statement was strictly below θ times
its maintenance under the market snapshot it names (docs/liquidation.md). The log is JSON lines:
a header line, then one liquidation proof per line, as many as the header counts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from .common import STRICT, DecimalText
from .statement import AccountStatement, Hex32, Hex48, HexBytes, VenueName

CircuitName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
#: A log of more proofs than this is refused (a venue splits a larger batch).
MAX_LOG_ENTRIES = 1 << 20


class LiquidationProofFile(BaseModel):
    """Format ``zkmargin/liquidation-proof/1``: θ·requirement − equity ≥ 1 (valuation units; for
    isolated margin, settle units of one position) for the account of ``statement``, proven by
    the venue that signed it. ``proof`` holds only the venue's own commitments (selectors,
    auxiliary values, limbs), one aggregated Bulletproof and a Sigma proof: no amount, size or
    blinding, and not by how much the account was below."""

    model_config = STRICT
    format: Literal["zkmargin/liquidation-proof/1"] = "zkmargin/liquidation-proof/1"
    circuit: CircuitName
    circuit_digest: Hex32  # type: ignore[valid-type]
    market_digest: Hex32  # type: ignore[valid-type]
    threshold: DecimalText
    epoch: int = Field(ge=0, lt=1 << 63)
    statement: AccountStatement
    proof: HexBytes = Field(max_length=1 << 20)


class LiquidationLogHeader(BaseModel):
    """Format ``zkmargin/liquidation-log/1``, the first line of a log: the venue, its key, the
    epoch and market, θ, and how many proofs follow (a truncated log is refused)."""

    model_config = STRICT
    format: Literal["zkmargin/liquidation-log/1"] = "zkmargin/liquidation-log/1"
    venue: VenueName
    venue_key: Hex48  # type: ignore[valid-type]
    epoch: int = Field(ge=0, lt=1 << 63)
    market_digest: Hex32  # type: ignore[valid-type]
    threshold: DecimalText
    count: int = Field(ge=0, le=MAX_LOG_ENTRIES)
