"""Files of the exchange's publication: reserves, the signed root, reserve proofs, the header of
the SQLite publication, and a user's inclusion file.

Commitments are 48-byte compressed G1 points in lowercase hexadecimal; a liabilities *column* is
one asset of the market (in that asset's units) or the valuation currency (the accounts' cash,
in valuation units). Amounts are decimal integer strings in a column's units, except in the
reserves file, which states human decimals.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from .common import STRICT, DecimalText
from .market import MarketSnapshot
from .statement import (
    MAX_HEIGHT,
    AccountOpenings,
    AccountStatement,
    Hex32,
    Hex48,
    HexBytes,
    InclusionAttestation,
    IntText,
    LiabilitiesTree,
    SlotOpening,
    Symbol,
    VenueEpoch,
    VenueName,
)

#: The format version of a publication this zkmargin writes and reads.
PUBLICATION_VERSION = 1


class ReservesFile(BaseModel):
    """Format ``zkmargin/reserves/1``: what the exchange holds, per column, in human decimals
    (``"1250000.5"`` USDT). Every column of the market must be named, the valuation currency
    (the accounts' cash) included."""

    model_config = STRICT
    format: Literal["zkmargin/reserves/1"] = "zkmargin/reserves/1"
    venue: VenueName | None = None
    epoch: int | None = Field(default=None, ge=0, lt=1 << 63)
    reserves: dict[Symbol, DecimalText] = Field(min_length=1, max_length=4096)


class PublicationHeader(LiabilitiesTree):
    """Format ``zkmargin/publication/1``: what a publication is about. Every field is bound by
    the signed root (``columns``, ``decimals``: the liabilities columns in order and their
    decimals, fixed by the market)."""

    format: Literal["zkmargin/publication/1"] = "zkmargin/publication/1"
    decimals: list[int] = Field(min_length=1, max_length=4096)


class ReserveProof(BaseModel):
    """Format ``zkmargin/reserve-proof/1``: per column, ``reserve − total ≥ 0`` over the root's
    total commitments: the limbs the prover commits (the top limb of each column is derived by
    the verifier) and one aggregated 64-bit Bulletproof."""

    model_config = STRICT
    format: Literal["zkmargin/reserve-proof/1"] = "zkmargin/reserve-proof/1"
    reserves: list[IntText] = Field(min_length=1, max_length=4096)
    limbs: list[int] = Field(min_length=1, max_length=4096)
    limb_commitments: list[Hex48] = Field(max_length=8192)  # type: ignore[valid-type]
    proof: HexBytes = Field(max_length=1 << 20)


class ColumnOpening(BaseModel):
    model_config = STRICT
    column: Symbol
    value: IntText
    blinding: Hex32  # type: ignore[valid-type]


class ReserveRatioProof(BaseModel):
    """Format ``zkmargin/reserve-proof/2``: per column, ``den·reserve − num·total ≥ 0``, that is
    reserve ≥ ρ·total for the public minimum ratio ρ = ``min_ratio`` (``"num/den"`` in lowest
    terms; format 1 is ρ = 1 with totals hidden). The proof's fields are format 1's; ``totals``,
    when the exchange reveals them (``--reveal-totals``), opens every column's total
    commitment."""

    model_config = STRICT
    format: Literal["zkmargin/reserve-proof/2"] = "zkmargin/reserve-proof/2"
    min_ratio: Annotated[
        str, StringConstraints(pattern=r"^[1-9][0-9]{0,9}/[1-9][0-9]{0,6}$", strict=True)
    ]
    reserves: list[IntText] = Field(min_length=1, max_length=4096)
    limbs: list[int] = Field(min_length=1, max_length=4096)
    limb_commitments: list[Hex48] = Field(max_length=8192)  # type: ignore[valid-type]
    proof: HexBytes = Field(max_length=1 << 20)
    totals: list[ColumnOpening] | None = Field(default=None, max_length=4096)


class InclusionFile(BaseModel):
    """Format ``zkmargin/inclusion/1``: one user's private file: the market snapshot, their
    statement, its openings, the openings of their leaf's liabilities and the inclusion
    attestation. Owner-only."""

    model_config = STRICT
    format: Literal["zkmargin/inclusion/1"] = "zkmargin/inclusion/1"
    market: MarketSnapshot
    statement: AccountStatement
    openings: AccountOpenings
    liabilities: list[ColumnOpening] = Field(min_length=1, max_length=4096)
    attestation: InclusionAttestation
    #: the exchange says it published this account written off (its debts left out because its
    #: holdings did not cover them): what the user is shown, not something a proof shows
    written_off: bool = False


class SecretsHeader(VenueEpoch):
    """Format ``zkmargin/publication-secrets/1``: which publication a secrets file belongs to
    (venue key, epoch, market, and the digest of the whole plan)."""

    format: Literal["zkmargin/publication-secrets/1"] = "zkmargin/publication-secrets/1"
    plan: Hex32  # type: ignore[valid-type]


class AccountSecret(BaseModel):
    """One account's secrets in a secrets file: its leaf position, its salt, the openings of its
    statement's slots and the blindings of its leaf proof's auxiliary commitments."""

    model_config = STRICT
    account: VenueName
    position: int = Field(ge=0, lt=1 << MAX_HEIGHT)
    salt: Hex32  # type: ignore[valid-type]
    openings: list[SlotOpening] = Field(min_length=1, max_length=4096)
    aux_blindings: list[Hex32] = Field(max_length=4096)  # type: ignore[valid-type]
    #: the account's debts were not covered by its own holdings: its leaf leaves them out
    written_off: bool = False
