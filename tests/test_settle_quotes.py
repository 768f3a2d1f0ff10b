"""Quotes finer than a settle unit: a linear contract whose engine quote unit is below one settle
unit (Drift: size 10^−9 SOL × price 10^−6 USD = 10^−15 USD; dYdX: 10^−7 USDC) commits its quote
floored in settle units, so any position a 64-bit size slot can hold has a quote the signed
64-bit quote slot holds. The floor understates the position's value by less than one settle
unit (``quote_slack``): every circuit counts that unit against its prover, whatever θ.

Checked against the exact engine on accounts at the edge of each statement, for θ below, at and
above 1: a margin circuit's relation holds only where the account is healthy at θ, a liquidation
circuit's only where it is strictly below. (The honest auxiliary values are the prover's best:
the margin circuits' upper bounds are floored minima, the liquidation circuits' lower bounds
ceiled minima, so no other choice satisfies a relation these do not.)
"""

from __future__ import annotations

import copy
import math
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from test_mango_leaves import MARKET as MANGO_MARKET

from zkmargin.circuit import proof as cproof
from zkmargin.circuit.compiler import (
    compile_instance,
    liquidation_circuit,
    load_circuit,
    margin_circuit,
)
from zkmargin.circuit.params import build, linear_scale, quote_in_settle_units
from zkmargin.circuit.slots import account_slots, committed_quote
from zkmargin.formats.common import PPM
from zkmargin.formats.market import MarketSnapshot
from zkmargin.margin import load_market
from zkmargin.margin.exact import exact_figures, position_value
from zkmargin.margin.market import Market, compile_market
from zkmargin.margin.scalar import CompiledAccount, CompiledPosition, mango_figures

ROOT = Path(__file__).resolve().parent.parent
VENUES = ROOT / "examples" / "venues"


def _mango_fine() -> Market:
    """The Mango test market with SOL-PERP in Drift's precisions (k = 10^−9 < 1) and a low
    overall asset weight (a positive contribution weighs 0.3: then, for θ = 2, the health a
    floored quote loses no longer outweighs the equity it loses, and only the slack term of
    mango_cross keeps the margin relation sound)."""
    doc: dict[str, Any] = copy.deepcopy(MANGO_MARKET)
    doc["instruments"][0].update(size_decimals=9, price_decimals=6, mark_price="150.25")
    doc["instruments"][0]["maintenance"]["overall_asset_weight"] = "0.3"
    return compile_market(MarketSnapshot.model_validate(doc))


def _markets() -> list[tuple[str, Market]]:
    return [
        ("drift", load_market(VENUES / "drift.json")),
        ("dydx", load_market(VENUES / "dydx_v4.json")),
        ("mango-fine", _mango_fine()),
    ]


def test_drift_long_100_sol_fits_its_quote_slot() -> None:
    """The shared Drift case (long 100 SOL at 100 USD): its engine quote −10^19 exceeds 2^63; the
    committed quote is ⌊k·q⌋ = −10^10 settle units, and the value it gives is below the exact
    value by less than one settle unit."""
    market = load_market(VENUES / "drift.json")
    inst = market.instruments[0]
    assert quote_in_settle_units(inst, market) and linear_scale(inst, market) == Fraction(1, 10**9)
    size = 100 * 10**9
    pos = CompiledPosition(0, size, -size * 100 * 10**6, 0, None)
    assert pos.quote < -(1 << 63)
    assert committed_quote(pos, market) == -(10**10)
    acc = CompiledAccount("drift", "cross", 0, (10**12, 0), (pos,))
    slots = account_slots(acc, market)
    assert [s.value for s in slots if s.name == "quote"] == [-(10**10)]
    prm = build(market, [a.symbol for a in market.assets], [inst.symbol], PPM).params
    assert prm["quote_slack"][inst.symbol] == 1 and prm["quote_unit"][inst.symbol] == 1
    for entry in (100 * 10**6, 99_999_999, 100_000_001, 123_456_789):
        for sz in (size, -size, 7, -7, 123_456_789_012):
            p = CompiledPosition(0, sz, -sz * entry, 0, None)
            given = committed_quote(p, market) + prm["mark"][inst.symbol] * sz
            assert 0 <= position_value(p, market, "cross") - given < 1


def test_a_linear_quote_in_its_own_unit_is_committed_exactly() -> None:
    market = load_market(VENUES / "binance_usdm.json")
    inst = market.instruments[0]
    assert not quote_in_settle_units(inst, market)
    pos = CompiledPosition(0, 1234, -1234 * inst.mark, 0, None)
    assert committed_quote(pos, market) == pos.quote


def _figures(acc: CompiledAccount, market: Market) -> tuple[Fraction, Fraction]:
    """(equity, requirement) exactly, as the circuits mean them."""
    if market.accounting == "mango_health":
        equity, health = mango_figures(acc, market)
        return equity, equity - health
    fig = exact_figures(acc, market)
    return fig.equity, fig.maintenance


def _account(rng: random.Random, market: Market, n: int) -> CompiledAccount:
    balances = []
    for a in market.assets:
        balances.append(rng.choice([0, 0, rng.randint(1, 10**4) * 10**a.decimals]))
    positions = []
    for i, inst in enumerate(market.instruments):
        if inst.schedule is None or rng.random() < 0.3:
            continue
        size = rng.choice([1, -1]) * rng.randint(1, 10**4) * 10 ** max(0, inst.size_decimals - 2)
        entry = inst.mark + rng.randint(-inst.mark // 10, inst.mark // 10)
        positions.append(CompiledPosition(i, size, -size * entry, 0, None))
    return CompiledAccount(f"a{n}", "cross", 0, tuple(balances), tuple(positions))


def _holds(circuit: str, acc: CompiledAccount, market: Market, theta_ppm: int) -> bool:
    slots = account_slots(acc, market)
    inst = compile_instance(
        load_circuit(circuit), market, tuple(s.spec for s in slots), theta_ppm, trusted_slots=False
    )
    values = [s.value for s in slots]
    return not cproof.check_witness(inst, cproof.auxiliary_values(inst, values))


@pytest.mark.parametrize("name,market", _markets(), ids=[n for n, _ in _markets()])
@pytest.mark.parametrize("theta_ppm", [800_000, PPM, 1_250_000, 2 * PPM])
def test_at_the_edge_the_circuits_agree_with_the_exact_engine(
    name: str, market: Market, theta_ppm: int
) -> None:
    """Cash set so that equity − θ·requirement lands within a few valuation units of zero: the
    margin relation holds only where it is ≥ 0, the liquidation relation only where
    θ·requirement − equity ≥ 1; and both are reached."""
    rng = random.Random(f"{name}-{theta_ppm}")
    theta = Fraction(theta_ppm, PPM)
    margin, liquidation = (
        margin_circuit("cross", market.accounting),
        liquidation_circuit("cross", market.accounting),
    )
    seen = {"margin": 0, "liquidation": 0}
    for n in range(80):
        acc = _account(rng, market, n)
        if not acc.positions:
            continue
        equity, requirement = _figures(acc, market)
        # cash counts one for one in equity; under mango_health in health too (requirement = E − H
        # is unchanged)
        gap = equity - theta * requirement
        cash = -math.floor(gap) + rng.randint(-3, 3)
        acc = CompiledAccount(acc.id, "cross", cash, acc.balances, acc.positions)
        equity, requirement = _figures(acc, market)
        if _holds(margin, acc, market, theta_ppm):
            assert equity - theta * requirement >= 0, (name, theta, acc)
            seen["margin"] += 1
        if _holds(liquidation, acc, market, theta_ppm):
            assert theta * requirement - equity >= 1, (name, theta, acc)
            seen["liquidation"] += 1
    assert seen["margin"] and seen["liquidation"], seen


def test_regression_a_floored_quote_cannot_lift_mango_margin_above_one() -> None:
    """Found by searching the slack-free mango_cross: at θ = 2, equity − θ·requirement =
    2·health − equity; the floored quote lowers equity by f < 1 settle unit and health by only
    0.98·0.3·f here, so without the term θ_above_one·slack this account, 0.087 valuation units
    short by the exact engine, satisfied the relation."""
    market = _mango_fine()
    pos = CompiledPosition(0, 9307119613, -1317122738298066106, 0, None)
    acc = CompiledAccount("x", "cross", -384819899, (478559126, 0, 0), (pos,))
    equity, requirement = _figures(acc, market)
    assert -1 < equity - 2 * requirement < 0
    assert not _holds("mango_cross", acc, market, 2 * PPM)
    # one unit more cash and it is healthy, and proves
    richer = CompiledAccount("x", "cross", acc.cash + 2, acc.balances, acc.positions)
    equity, requirement = _figures(richer, market)
    assert equity - 2 * requirement >= 0
    assert _holds("mango_cross", richer, market, 2 * PPM)
