"""The market snapshot: everything public about a venue at one epoch (format ``zkmargin.market``).

Prices are decimal strings with their own declared decimals; rates and weights are decimal
fractions (``"0.004"``) with at most six decimals; amounts (tier bounds, cum deductions,
contract values) are decimals in the unit of the asset they measure.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import BaseModel, Discriminator, Field, StrictInt, Tag

from .common import STRICT, DecimalText


class HaircutTier(BaseModel):
    """A slice of a collateral balance counted at ``weight``, up to ``upto`` (none: no bound)."""

    model_config = STRICT
    upto: DecimalText | None = None
    weight: DecimalText


class Haircut(BaseModel):
    """How much of a balance counts: a flat ``weight``, or ``tiers`` of slices by amount or value.

    ``liability_weight`` (>= 1) scales a negative balance (a borrow).
    """

    model_config = STRICT
    weight: DecimalText = "1"
    tiers: list[HaircutTier] | None = None
    tier_basis: Literal["amount", "value"] = "amount"
    liability_weight: DecimalText = "1"


class Asset(BaseModel):
    """A collateral asset: amounts have ``decimals`` decimals; ``price`` is in valuation units."""

    model_config = STRICT
    symbol: str = Field(min_length=1, max_length=32)
    decimals: StrictInt = Field(ge=0, le=18)
    price: DecimalText
    price_decimals: StrictInt = Field(ge=0, le=18)
    haircut: Haircut = Haircut()


class Flat(BaseModel):
    """MM = N·rate."""

    model_config = STRICT
    type: Literal["flat"]
    rate: DecimalText


class CumTier(BaseModel):
    model_config = STRICT
    upto: DecimalText | None = None
    rate: DecimalText
    cum: DecimalText = "0"


class TiersCum(BaseModel):
    """MM = N·rate_t − cum_t for the tier t holding N (Binance); convex: the max of the pieces."""

    model_config = STRICT
    type: Literal["tiers_cum"]
    tiers: list[CumTier] = Field(min_length=1)


class SliceTier(BaseModel):
    model_config = STRICT
    upto: DecimalText | None = None
    rate: DecimalText


class TiersSlices(BaseModel):
    """MM = Σ_t rate_t·(the part of N inside tier t) (Bybit)."""

    model_config = STRICT
    type: Literal["tiers_slices"]
    tiers: list[SliceTier] = Field(min_length=1)


class InitialFraction(BaseModel):
    """IM = ⌈N·initial_rate⌉, MM = ⌈IM·maintenance_fraction⌉ (dYdX v4)."""

    model_config = STRICT
    type: Literal["initial_fraction"]
    initial_rate: DecimalText
    maintenance_fraction: DecimalText


class Weights(BaseModel):
    """Health weights on the base value (Mango v4): longs at ``asset_weight``, shorts at
    ``liability_weight``; a positive perp contribution is scaled by ``overall_asset_weight``."""

    model_config = STRICT
    type: Literal["weights"]
    asset_weight: DecimalText
    liability_weight: DecimalText
    overall_asset_weight: DecimalText = "1"


Schedule = Annotated[
    Flat | TiersCum | TiersSlices | InitialFraction | Weights, Field(discriminator="type")
]


class Initial(BaseModel):
    """Initial margin: IM = N·rate (schedules of type ``initial_fraction`` carry their own)."""

    model_config = STRICT
    rate: DecimalText


class OptionSpec(BaseModel):
    """A European option on the instrument's base, margined in portfolio mode only."""

    model_config = STRICT
    right: Literal["call", "put"]
    strike: DecimalText
    expiry: str = Field(description="ISO 8601 date")
    implied_vol: DecimalText = Field(description="annualised, as a fraction")
    years_to_expiry: DecimalText


class Instrument(BaseModel):
    """A contract. Sizes are integers of 10^−size_decimals (base units for linear, contracts
    otherwise); ``mark_price`` is in settle-asset units per base unit (linear, option) or in
    quote units per base (inverse, with ``contract_value`` quote units per contract)."""

    model_config = STRICT
    symbol: str = Field(min_length=1, max_length=64)
    kind: Literal["linear", "inverse", "option"]
    base: str
    settle: str
    size_decimals: StrictInt = Field(ge=0, le=18)
    mark_price: DecimalText
    price_decimals: StrictInt = Field(ge=0, le=18)
    contract_value: DecimalText | None = None
    multiplier: DecimalText = "1"
    maintenance: Schedule | None = None
    initial: Initial | None = None
    option: OptionSpec | None = None


class Scenario(BaseModel):
    """A move of the underlying price and of volatility (fractions), with a loss weight."""

    model_config = STRICT
    price_move: DecimalText
    vol_move: DecimalText = "0"
    weight: DecimalText = "1"


class ScenarioGrid(BaseModel):
    model_config = STRICT
    name: str
    scenarios: list[Scenario] = Field(min_length=1)


class SpanPreset(BaseModel):
    """SPAN's 16 scenarios: price 0, ±1/3, ±2/3, ±1 of the range with vol up and down, and ±3
    ranges (extreme) at 35 %."""

    model_config = STRICT
    preset: Literal["SPAN16"]
    price_range: DecimalText
    vol_range: DecimalText = "0"


def _grid_kind(value: object) -> str:
    """A grid naming a ``preset`` is a preset (SPAN16); anything else is an explicit grid."""
    if isinstance(value, dict):
        return "preset" if "preset" in value else "grid"
    return "preset" if isinstance(value, SpanPreset) else "grid"


Grid = Annotated[
    Annotated[ScenarioGrid, Tag("grid")] | Annotated[SpanPreset, Tag("preset")],
    Discriminator(_grid_kind),
]


class Portfolio(BaseModel):
    """Portfolio margin: a scenario grid and the published risk arrays (integer P&L of one
    contract, in valuation units, per scenario)."""

    model_config = STRICT
    grid: Grid
    risk_arrays: dict[str, list[int]] = Field(default_factory=dict)


class Valuation(BaseModel):
    model_config = STRICT
    symbol: str
    decimals: StrictInt = Field(ge=0, le=18)


class MarketSnapshot(BaseModel):
    """A venue's public parameters at one epoch."""

    model_config = STRICT
    format: Literal["zkmargin.market"] = "zkmargin.market"
    version: Literal[1] = 1
    venue: str
    epoch: StrictInt = Field(ge=0)
    valuation: Valuation
    accounting: Literal["standard", "mango_health"] = "standard"
    liabilities: Literal["equity", "requirement"] = Field(
        default="equity",
        description="whether borrows reduce equity or add to the requirement (Drift)",
    )
    assets: list[Asset] = Field(min_length=1)
    instruments: list[Instrument] = Field(default_factory=list)
    portfolio: Portfolio | None = None


def canonical_market(snapshot: MarketSnapshot) -> bytes:
    """The snapshot's canonical JSON: sorted keys, no spaces, UTF-8."""
    text = json.dumps(snapshot.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return text.encode()


def market_digest(snapshot: MarketSnapshot) -> bytes:
    """SHA-256 of the snapshot's canonical JSON (:func:`canonical_market`): the same for every
    spelling of the same market, different for any change of a public parameter."""
    return hashlib.sha256(b"zkmargin-V01-market\x00" + canonical_market(snapshot)).digest()
