"""The public parameters a circuit reads, as exact rationals, from a compiled market snapshot.

Units: valuation amounts in valuation units (10^−V); an asset amount in asset units (10^−d);
a position size in size units (10^−size_decimals); settle amounts in settle-asset units.

================== ==========================================================================
name               meaning
================== ==========================================================================
theta              θ, the threshold (1 for maintenance)
theta_above_one    max(0, θ − 1); theta_below_one: max(0, 1 − θ) (the sign of 1 − θ, as public
                   constants, where a floored quote's slack must be counted against the prover)
price[a]           valuation units per unit of asset a
weight[a]          flat collateral weight of a (haircut: 1 − weight)
liability_weight[a] weight ≥ 1 of a borrow of a
tier_weight[a][t]  weight of slice t of a tiered asset
tier_lower[a][t]   lower bound of slice t (asset units, or valuation units for value tiers)
tier_width[a][t]   width of slice t (the last, unbounded slice: 2^64 − 1)
tier_offset[a][t]  Σ_{k<t} (w_k − w_t)·width_k: the tiered haircut is the concave
                   min_t (tier_weight[a][t]·basis + tier_offset[a][t]) (liquidation circuits)
settle_price[i]    valuation units per settle unit of instrument i
mark[i]            settle units of value per size unit (−cv/mark for inverse contracts)
quote_unit[i]      settle units per unit of the committed quote
quote_slack[i]     1 where the committed quote is floored in settle units (an inverse contract,
                   or a linear one whose quote unit is finer than a settle unit): its value at
                   mark may be up to one settle unit above what the quote gives; else 0
notional[i]        settle units of notional per size unit
flat_rate[i]       maintenance rate of a one-piece schedule
rate[i][t], cum[i][t]  the pieces MM(N) = max_t (N·rate_t − cum_t) (cum in settle units)
risk[i][s]         loss-array entry: valuation units of P&L per size unit in scenario s
settle_offset      2^63: a signed 64-bit value v is committed as the unsigned v + 2^63
borrow_in_equity   1 if borrows reduce equity, else 0
borrow_in_requirement  1 if borrows add to the requirement (Drift), else 0
asset_w[i], liab_w[i], overall[i]  mango_health: a perp's base weights (long, short) and the
                   overall asset weight of a positive contribution
contrib_line[i][k] mango_health: the slopes (1, overall[i]) of a contribution's concave weighting
token_line[a][k]   mango_health: the slopes (weight[a], liability_weight[a]) of a token's
================== ==========================================================================

Index sets: ``assets`` and ``positions`` (what the statement holds slots for, market order),
``flat_assets``, ``amount_tiered_assets``, ``value_tiered_assets``, ``flat_positions``,
``tiered_positions``, ``scenarios``, ``settle_assets`` (the assets the held positions settle in),
``settle_only_assets`` (those of them without balance slots), ``two`` ([0, 1]);
functions ``tiers(a)``, ``pieces(i)`` and ``settled_by(s)`` (the held positions settling in s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..formats.common import PPM
from ..margin.market import InstrumentSpec, Market

UNBOUNDED_WIDTH = (1 << 64) - 1


def _pow10(e: int) -> Fraction:
    return Fraction(10) ** e


class UnsupportedMarket(ValueError):
    """The market uses a rule no shipped circuit expresses."""


@dataclass
class Parameters:
    params: dict[str, Any]
    sets: dict[str, list[Any]]
    functions: dict[str, Callable[..., Sequence[Any]]]


def linear_scale(inst: InstrumentSpec, market: Market) -> Fraction:
    """k: settle units per unit of a linear contract's engine quote (size units × price units)."""
    settle = market.assets[inst.settle_index]
    return Fraction(inst.multiplier_ppm, PPM) * _pow10(
        settle.decimals - inst.size_decimals - inst.price_decimals
    )


def quote_in_settle_units(inst: InstrumentSpec, market: Market) -> bool:
    """Whether a contract's committed quote is in settle units, floored (then its value at mark
    may be up to one settle unit above what the quote gives: ``quote_slack``): an inverse
    contract always; a linear one whose engine quote unit is finer than a settle unit (k < 1,
    Drift's 10^−15 USD, say), so that the quote of any position a 64-bit slot can size fits the
    signed 64-bit slot. Any other linear contract commits the engine's quote exactly."""
    return inst.kind == "inverse" or linear_scale(inst, market) < 1


def mark_terms(inst: InstrumentSpec, market: Market) -> tuple[Fraction, Fraction, Fraction]:
    """(mark, quote_unit, notional) per size unit, in settle units."""
    settle = market.assets[inst.settle_index]
    if inst.kind == "inverse":
        per = Fraction(
            inst.contract_value * 10**settle.decimals, 10**inst.size_decimals * inst.mark
        )
        return -per, Fraction(1), per
    scale = linear_scale(inst, market)
    unit = Fraction(1) if quote_in_settle_units(inst, market) else scale
    return inst.mark * scale, unit, inst.mark * scale


def build(
    market: Market, assets: Sequence[str], positions: Sequence[str], theta_ppm: int
) -> Parameters:
    """The parameters of an instance holding slots for ``assets`` and ``positions``."""
    mango = market.accounting == "mango_health"
    v = market.valuation_decimals
    price: dict[str, Fraction] = {}
    for a in market.assets:
        price[a.symbol] = a.price * _pow10(v - a.decimals - a.price_decimals)
    p: dict[str, Any] = {
        "theta": Fraction(theta_ppm, PPM),
        "theta_above_one": max(Fraction(0), Fraction(theta_ppm, PPM) - 1),
        "theta_below_one": max(Fraction(0), 1 - Fraction(theta_ppm, PPM)),
        "price": price,
        "weight": {a.symbol: Fraction(a.weight_ppm, PPM) for a in market.assets},
        "liability_weight": {
            a.symbol: Fraction(a.liability_weight_ppm, PPM) for a in market.assets
        },
        "borrow_in_equity": 1 if market.liabilities == "equity" else 0,
        "borrow_in_requirement": 0 if market.liabilities == "equity" else 1,
        "settle_offset": 1 << 63,
    }
    tier_weight: dict[str, list[Fraction]] = {}
    tier_lower: dict[str, list[int]] = {}
    tier_width: dict[str, list[int]] = {}
    tier_offset: dict[str, list[Fraction]] = {}
    for a in market.assets:
        lo = 0
        tier_weight[a.symbol], tier_lower[a.symbol], tier_width[a.symbol] = [], [], []
        for upto, w in a.tiers:
            tier_weight[a.symbol].append(Fraction(w, PPM))
            tier_lower[a.symbol].append(lo)
            tier_width[a.symbol].append(UNBOUNDED_WIDTH if upto is None else upto - lo)
            if upto is None:
                break
            lo = upto
    for a in market.assets:
        ws, wd = tier_weight[a.symbol], tier_width[a.symbol]
        tier_offset[a.symbol] = [
            sum(((ws[k] - ws[t]) * wd[k] for k in range(t)), Fraction(0)) for t in range(len(ws))
        ]
    p.update(
        tier_weight=tier_weight,
        tier_lower=tier_lower,
        tier_width=tier_width,
        tier_offset=tier_offset,
    )
    by_symbol = {i.symbol: i for i in market.instruments}
    settle_price, mark, quote_unit, notional = {}, {}, {}, {}
    quote_slack: dict[str, int] = {}
    rate: dict[str, list[Fraction]] = {}
    cum: dict[str, list[Fraction]] = {}
    flat_rate: dict[str, Fraction] = {}
    risk: dict[str, list[int]] = {}
    flat_positions, tiered_positions = [], []
    asset_w: dict[str, Fraction] = {}
    liab_w: dict[str, Fraction] = {}
    overall: dict[str, Fraction] = {}
    for symbol in positions:
        inst = by_symbol[symbol]
        settle_price[symbol] = price[market.assets[inst.settle_index].symbol]
        mark[symbol], quote_unit[symbol], notional[symbol] = mark_terms(inst, market)
        quote_slack[symbol] = 1 if quote_in_settle_units(inst, market) else 0
        sched = inst.schedule
        if mango:
            if sched is None or sched.weights is None or inst.kind != "linear":
                raise UnsupportedMarket(
                    f"{symbol}: a mango_health circuit weighs linear perpetuals with weights"
                )
            aw, lw, ov = sched.weights
            asset_w[symbol], liab_w[symbol] = Fraction(aw, PPM), Fraction(lw, PPM)
            overall[symbol] = Fraction(ov, PPM)
            if not asset_w[symbol] <= 1 <= liab_w[symbol] or not 0 <= overall[symbol] <= 1:
                raise UnsupportedMarket(
                    f"{symbol}: mango weights need asset ≤ 1 ≤ liability and overall in [0, 1] "
                    "(concave health)"
                )
            continue
        if sched is not None and sched.weights is not None:
            raise UnsupportedMarket(f"{symbol}: health weights are not expressed by a circuit")
        if sched is not None:
            pieces: list[tuple[Fraction, Fraction]]
            if sched.fraction_ppm is not None:
                assert sched.initial_rate_ppm is not None
                pieces = [
                    (Fraction(sched.initial_rate_ppm * sched.fraction_ppm, PPM * PPM), Fraction(0))
                ]
            else:
                pieces = [(Fraction(r, PPM), Fraction(c, PPM)) for r, c in sched.pieces]
            rate[symbol] = [r for r, _ in pieces]
            cum[symbol] = [Fraction(c) for _, c in pieces]
            if len(pieces) == 1 and pieces[0][1] == 0:
                flat_rate[symbol] = pieces[0][0]
                flat_positions.append(symbol)
            else:
                tiered_positions.append(symbol)
        if inst.index in market.risk_arrays:
            risk[symbol] = list(market.risk_arrays[inst.index])
    if mango and any(a.tiers for a in market.assets):
        raise UnsupportedMarket("tiered haircuts under mango_health are not expressed by a circuit")
    p.update(
        asset_w=asset_w,
        liab_w=liab_w,
        overall=overall,
        contrib_line={i: [Fraction(1), overall[i]] for i in overall},
        token_line={
            a.symbol: [p["weight"][a.symbol], p["liability_weight"][a.symbol]]
            for a in market.assets
        },
    )
    p.update(
        settle_price=settle_price,
        mark=mark,
        quote_unit=quote_unit,
        quote_slack=quote_slack,
        notional=notional,
        rate=rate,
        cum=cum,
        flat_rate=flat_rate,
        risk=risk,
    )
    settled_by: dict[str, list[str]] = {}
    for symbol in positions:
        s_sym = market.assets[by_symbol[symbol].settle_index].symbol
        settled_by.setdefault(s_sym, []).append(symbol)
    asset_specs = {a.symbol: a for a in market.assets}
    sets: dict[str, list[Any]] = {
        "assets": list(assets),
        "positions": list(positions),
        "flat_assets": [a for a in assets if not asset_specs[a].tiers],
        "amount_tiered_assets": [
            a for a in assets if asset_specs[a].tiers and asset_specs[a].tier_basis == "amount"
        ],
        "value_tiered_assets": [
            a for a in assets if asset_specs[a].tiers and asset_specs[a].tier_basis == "value"
        ],
        "flat_positions": flat_positions,
        "tiered_positions": tiered_positions,
        "scenarios": list(range(market.scenario_count)),
        "settle_assets": [a.symbol for a in market.assets if a.symbol in settled_by],
        "settle_only_assets": [
            a.symbol for a in market.assets if a.symbol in settled_by and a.symbol not in assets
        ],
        "two": [0, 1],
    }
    functions: dict[str, Callable[..., Sequence[Any]]] = {
        "tiers": lambda a: list(range(len(tier_weight[a]))),
        "pieces": lambda i: list(range(len(rate.get(i, [])))),
        "settled_by": lambda a: list(settled_by.get(a, [])),
    }
    return Parameters(p, sets, functions)
