"""The margin figures in exact rational arithmetic, with no rounding at all (slow reference).

The engine must never report an account healthier than this: its equity may only be lower,
its requirements only higher. Property tests compare the two on random accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..formats.common import PPM
from .market import AssetSpec, Market
from .scalar import CompiledAccount, CompiledPosition


@dataclass(frozen=True)
class ExactFigures:
    equity: Fraction
    maintenance: Fraction
    initial: Fraction


def _ten(e: int) -> Fraction:
    return Fraction(10) ** e


def position_value(p: CompiledPosition, market: Market, mode: str) -> Fraction:
    """A position's value at mark in settle units (with its isolated margin in isolated mode)."""
    inst = market.instruments[p.instrument]
    s = market.assets[inst.settle_index]
    if inst.kind == "inverse":
        value = Fraction(
            p.size * inst.contract_value * (inst.mark - p.quote) * 10**s.decimals,
            10**inst.size_decimals * p.quote * inst.mark,
        )
    else:
        k = Fraction(inst.multiplier_ppm, PPM) * _ten(
            s.decimals - inst.size_decimals - inst.price_decimals
        )
        value = k * (p.size * inst.mark + p.quote)
    return value + p.isolated_margin if mode == "isolated" else value


def debts_covered(acc: CompiledAccount, market: Market) -> bool:
    """Whether every debt of the account is covered by its own holdings, exactly: what a
    liabilities leaf must mean. Cross and portfolio: haircut collateral + cash + positions at
    mark − borrows at their liability weight ≥ 0. Isolated: each position's value at mark plus
    its isolated margin ≥ 0, and the wallet's haircut collateral + cash − borrows ≥ 0.
    Mango v4 (``mango_health``): as Mango nets them, each perp's value at mark joins its settle
    token's balance before the token is weighed: cash + Σ_a p_a·T_a·(w_a if T_a ≥ 0 else λ_a)
    ≥ 0 (no perp weights: a leaf values positions at mark)."""
    if acc.mode != "isolated":
        return leaf_cover(acc, market) >= 0
    v = market.valuation_decimals
    counted = borrows = Fraction(0)
    for a, b in zip(market.assets, acc.balances, strict=True):
        scale = a.price * _ten(v - a.decimals - a.price_decimals)
        if b < 0:
            borrows += -b * scale * Fraction(a.liability_weight_ppm, PPM)
        else:
            counted += _haircut_value(a, b, scale)
    positions = all(position_value(p, market, acc.mode) >= 0 for p in acc.positions)
    return positions and counted + acc.cash - borrows >= 0


def leaf_cover(acc: CompiledAccount, market: Market) -> Fraction:
    """What covers a cross or portfolio account's debts, in valuation units, exactly (its debts
    are covered when it is ≥ 0; cash counts one for one): haircut collateral + cash + positions
    at mark − borrows at their liability weight, or under Mango's netting :func:`mango_cover`."""
    if market.accounting == "mango_health":
        return mango_cover(acc, market)
    v = market.valuation_decimals
    cover = Fraction(acc.cash)
    for a, b in zip(market.assets, acc.balances, strict=True):
        scale = a.price * _ten(v - a.decimals - a.price_decimals)
        if b < 0:
            cover -= -b * scale * Fraction(a.liability_weight_ppm, PPM)
        else:
            cover += _haircut_value(a, b, scale)
    for p in acc.positions:
        s = market.assets[market.instruments[p.instrument].settle_index]
        cover += (
            position_value(p, market, acc.mode) * s.price * _ten(v - s.decimals - s.price_decimals)
        )
    return cover


def mango_cover(acc: CompiledAccount, market: Market) -> Fraction:
    """cash + Σ_a h_a(T_a), T_a = b_a + Σ_{i settles in a} v_i (valuation units, exactly)."""
    v = market.valuation_decimals
    token = [Fraction(b) for b in acc.balances]
    for p in acc.positions:
        token[market.instruments[p.instrument].settle_index] += position_value(p, market, "cross")
    cover = Fraction(acc.cash)
    for a, t in zip(market.assets, token, strict=True):
        w = a.weight_ppm if t >= 0 else a.liability_weight_ppm
        cover += t * a.price * _ten(v - a.decimals - a.price_decimals) * Fraction(w, PPM)
    return cover


def _haircut_value(a: AssetSpec, b: int, scale: Fraction) -> Fraction:
    """The counted (haircut) value of a balance b ≥ 0 of asset a, in valuation units."""
    if not a.tiers:
        return b * scale * Fraction(a.weight_ppm, PPM)
    basis = Fraction(b) if a.tier_basis == "amount" else b * scale
    lo, total = Fraction(0), Fraction(0)
    for upto, w in a.tiers:
        top = basis if upto is None else min(basis, Fraction(upto))
        total += max(Fraction(0), top - lo) * Fraction(w, PPM)
        if upto is None:
            break
        lo = Fraction(upto)
    return total * scale if a.tier_basis == "amount" else total


def exact_figures(acc: CompiledAccount, market: Market) -> ExactFigures:
    """Equity and requirements of a standard-accounting account, in valuation units, exactly."""
    v = market.valuation_decimals
    counted = borrows = Fraction(0)
    for a, b in zip(market.assets, acc.balances, strict=True):
        scale = a.price * _ten(v - a.decimals - a.price_decimals)
        if b < 0:
            borrows += -b * scale * Fraction(a.liability_weight_ppm, PPM)
        else:
            counted += _haircut_value(a, b, scale)
    pos_value = mm = im = Fraction(0)
    for p in acc.positions:
        inst = market.instruments[p.instrument]
        s = market.assets[inst.settle_index]
        to_val = s.price * _ten(v - s.decimals - s.price_decimals)
        if inst.kind == "inverse":
            notional = Fraction(
                abs(p.size) * inst.contract_value * 10**s.decimals,
                10**inst.size_decimals * inst.mark,
            )
        else:
            k = Fraction(inst.multiplier_ppm, PPM) * _ten(
                s.decimals - inst.size_decimals - inst.price_decimals
            )
            notional = k * abs(p.size) * inst.mark
        pos_value += position_value(p, market, acc.mode) * to_val
        if acc.mode == "portfolio" or inst.schedule is None:
            continue
        sched = inst.schedule
        if sched.fraction_ppm is not None:
            assert sched.initial_rate_ppm is not None
            i_s = notional * Fraction(sched.initial_rate_ppm, PPM)
            m_s = i_s * Fraction(sched.fraction_ppm, PPM)
        else:
            m_s = max(notional * r - c for r, c in sched.pieces) / PPM
            i_s = (
                notional * Fraction(sched.initial_rate_ppm, PPM)
                if sched.initial_rate_ppm is not None
                else m_s
            )
        mm += m_s * to_val
        im += i_s * to_val
    if acc.mode == "portfolio":
        losses = [
            -sum(p.size * market.risk_arrays[p.instrument][sc] for p in acc.positions)
            for sc in range(market.scenario_count)
        ]
        mm = im = Fraction(max([0, *losses]))
    equity = pos_value if acc.mode == "isolated" else counted + acc.cash + pos_value
    if market.liabilities == "equity":
        equity -= borrows
    else:
        mm += borrows
        im += borrows
    return ExactFigures(equity, mm, im)
