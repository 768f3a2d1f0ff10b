"""Scenario grids and risk arrays for portfolio margin.

A risk array is the integer profit or loss, in valuation units, of one unit of an instrument's
size under each scenario of a grid, already multiplied by the scenario's weight; clearing houses
publish them (SPAN). The engine, witnesses and circuits use only those published integers, so
nobody has to reproduce floating-point pricing bit for bit. This module can compute them: futures
move with the underlying, options are repriced with Black-76 at their marked implied volatility,
and every entry is rounded down (a gain smaller, a loss larger), so a published array never
understates risk by rounding.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from ..formats.market import Instrument, MarketSnapshot, ScenarioGrid, SpanPreset


def scenarios(grid: ScenarioGrid | SpanPreset) -> list[tuple[Fraction, Fraction, Fraction]]:
    """(price move, volatility move, weight) of each scenario, as exact fractions."""
    if isinstance(grid, ScenarioGrid):
        return [
            (
                Fraction(Decimal(s.price_move)),
                Fraction(Decimal(s.vol_move)),
                Fraction(Decimal(s.weight)),
            )
            for s in grid.scenarios
        ]
    p, v = Fraction(Decimal(grid.price_range)), Fraction(Decimal(grid.vol_range))
    out = []
    for frac in (
        Fraction(0),
        Fraction(1, 3),
        Fraction(-1, 3),
        Fraction(2, 3),
        Fraction(-2, 3),
        Fraction(1),
        Fraction(-1),
    ):
        if frac == 0:
            out += [(Fraction(0), v, Fraction(1)), (Fraction(0), -v, Fraction(1))]
        else:
            out += [(frac * p, v, Fraction(1)), (frac * p, -v, Fraction(1))]
    out += [(3 * p, Fraction(0), Fraction(35, 100)), (-3 * p, Fraction(0), Fraction(35, 100))]
    return out


def black76(forward: float, strike: float, years: float, vol: float, call: bool) -> float:
    """Black-76 value of a European option on a forward (undiscounted)."""
    if years <= 0 or vol <= 0:
        return max(forward - strike, 0.0) if call else max(strike - forward, 0.0)
    sd = vol * math.sqrt(years)
    d1 = (math.log(forward / strike) + 0.5 * sd * sd) / sd
    d2 = d1 - sd

    def n(x: float) -> float:
        return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))

    if call:
        return forward * n(d1) - strike * n(d2)
    return strike * n(-d2) - forward * n(-d1)


def option_value(inst: Instrument, forward: float, vol_shift: float = 0.0) -> float:
    """Value of one whole base unit of ``inst``'s option, in settle currency."""
    spec = inst.option
    assert spec is not None
    return black76(
        forward,
        float(spec.strike),
        float(spec.years_to_expiry),
        float(spec.implied_vol) + vol_shift,
        spec.right == "call",
    )


def compute_risk_arrays(snap: MarketSnapshot) -> dict[str, list[int]]:
    """Risk arrays for every linear and option instrument of a snapshot with a portfolio grid."""
    if snap.portfolio is None:
        raise ValueError("the snapshot has no portfolio grid")
    grid = scenarios(snap.portfolio.grid)
    prices = {a.symbol: Fraction(Decimal(a.price)) for a in snap.assets}
    v_scale = 10**snap.valuation.decimals
    out: dict[str, list[int]] = {}
    for inst in snap.instruments:
        if inst.kind == "inverse":
            continue
        settle_price = prices[inst.settle]
        unit = Fraction(Decimal(inst.multiplier)) / 10**inst.size_decimals  # base per size unit
        forward = prices.get(inst.base, Fraction(Decimal(inst.mark_price)))
        arr = []
        for move, vol, weight in grid:
            if inst.kind == "linear":
                pnl = forward * move * unit * settle_price * weight * v_scale
            else:
                f0, f1 = float(forward), float(forward * (1 + move))
                diff = option_value(inst, f1, float(vol)) - option_value(inst, f0)
                pnl = Fraction(diff) * unit * settle_price * weight * v_scale
            arr.append(math.floor(pnl))
        out[inst.symbol] = arr
    return out
