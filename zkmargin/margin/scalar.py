"""The margin engine, one account at a time, in exact integers (the semantics of the engine).

The vectorised engine (:mod:`.vector`) computes the same numbers with numpy across accounts;
this one is the plain loop it is measured against, the source of circuit witnesses and of exact
liquidation prices. Conservative rounding throughout (:mod:`.rounding`).

Standard accounting, in valuation units (10^−V):

* collateral: a balance b ≥ 0 counts ⌊b·price·weight⌋ (tiered haircuts slice by amount or by
  value, each slice at its weight); a borrow b < 0 costs ⌈|b|·price·liability_weight⌉, taken
  from equity or, where the venue says so, added to the requirement;
* a position's value is quote + size·mark in settle units (floor; inverse contracts use
  size·cv·(1/entry − 1/mark)), then converted at the settle asset's price (floor);
* its maintenance requirement is ⌈max_t(N·rate_t − cum_t)⌉ on the notional N in settle units
  (or ⌈⌈N·initial⌉·fraction⌉), converted up; initial likewise;
* cross: equity = collateral + cash + Σ values (− borrows), requirement = Σ requirements;
  isolated: each position stands alone on its isolated margin; portfolio: the requirement is the
  largest loss over the scenario grid, −Σ_i size_i·risk_array_i[s], and at least 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..formats.accounts import Account, Position
from ..formats.common import PPM, FormatError, to_units
from .market import AssetSpec, InstrumentSpec, Market
from .rounding import ceil_div, muldiv


@dataclass(frozen=True)
class CompiledPosition:
    instrument: int
    size: int
    #: Linear/option: quote numerator in units of 10^−(size_decimals + price_decimals) of the
    #: settle asset. Inverse: the entry price in price units.
    quote: int
    isolated_margin: int  # settle units
    entry: int | None


#: Why a mango_health market takes cross accounts only.
MANGO_CROSS_ONLY = (
    "a mango_health market's accounts are cross accounts (Mango v4 has no isolated or portfolio "
    "margin: its health weighs the whole account)"
)


@dataclass(frozen=True)
class CompiledAccount:
    id: str
    mode: str
    cash: int  # valuation units
    balances: tuple[int, ...]  # per asset, asset units
    positions: tuple[CompiledPosition, ...]


def compile_account(acc: Account, market: Market, file: str = "accounts") -> CompiledAccount:
    """Convert decimals to integer units; errors name the file, the account and the field."""
    rec = f"account {acc.id}"
    if market.accounting == "mango_health" and acc.mode != "cross":
        raise FormatError(MANGO_CROSS_ONLY, file=file, record=rec, field="mode")
    balances = [0] * len(market.assets)
    try:
        cash = to_units(acc.cash, market.valuation_decimals)
    except ValueError as exc:
        raise FormatError(str(exc), file=file, record=rec, field="cash") from None
    for symbol, amount in acc.collateral.items():
        idx = market.asset_index(symbol)
        if idx is None:
            raise FormatError(
                f"unknown asset {symbol}", file=file, record=rec, field=f"collateral.{symbol}"
            )
        try:
            balances[idx] = to_units(amount, market.assets[idx].decimals)
        except ValueError as exc:
            raise FormatError(
                str(exc), file=file, record=rec, field=f"collateral.{symbol}"
            ) from None
    if acc.mode == "isolated":
        if cash < 0:
            raise FormatError(
                "isolated mode takes no negative cash (each position stands on its own margin)",
                file=file,
                record=rec,
                field="cash",
            )
        for a, b in zip(market.assets, balances, strict=True):
            if b < 0:
                raise FormatError(
                    "isolated mode takes no borrows",
                    file=file,
                    record=rec,
                    field=f"collateral.{a.symbol}",
                )
    positions = []
    for k, p in enumerate(acc.positions):
        positions.append(_compile_position(p, acc, market, file, f"{rec}", f"positions[{k}]"))
    if acc.mode == "portfolio" and market.scenario_count == 0 and positions:
        raise FormatError(
            "portfolio mode needs the market's portfolio grid", file=file, record=rec, field="mode"
        )
    return CompiledAccount(acc.id, acc.mode, cash, tuple(balances), tuple(positions))


def _compile_position(
    p: Position, acc: Account, market: Market, file: str, rec: str, where: str
) -> CompiledPosition:
    idx = market.instrument_index(p.instrument)
    if idx is None:
        raise FormatError(
            f"unknown instrument {p.instrument}", file=file, record=rec, field=f"{where}.instrument"
        )
    inst = market.instruments[idx]
    settle = market.assets[inst.settle_index]
    field_name = f"{where}.size"
    try:
        size = to_units(p.size, inst.size_decimals)
        if inst.kind == "option" and acc.mode != "portfolio":
            raise ValueError("options are margined in portfolio mode only")
        if acc.mode == "portfolio" and idx not in market.risk_arrays:
            raise ValueError(f"no risk array for {inst.symbol} in the market's portfolio block")
        if inst.schedule is None and acc.mode != "portfolio":
            raise ValueError(f"{inst.symbol} has no maintenance schedule")
        entry = None
        if inst.kind == "inverse":
            field_name = f"{where}.entry_price"
            if p.entry_price is None:
                raise ValueError("an inverse position needs entry_price")
            entry = to_units(p.entry_price, inst.price_decimals, allow_negative=False)
            if entry == 0:
                raise ValueError("entry_price must be positive")
            quote = entry
        elif p.entry_price is not None and p.quote is not None:
            raise ValueError("give entry_price or quote, not both")
        elif p.entry_price is not None:
            field_name = f"{where}.entry_price"
            entry = to_units(p.entry_price, inst.price_decimals, allow_negative=False)
            quote = -size * entry
        elif p.quote is not None:
            field_name = f"{where}.quote"
            quote = to_units(p.quote, inst.size_decimals + inst.price_decimals)
        else:
            field_name = f"{where}.entry_price"
            raise ValueError("a position needs entry_price or quote (neither is given)")
        field_name = f"{where}.isolated_margin"
        iso = 0
        if acc.mode == "isolated":
            if p.isolated_margin is None:
                raise ValueError("isolated mode needs isolated_margin on every position")
            iso = to_units(p.isolated_margin, settle.decimals, allow_negative=False)
        elif p.isolated_margin is not None:
            raise ValueError("isolated_margin is only for isolated mode")
    except ValueError as exc:
        raise FormatError(str(exc), file=file, record=rec, field=field_name) from None
    return CompiledPosition(idx, size, quote, iso, entry)


# ----- the arithmetic, one item at a time --------------------------------------------------


def collateral_value(asset: AssetSpec, balance: int, v_dec: int) -> tuple[int, int, list[int]]:
    """(counted value ≥ 0, borrow cost ≥ 0, haircut slices) of one balance, valuation units."""
    exp = v_dec - asset.decimals - asset.price_decimals
    if balance < 0:
        cost = muldiv(-balance, asset.price * asset.liability_weight_ppm, PPM, exp, up=True)
        return 0, cost, []
    if not asset.tiers:
        return muldiv(balance, asset.price * asset.weight_ppm, PPM, exp, up=False), 0, []
    basis = (
        balance if asset.tier_basis == "amount" else muldiv(balance, asset.price, 1, exp, up=False)
    )
    slices, weighted, lo = [], 0, 0
    for upto, weight in asset.tiers:
        part = max(0, (basis if upto is None else min(basis, upto)) - lo)
        slices.append(part)
        weighted += part * weight
        if upto is None:
            break
        lo = upto
    if asset.tier_basis == "amount":
        return muldiv(weighted, asset.price, PPM, exp, up=False), 0, slices
    return weighted // PPM, 0, slices


def position_scale(inst: InstrumentSpec, market: Market) -> tuple[int, int]:
    """(multiplier ppm, exponent a) with settle units = numerator·mult·10^a / 10^6."""
    settle = market.assets[inst.settle_index]
    return inst.multiplier_ppm, settle.decimals - inst.size_decimals - inst.price_decimals


def notional_fraction(inst: InstrumentSpec, market: Market, size: int, mark: int) -> Fraction:
    """N in settle units, exact."""
    settle = market.assets[inst.settle_index]
    if inst.kind == "inverse":
        return Fraction(
            abs(size) * inst.contract_value * 10**settle.decimals, 10**inst.size_decimals * mark
        )
    mult, a = position_scale(inst, market)
    return Fraction(abs(size) * mark * mult) * Fraction(10) ** a / PPM


def value_settle(inst: InstrumentSpec, market: Market, pos: CompiledPosition) -> int:
    """⌊quote + size·mark⌋ in settle units (inverse: ⌊size·cv·(1/entry − 1/mark)⌋)."""
    settle = market.assets[inst.settle_index]
    if inst.kind == "inverse":
        num = pos.size * inst.contract_value * (inst.mark - pos.quote) * 10**settle.decimals
        return int(num // (10**inst.size_decimals * pos.quote * inst.mark))
    mult, a = position_scale(inst, market)
    return muldiv(pos.size * inst.mark + pos.quote, mult, PPM, a, up=False)


def active_piece(inst: InstrumentSpec, market: Market, size: int) -> int:
    """Index of the linear piece N·rate_t − cum_t that attains the maximum (the tier holding N)."""
    assert inst.schedule is not None
    n = notional_fraction(inst, market, size, inst.mark)
    values = [n.numerator * r - c * n.denominator for r, c in inst.schedule.pieces]
    return max(range(len(values)), key=lambda t: (values[t], -t))


def requirements_settle(inst: InstrumentSpec, market: Market, size: int) -> tuple[int, int, int]:
    """(notional ⌈N⌉, maintenance, initial) in settle units, rounded up."""
    sched = inst.schedule
    assert sched is not None
    n = notional_fraction(inst, market, size, inst.mark)
    if sched.fraction_ppm is not None:
        assert sched.initial_rate_ppm is not None
        im = ceil_div(n.numerator * sched.initial_rate_ppm, n.denominator * PPM)
        mm = ceil_div(im * sched.fraction_ppm, PPM)
        return ceil_div(n.numerator, n.denominator), mm, im
    best = max(n.numerator * r - c * n.denominator for r, c in sched.pieces)
    mm = ceil_div(best, n.denominator * PPM)
    if sched.initial_rate_ppm is not None:
        im = ceil_div(n.numerator * sched.initial_rate_ppm, n.denominator * PPM)
    else:
        im = mm
    return ceil_div(n.numerator, n.denominator), mm, im


def settle_to_valuation(market: Market, settle_index: int, amount: int, *, up: bool) -> int:
    """amount·price in valuation units, rounded up or down (floor for negative amounts)."""
    s = market.assets[settle_index]
    return muldiv(
        amount, s.price, 1, market.valuation_decimals - s.decimals - s.price_decimals, up=up
    )


# ----- results -------------------------------------------------------------------------------


@dataclass
class AccountResult:
    """Margin figures of one account, in valuation units."""

    id: str
    mode: str
    equity: int
    maintenance: int
    initial: int
    healthy: bool
    #: equity ÷ maintenance (None when nothing is required); isolated: the worst position's.
    margin_ratio: float | None
    liquidation_prices: dict[str, int | None] = field(default_factory=dict)
    witness: dict[str, Any] = field(default_factory=dict)


def _ratio(equity: int, requirement: int) -> float | None:
    return None if requirement <= 0 else equity / requirement


def evaluate(
    acc: CompiledAccount, market: Market, *, threshold_ppm: int = PPM, details: bool = True
) -> AccountResult:
    """Equity, requirements, health (equity ≥ θ·maintenance), ratio; with ``details`` also the
    liquidation prices and the witness."""
    if market.accounting == "mango_health":
        return _evaluate_mango(acc, market)
    v_dec = market.valuation_decimals
    counted = borrows = 0
    wit_coll = []
    for asset, bal in zip(market.assets, acc.balances, strict=True):
        value, cost, slices = collateral_value(asset, bal, v_dec)
        counted += value
        borrows += cost
        if bal:
            wit_coll.append(
                {
                    "asset": asset.symbol,
                    "positive": max(bal, 0),
                    "negative": max(-bal, 0),
                    "slices": slices,
                    "value": value,
                    "borrow_cost": cost,
                }
            )
    wit_pos = []
    pos_values = mm_total = im_total = 0
    iso_equities: list[tuple[int, int]] = []
    for pos in acc.positions:
        inst = market.instruments[pos.instrument]
        v_s = value_settle(inst, market, pos)
        entry: dict[str, Any] = {
            "instrument": inst.symbol,
            "long": max(pos.size, 0),
            "short": max(-pos.size, 0),
            "value_settle": v_s,
        }
        if acc.mode == "portfolio":
            pv = settle_to_valuation(market, inst.settle_index, v_s, up=False)
            pos_values += pv
            entry["value"] = pv
        else:
            notional, mm_s, im_s = requirements_settle(inst, market, pos.size)
            mmv = settle_to_valuation(market, inst.settle_index, mm_s, up=True)
            imv = settle_to_valuation(market, inst.settle_index, im_s, up=True)
            entry.update(
                {
                    "notional": notional,
                    "maintenance_settle": mm_s,
                    "maintenance": mmv,
                    "initial": imv,
                }
            )
            sched = inst.schedule
            if details and sched is not None and sched.fraction_ppm is None:
                tier = active_piece(inst, market, pos.size)
                entry["tier"] = tier
                entry["tier_rate_ppm"] = sched.pieces[tier][0]
            if acc.mode == "isolated":
                eq = settle_to_valuation(
                    market, inst.settle_index, v_s + pos.isolated_margin, up=False
                )
                iso_equities.append((eq, mmv))
                entry["isolated_equity"] = eq
                pos_values += eq
            else:
                pv = settle_to_valuation(market, inst.settle_index, v_s, up=False)
                pos_values += pv
                entry["value"] = pv
            mm_total += mmv
            im_total += imv
        wit_pos.append(entry)
    losses: list[int] = []
    if acc.mode == "portfolio":
        for s in range(market.scenario_count):
            losses.append(-sum(p.size * market.risk_arrays[p.instrument][s] for p in acc.positions))
        mm_total = max([0, *losses])
        im_total = mm_total
    equity = pos_values if acc.mode == "isolated" else counted + acc.cash + pos_values
    if market.liabilities == "equity":
        equity -= borrows
    else:
        mm_total += borrows
        im_total += borrows
    if acc.mode == "isolated":
        healthy = all(eq * PPM >= threshold_ppm * mm for eq, mm in iso_equities)
        ratios = [r for eq, mm in iso_equities if (r := _ratio(eq, mm)) is not None]
        ratio = min(ratios) if ratios else None
    else:
        healthy = equity * PPM >= threshold_ppm * mm_total
        ratio = _ratio(equity, mm_total)
    result = AccountResult(acc.id, acc.mode, equity, mm_total, im_total, healthy, ratio)
    result.witness = {
        "account": acc.id,
        "mode": acc.mode,
        "cash": acc.cash,
        "collateral": wit_coll,
        "positions": wit_pos,
        "scenario_losses": losses,
        "equity": equity,
        "maintenance": mm_total,
        "initial": im_total,
        "threshold_ppm": threshold_ppm,
        "excess": equity * PPM - threshold_ppm * mm_total,
    }
    if details and acc.mode in ("cross", "isolated"):
        result.liquidation_prices = liquidation_prices(acc, market, result)
    if not details:
        result.witness = {}
    return result


def liquidation_prices(
    acc: CompiledAccount, market: Market, result: AccountResult
) -> dict[str, int | None]:
    """Mark price (price units) at which each linear position reaches maintenance, all else fixed.

    Solved exactly on each piece of the (convex, piecewise-linear) requirement and kept on the
    piece whose tier contains the notional at that price (recomputed when it lands in another
    tier). Longs round up, shorts down: the reported price is never past the true one. None when
    no positive price liquidates the position.
    """
    out: dict[str, int | None] = {}
    for pos in acc.positions:
        inst = market.instruments[pos.instrument]
        if inst.kind != "linear" or pos.size == 0 or inst.schedule is None:
            continue
        out[inst.symbol] = _liquidation_price(acc, market, result, pos, inst)
    return out


def _liquidation_price(
    acc: CompiledAccount,
    market: Market,
    result: AccountResult,
    pos: CompiledPosition,
    inst: InstrumentSpec,
) -> int | None:
    settle = market.assets[inst.settle_index]
    c = Fraction(settle.price) * Fraction(10) ** (
        market.valuation_decimals - settle.decimals - settle.price_decimals
    )
    mult, a = position_scale(inst, market)
    k = Fraction(mult) * Fraction(10) ** a / PPM  # settle units per (size·price) unit
    if acc.mode == "isolated":
        rest = Fraction(0)
        iso = pos.isolated_margin
    else:
        v_now = settle_to_valuation(
            market, inst.settle_index, value_settle(inst, market, pos), up=False
        )
        _, mm_now, _ = requirements_settle(inst, market, pos.size)
        mmv_now = settle_to_valuation(market, inst.settle_index, mm_now, up=True)
        rest = Fraction(result.equity - v_now) - (result.maintenance - mmv_now)
        iso = 0
    sched = inst.schedule
    assert sched is not None
    if sched.fraction_ppm is not None:
        assert sched.initial_rate_ppm is not None
        pieces = [(sched.initial_rate_ppm * sched.fraction_ppm // PPM, 0)]
    else:
        pieces = list(sched.pieces)
    s = pos.size
    candidates = []
    for rate, cum in pieces:
        # rest + c·(k·(s·P + q) + iso) − c·(k·|s|·P·rate − cum)/10^6 = 0
        den = c * k * (s - Fraction(abs(s) * rate, PPM))
        if den == 0:
            continue
        p = (-rest - c * (k * pos.quote + iso) - c * Fraction(cum, PPM)) / den
        if p <= 0:
            continue
        n = k * abs(s) * p
        mm = max(n * r - cc for r, cc in pieces)  # 10^6·MM at p: the convex maximum
        if n * rate - cum == mm:
            candidates.append(p)
    if not candidates:
        return None
    p = max(candidates) if s > 0 else min(candidates)
    return ceil_div(p.numerator, p.denominator) if s > 0 else p.numerator // p.denominator


def _evaluate_mango(acc: CompiledAccount, market: Market) -> AccountResult:
    """Mango v4 health (:func:`mango_figures`), floored to valuation units; requirement =
    equity − health."""
    equity, health = mango_figures(acc, market)
    eq, h = equity.__floor__(), health.__floor__()
    res = AccountResult(acc.id, acc.mode, eq, eq - h, eq - h, h >= 0, _ratio(eq, eq - h))
    res.witness = {
        "account": acc.id,
        "mode": acc.mode,
        "health": h,
        "equity": eq,
        "maintenance": eq - h,
    }
    return res


def mango_figures(acc: CompiledAccount, market: Market) -> tuple[Fraction, Fraction]:
    """(equity, health) of a Mango v4 account in valuation units, exactly. Health:
    Σ_tokens balance·price·(asset or liability weight), where each perp adds
    quote + base·price·w (w: asset weight if long, liability weight if short), scaled by the
    overall asset weight when positive, to its settle token's balance before weighting.
    Equity is the unweighted value."""
    v_dec = market.valuation_decimals
    token = [Fraction(b) for b in acc.balances]  # asset units
    equity = Fraction(acc.cash)
    for asset, bal in zip(market.assets, acc.balances, strict=True):
        equity += Fraction(bal * asset.price) * Fraction(10) ** (
            v_dec - asset.decimals - asset.price_decimals
        )
    for pos in acc.positions:
        inst = market.instruments[pos.instrument]
        sched = inst.schedule
        if sched is None or sched.weights is None:
            raise FormatError(f"{inst.symbol} needs a weights schedule under mango_health")
        aw, lw, overall = sched.weights
        mult, exp = position_scale(inst, market)
        k = Fraction(mult) * Fraction(10) ** exp / PPM
        base_value = k * pos.size * inst.mark
        contribution = k * pos.quote + base_value * Fraction(aw if pos.size >= 0 else lw, PPM)
        if contribution > 0:
            contribution *= Fraction(overall, PPM)
        token[inst.settle_index] += contribution
        settle = market.assets[inst.settle_index]
        equity += (
            k
            * (pos.quote + pos.size * inst.mark)
            * settle.price
            * Fraction(10) ** (v_dec - settle.decimals - settle.price_decimals)
        )
    health = Fraction(acc.cash)
    for asset, tok in zip(market.assets, token, strict=True):
        w = asset.weight_ppm if tok >= 0 else asset.liability_weight_ppm
        health += (
            tok
            * asset.price
            * Fraction(w, PPM)
            * Fraction(10) ** (v_dec - asset.decimals - asset.price_decimals)
        )
    return equity, health
