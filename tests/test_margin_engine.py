"""The engine against exact arithmetic (hypothesis), the scalar engine against the vectorised
one, the int64-overflow path, witnesses and liquidation prices."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from zkmargin.formats.accounts import Account
from zkmargin.formats.common import format_decimal
from zkmargin.formats.market import MarketSnapshot
from zkmargin.margin import AccountTable, compile_account, evaluate, evaluate_table
from zkmargin.margin.exact import exact_figures
from zkmargin.margin.liquidation import liquidation_prices
from zkmargin.margin.market import Market, compile_market
from zkmargin.margin.synthetic import synthetic_accounts, synthetic_market

MARKET_DOC: dict[str, Any] = {
    "venue": "property-test venue",
    "epoch": 3,
    "valuation": {"symbol": "USD", "decimals": 6},
    "assets": [
        {"symbol": "USDT", "decimals": 6, "price": "0.9998", "price_decimals": 4},
        {
            "symbol": "BTC",
            "decimals": 8,
            "price": "64123.45",
            "price_decimals": 2,
            "haircut": {
                "tier_basis": "amount",
                "liability_weight": "1.05",
                "tiers": [
                    {"upto": "5", "weight": "0.97"},
                    {"upto": "20", "weight": "0.9"},
                    {"weight": "0.5"},
                ],
            },
        },
        {
            "symbol": "ETH",
            "decimals": 9,
            "price": "3123.456",
            "price_decimals": 3,
            "haircut": {"weight": "0.93", "liability_weight": "1.1"},
        },
        {
            "symbol": "OKB",
            "decimals": 4,
            "price": "45.7",
            "price_decimals": 1,
            "haircut": {
                "tier_basis": "value",
                "tiers": [{"upto": "100000", "weight": "0.9"}, {"weight": "0.6"}],
            },
        },
    ],
    "instruments": [
        {
            "symbol": "BTC-PERP",
            "kind": "linear",
            "base": "BTC",
            "settle": "USDT",
            "size_decimals": 3,
            "mark_price": "64100.3",
            "price_decimals": 1,
            "maintenance": {
                "type": "tiers_cum",
                "tiers": [
                    {"upto": "50000", "rate": "0.004", "cum": "0"},
                    {"upto": "250000", "rate": "0.005", "cum": "50"},
                    {"rate": "0.01", "cum": "1300"},
                ],
            },
            "initial": {"rate": "0.02"},
        },
        {
            "symbol": "ETH-PERP",
            "kind": "linear",
            "base": "ETH",
            "settle": "USDT",
            "size_decimals": 2,
            "mark_price": "3120.77",
            "price_decimals": 2,
            "maintenance": {
                "type": "tiers_slices",
                "tiers": [{"upto": "10000", "rate": "0.01"}, {"rate": "0.03"}],
            },
        },
        {
            "symbol": "BTC-INV",
            "kind": "inverse",
            "base": "BTC",
            "settle": "BTC",
            "size_decimals": 0,
            "mark_price": "64090.5",
            "price_decimals": 1,
            "contract_value": "100",
            "maintenance": {"type": "flat", "rate": "0.005"},
        },
        {
            "symbol": "SOL-DYDX",
            "kind": "linear",
            "base": "SOL",
            "settle": "USDT",
            "size_decimals": 1,
            "mark_price": "143.217",
            "price_decimals": 3,
            "maintenance": {
                "type": "initial_fraction",
                "initial_rate": "0.05",
                "maintenance_fraction": "0.6",
            },
        },
    ],
    "portfolio": {
        "grid": {"preset": "SPAN16", "price_range": "0.1"},
        "risk_arrays": {
            "BTC-PERP": [0, 0, 21, 21, -21, -21, 43, 43, -43, -43, 64, 64, -64, -64, 67, 67],
            "ETH-PERP": [0, 0, 10, 10, -10, -10, 21, 21, -21, -21, 31, 31, -31, -31, 33, -33],
        },
    },
}


def market(liabilities: str = "equity") -> Market:
    return compile_market(MarketSnapshot.model_validate({**MARKET_DOC, "liabilities": liabilities}))


_amount = format_decimal


@st.composite
def accounts(draw: st.DrawFn, big: bool = False) -> Account:
    mode = draw(st.sampled_from(["cross", "isolated", "portfolio"]))
    hi = 10**22 if big else 10**13
    lo = 0 if mode == "isolated" else -hi
    collateral = {
        sym: _amount(draw(st.integers(lo, hi)), dec)
        for sym, dec in (("USDT", 6), ("BTC", 8), ("ETH", 9), ("OKB", 4))
        if draw(st.booleans())
    }
    positions = []
    choices = (
        ["BTC-PERP", "ETH-PERP"]
        if mode == "portfolio"
        else ["BTC-PERP", "ETH-PERP", "BTC-INV", "SOL-DYDX"]
    )
    decs = {"BTC-PERP": (3, 1), "ETH-PERP": (2, 2), "BTC-INV": (0, 1), "SOL-DYDX": (1, 3)}
    for _ in range(draw(st.integers(0, 4))):
        sym = draw(st.sampled_from(choices))
        sd, pd = decs[sym]
        size = draw(st.integers(-(10**15 if big else 10**7), 10**15 if big else 10**7))
        entry = draw(st.integers(1, 10 ** (8 + pd)))
        pos: dict[str, Any] = {
            "instrument": sym,
            "size": _amount(size, sd),
            "entry_price": _amount(entry, pd),
        }
        if mode == "isolated":
            pos["isolated_margin"] = _amount(
                draw(st.integers(0, 10**12)), 6 if sym != "BTC-INV" else 8
            )
        positions.append(pos)
    cash = _amount(draw(st.integers(0 if mode == "isolated" else -(10**12), 10**12)), 6)
    return Account.model_validate(
        {"id": "h", "mode": mode, "cash": cash, "collateral": collateral, "positions": positions}
    )


@settings(max_examples=300, deadline=None)
@given(acc=accounts(), liabilities=st.sampled_from(["equity", "requirement"]))
def test_never_healthier_than_exact_arithmetic(acc: Account, liabilities: str) -> None:
    m = market(liabilities)
    compiled = compile_account(acc, m)
    res = evaluate(compiled, m)
    exact = exact_figures(compiled, m)
    assert Fraction(res.equity) <= exact.equity
    assert Fraction(res.maintenance) >= exact.maintenance
    assert Fraction(res.initial) >= exact.initial
    if acc.mode != "isolated" and res.healthy:
        assert exact.equity >= exact.maintenance
    # Conservative but tight: each rounding moves a figure by less than one unit, and a figure
    # rounded in settle units first by less than one settle unit's value.
    slack = Fraction(2 * len(acc.collateral) + 4)
    for p in compiled.positions:
        settle = m.assets[m.instruments[p.instrument].settle_index]
        unit = settle.price * Fraction(10) ** (
            m.valuation_decimals - settle.decimals - settle.price_decimals
        )
        slack += 3 * (unit + 1)
    assert exact.equity - res.equity < slack
    assert res.maintenance - exact.maintenance < slack


@settings(max_examples=150, deadline=None)
@given(
    batch=st.lists(accounts(), min_size=1, max_size=8),
    liabilities=st.sampled_from(["equity", "requirement"]),
)
def test_vectorised_equals_scalar(batch: list[Account], liabilities: str) -> None:
    m = market(liabilities)
    batch = [a.model_copy(update={"id": f"a{i}"}) for i, a in enumerate(batch)]
    rep = evaluate_table(m, AccountTable.from_accounts(batch, m))
    for i, acc in enumerate(batch):
        res = evaluate(compile_account(acc, m), m)
        assert (int(rep.equity[i]), int(rep.maintenance[i]), int(rep.initial[i])) == (
            res.equity,
            res.maintenance,
            res.initial,
        )
        assert bool(rep.healthy[i]) is res.healthy


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(accounts(big=True), min_size=1, max_size=5))
def test_int64_overflow_takes_the_wide_path(batch: list[Account]) -> None:
    """Amounts of 10^22 units overflow int64 products; the result must still be exact."""
    m = market()
    batch = [a.model_copy(update={"id": f"a{i}"}) for i, a in enumerate(batch)]
    rep = evaluate_table(m, AccountTable.from_accounts(batch, m))
    for i, acc in enumerate(batch):
        res = evaluate(compile_account(acc, m), m)
        assert (int(rep.equity[i]), int(rep.maintenance[i])) == (res.equity, res.maintenance)


def test_overflow_would_wrap_in_plain_int64() -> None:
    m = market()
    acc = Account.model_validate(
        {
            "id": "whale",
            "collateral": {"BTC": "90000000000"},
            "positions": [{"instrument": "BTC-PERP", "size": "9000000000", "entry_price": "1"}],
        }
    )
    rep = evaluate_table(m, AccountTable.from_accounts([acc], m))
    res = evaluate(compile_account(acc, m), m)
    assert int(rep.equity[0]) == res.equity > 2**63
    with np.errstate(over="ignore"):
        naive = np.int64(9_000_000_000_000) * np.int64(641003) * np.int64(10_000)
    assert int(naive) != 9_000_000_000_000 * 641003 * 10_000  # what the engine must avoid


def test_witness_splits_and_bounds() -> None:
    m = market()
    acc = Account.model_validate(
        {
            "id": "w",
            "collateral": {"BTC": "25", "ETH": "-2"},
            "positions": [{"instrument": "BTC-PERP", "size": "-3", "entry_price": "60000"}],
        }
    )
    res = evaluate(compile_account(acc, m), m)
    w = res.witness
    btc = next(c for c in w["collateral"] if c["asset"] == "BTC")
    assert btc["positive"] - btc["negative"] == 25 * 10**8
    assert sum(btc["slices"]) <= btc["positive"]
    assert btc["slices"] == [5 * 10**8, 15 * 10**8, 5 * 10**8]
    eth = next(c for c in w["collateral"] if c["asset"] == "ETH")
    assert (eth["positive"], eth["negative"]) == (0, 2 * 10**9) and eth["borrow_cost"] > 0
    pos = w["positions"][0]
    assert pos["long"] - pos["short"] == -3000 and pos["long"] == 0
    assert w["excess"] == w["equity"] * 10**6 - w["threshold_ppm"] * w["maintenance"]


def test_liquidation_price_isolated_long_and_short() -> None:
    m = compile_market(
        MarketSnapshot.model_validate(
            {**MARKET_DOC, "instruments": [MARKET_DOC["instruments"][0]], "portfolio": None}
        )
    )
    for size, margin in (("1", "5000"), ("-1", "5000"), ("10", "100000")):
        acc = Account.model_validate(
            {
                "id": "iso",
                "mode": "isolated",
                "positions": [
                    {
                        "instrument": "BTC-PERP",
                        "size": size,
                        "entry_price": "64100.3",
                        "isolated_margin": margin,
                    }
                ],
            }
        )
        compiled = compile_account(acc, m)
        res = evaluate(compiled, m)
        liq = res.liquidation_prices["BTC-PERP"]
        assert liq is not None
        inst = m.instruments[0]

        # At the reported price the position is at or below maintenance; one tick on the safe
        # side it is still above.
        def excess_at(mark: int, acc: Account = acc) -> int:
            moved = compile_market(
                MarketSnapshot.model_validate(
                    {
                        **MARKET_DOC,
                        "portfolio": None,
                        "instruments": [
                            {**MARKET_DOC["instruments"][0], "mark_price": _amount(mark, 1)}
                        ],
                    }
                )
            )
            r = evaluate(compile_account(acc, moved), moved)
            return r.equity - r.maintenance

        step = 1 if size.startswith("-") else -1
        assert excess_at(liq) <= 0 or excess_at(liq + step) <= 0
        assert excess_at(liq - step) > 0
        assert inst.mark > liq if not size.startswith("-") else inst.mark < liq


def test_liquidation_price_changes_tier() -> None:
    """A 10 BTC long sits in the 250k+ tier now; its liquidation price lands lower, in the
    middle tier, and the engine must solve there rather than on the current tier's line."""
    m = compile_market(
        MarketSnapshot.model_validate(
            {**MARKET_DOC, "instruments": [MARKET_DOC["instruments"][0]], "portfolio": None}
        )
    )
    acc = Account.model_validate(
        {
            "id": "c",
            "mode": "cross",
            "cash": "400000",
            "positions": [{"instrument": "BTC-PERP", "size": "10", "entry_price": "64100.3"}],
        }
    )
    res = evaluate(compile_account(acc, m), m)
    liq = res.liquidation_prices["BTC-PERP"]
    assert liq is not None
    notional_at_liq = 10 * liq / 10  # price units have one decimal
    assert 50_000 <= notional_at_liq < 250_000


def _scalar_liquidation(m: Market, table: AccountTable) -> dict[tuple[str, str], int | None]:
    out: dict[tuple[str, str], int | None] = {}
    for acc in table.accounts():
        if acc.mode == "portfolio":
            continue
        for symbol, price in evaluate(acc, m).liquidation_prices.items():
            out[(acc.id, symbol)] = price
    return out


def _vector_liquidation(m: Market, table: AccountTable) -> dict[tuple[str, str], int | None]:
    rep = evaluate_table(m, table)
    rows, prices = liquidation_prices(m, table, rep, rep.row_value, rep.row_mm)
    return {
        (
            table.ids[int(table.pos_account[r])],
            m.instruments[int(table.pos_instrument[r])].symbol,
        ): p
        for r, p in zip(rows.tolist(), prices, strict=True)
    }


def test_vectorised_liquidation_prices_are_the_exact_ones() -> None:
    m = synthetic_market()
    table = synthetic_accounts(m, 3000, seed=12)
    exact = _scalar_liquidation(m, table)
    assert len(exact) > 5000
    assert _vector_liquidation(m, table) == exact


@settings(max_examples=120, deadline=None)
@given(
    batch=st.lists(accounts(), min_size=1, max_size=6),
    liabilities=st.sampled_from(["equity", "requirement"]),
)
def test_vectorised_liquidation_on_random_accounts(batch: list[Account], liabilities: str) -> None:
    m = market(liabilities)
    batch = [a.model_copy(update={"id": f"a{i}"}) for i, a in enumerate(batch)]
    table = AccountTable.from_accounts(batch, m)
    assert _vector_liquidation(m, table) == _scalar_liquidation(m, table)
