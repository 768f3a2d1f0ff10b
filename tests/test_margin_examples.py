"""Every published margin example in ../shared/data/margin_examples.json, reproduced exactly by
the engine from a venue market file in examples/venues/ (both the scalar and the vectorised
engine)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, load_json

from zkmargin.formats.accounts import Account
from zkmargin.formats.common import to_units
from zkmargin.margin import evaluate_accounts
from zkmargin.margin.market import Market, load_market
from zkmargin.margin.scalar import AccountResult, compile_account, evaluate

VENUES = Path(__file__).resolve().parent.parent / "examples" / "venues"
CASES = {c["id"]: c for c in load_json(DATA / "margin_examples.json")["cases"]}


def run(market_file: str, account: dict[str, Any]) -> tuple[Market, AccountResult]:
    market = load_market(VENUES / market_file)
    acc = Account.model_validate({"id": "case", **account})
    scalar = evaluate(compile_account(acc, market), market)
    vector = evaluate_accounts(market, [acc])
    assert vector.equity[0] == scalar.equity and vector.maintenance[0] == scalar.maintenance
    assert vector.initial[0] == scalar.initial and bool(vector.healthy[0]) == scalar.healthy
    return market, scalar


def units(text: str, market: Market) -> int:
    return to_units(text, market.valuation_decimals)


def test_every_case_has_a_reproduction() -> None:
    assert set(CASES) == set(REPRODUCTIONS), set(CASES) ^ set(REPRODUCTIONS)


def binance_tier(case: dict[str, Any], symbol: str = "BTCUSDT", mark: str = "50000") -> None:
    notional = Decimal(str(case["inputs"]["notional_usdt"]))
    size = str(notional / Decimal(mark))
    market, r = run(
        "binance_usdm.json",
        {
            "positions": [{"instrument": symbol, "size": size, "entry_price": mark}],
            "cash": "100000",
        },
    )
    assert r.maintenance == units(case["expected"]["maintenance_margin_usdt"], market)
    if "maintenance_rate" in case["expected"]:
        pos = r.witness["positions"][0]
        rate = Decimal(pos["maintenance"] + 0) / Decimal(pos["notional"])
        # the tier's rate is the marginal rate: MM = N·rate − cum with this tier's rate
        assert rate <= Decimal(case["expected"]["maintenance_rate"])


def cum_equals_slices(case: dict[str, Any]) -> None:
    qty, mark = str(case["inputs"]["quantity"]), str(case["inputs"]["mark_price"])
    for symbol in ("PIONEX-EXAMPLE-CUM", "PIONEX-EXAMPLE-SLICES"):
        market, r = run(
            "binance_usdm.json",
            {
                "positions": [{"instrument": symbol, "size": qty, "entry_price": mark}],
                "cash": "10000",
            },
        )
        assert r.maintenance == units(case["expected"]["maintenance_margin_usdt"], market)


def coinm(case: dict[str, Any]) -> None:
    _, r = run(
        "binance_coinm.json",
        {
            "positions": [
                {
                    "instrument": "BTCUSD_PERP",
                    "size": str(case["inputs"]["contracts"]),
                    "entry_price": str(case["inputs"]["mark_price"]),
                }
            ],
            "collateral": {"BTC": "1"},
        },
    )
    pos = r.witness["positions"][0]
    assert pos["notional"] == to_units(case["expected"]["notional_btc"], 8)
    assert pos["maintenance_settle"] == to_units(case["expected"]["maintenance_margin_btc"], 8)


def bybit_linear(case: dict[str, Any]) -> None:
    inp = case["inputs"]
    market, r = run(
        "bybit.json",
        {
            "positions": [
                {
                    "instrument": "BTCUSDT",
                    "size": str(inp["quantity"]),
                    "entry_price": str(inp["entry_price"]),
                }
            ],
            "cash": "1000",
        },
    )
    assert Decimal(inp["maintenance_rate"]) == Decimal("0.005")
    assert Decimal(1) / Decimal(inp["leverage"]) == Decimal("0.02")
    exp = case["expected"]
    assert r.initial == units(exp["initial_margin"], market)
    assert r.maintenance == units(exp["maintenance_margin"], market)
    assert r.initial - r.maintenance == units(exp["loss_absorbed_before_liquidation"], market)


def bybit_slices(case: dict[str, Any]) -> None:
    inp = case["inputs"]
    market, r = run(
        "bybit.json",
        {
            "positions": [
                {
                    "instrument": "TIERUSDT",
                    "size": str(inp["quantity"]),
                    "entry_price": str(inp["mark_price"]),
                }
            ],
            "cash": "1000",
        },
    )
    assert r.maintenance == units(case["expected"]["maintenance_margin"], market)
    notional = Decimal(inp["quantity"]) * Decimal(inp["mark_price"])
    effective = Decimal(r.maintenance) / 10**market.valuation_decimals / notional * 100
    assert round(effective, 6) == Decimal(case["expected"]["effective_rate_percent"])


def bybit_collateral(case: dict[str, Any]) -> None:
    market, r = run("bybit.json", {"collateral": {"BTC": str(case["inputs"]["amount_btc"])}})
    btc = market.assets[market.asset_index("BTC") or 0]
    price = Decimal(btc.price) / 10**btc.price_decimals
    expected = Decimal(case["expected"]["collateral_btc_equivalent"]) * price
    assert r.equity == units(str(expected), market)


def okx(case: dict[str, Any]) -> None:
    market, r = run(
        "okx_bitcom.json", {"collateral": {"OKXCOIN": str(case["inputs"]["amount_usd"])}}
    )
    assert r.equity == units(case["expected"]["collateral_usd"], market)


def bitcom(case: dict[str, Any]) -> None:
    inp = case["inputs"]
    market, r = run("okx_bitcom.json", {"collateral": {"ETH": str(inp["amount"])}})
    eth = market.assets[market.asset_index("ETH") or 0]
    assert Decimal(eth.price) / 10**eth.price_decimals == Decimal(inp["price_usd"])
    assert 1_000_000 - eth.weight_ppm == int(Decimal(inp["haircut"]) * 1_000_000)
    assert r.equity == units(case["expected"]["collateral_usd"], market)


def span(case: dict[str, Any]) -> None:
    market, r = run(
        "span.json",
        {"mode": "portfolio", "positions": [{"instrument": "XYZ-CALL", "size": "1", "quote": "0"}]},
    )
    idx = market.instrument_index("XYZ-CALL")
    assert idx is not None and list(market.risk_arrays[idx]) == case["inputs"]["risk_array_pnl"]
    assert r.maintenance == units(case["expected"]["requirement"], market)


def dydx(case: dict[str, Any], symbol: str) -> None:
    inp = case["inputs"]
    _, r = run(
        "dydx_v4.json",
        {
            "positions": [
                {
                    "instrument": symbol,
                    "size": str(Decimal(inp["quantums"]).scaleb(inp["atomic_resolution"])),
                    "entry_price": str(Decimal(inp["price"]).scaleb(inp["price_exponent"])),
                }
            ],
            "cash": "1000000",
        },
    )
    assert r.initial == int(case["expected"]["initial_margin_quote_quantums"])
    assert r.maintenance == int(case["expected"]["maintenance_margin_quote_quantums"])


def drift(case: dict[str, Any]) -> None:
    inp = case["inputs"]
    market, r = run(
        "drift.json",
        {
            "collateral": {"SOL": str(-inp["spot_borrow_sol"]), "USDC": "20000"},
            "positions": [
                {
                    "instrument": "SOL-PERP",
                    "size": str(inp["perp_long_sol"]),
                    "entry_price": str(inp["sol_price_usd"]),
                }
            ],
        },
    )
    assert inp["precision"] == 10**market.valuation_decimals
    assert r.maintenance == int(case["expected"]["maintenance_requirement"])
    assert r.maintenance == units(case["expected"]["maintenance_requirement_usd"], market)


def mango(case: dict[str, Any]) -> None:
    inp = {**CASES["mango-v4-perp-health-1"]["inputs"], **case["inputs"]}
    base = int(inp["base_lots"]) * int(inp["base_lot_size"])
    market, r = run(
        "mango_v4.json",
        {"positions": [{"instrument": "PERP", "size": str(base), "quote": str(inp["quote"])}]},
    )
    assert r.witness["health"] == units(case["expected"]["health"], market)
    assert r.equity - r.maintenance == r.witness["health"]
    assert r.healthy is (r.witness["health"] >= 0)


REPRODUCTIONS = {
    "binance-usdm-tier-500k": binance_tier,
    "binance-usdm-tier-264k": binance_tier,
    "cum-equals-slices": cum_equals_slices,
    "binance-coinm-level1": coinm,
    "bybit-linear-50x": bybit_linear,
    "bybit-tier-slices": bybit_slices,
    "bybit-collateral-tiers": bybit_collateral,
    "okx-discount-tiers": okx,
    "bitcom-haircut": bitcom,
    "span-long-call": span,
    "dydx-v4-ppm-1": lambda c: dydx(c, "CASE1-USD"),
    "dydx-v4-ppm-2": lambda c: dydx(c, "CASE2-USD"),
    "drift-custom-margin-ratio": drift,
    "mango-v4-perp-health-1": mango,
    "mango-v4-perp-health-2": mango,
}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_published_case(case_id: str) -> None:
    REPRODUCTIONS[case_id](CASES[case_id])


def test_mango_health_weighs_each_token_on_its_own() -> None:
    """Two tokens: a deposit counted at its asset weight, a borrow at its liability weight."""
    from zkmargin.formats.market import MarketSnapshot
    from zkmargin.margin.market import compile_market

    doc = load_json(VENUES / "mango_v4.json")
    doc["assets"].append(
        {
            "symbol": "SOL",
            "decimals": 9,
            "price": "100",
            "price_decimals": 0,
            "haircut": {"weight": "0.9", "liability_weight": "1.1"},
        }
    )
    market = compile_market(MarketSnapshot.model_validate(doc))
    acc = Account.model_validate({"id": "m", "collateral": {"TOKEN": "-50", "SOL": "2"}})
    r = evaluate(compile_account(acc, market), market)
    # 2 SOL · 100 · 0.9 − 50 · 1 · 1.2 = 180 − 60 = 120
    assert r.witness["health"] == 120 * 10**6
    assert r.equity == (200 - 50) * 10**6
