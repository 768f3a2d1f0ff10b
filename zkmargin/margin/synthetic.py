"""Seeded, realistic exchange snapshots for tests, benchmarks and the demo.

Assets BTC, ETH, SOL, USDT, USDC; linear perpetuals on BTC, ETH and SOL (Binance-style tiers),
an inverse BTC perpetual, and BTC options margined in portfolio mode. Accounts are 85 % cross,
10 % isolated and 5 % portfolio, with four collateral balances and four positions each; their
collateral is then set so that most accounts are comfortably healthy, some sit near maintenance
and a few are below it. Everything is integer and reproducible from the seed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from ..formats.market import MarketSnapshot
from .exact import debts_covered, position_value
from .market import Market, compile_market
from .riskarrays import compute_risk_arrays, option_value
from .vector import MODES, AccountTable, evaluate_table

BTC, ETH, SOL = 65000.0, 3200.0, 150.0


def _tiers(scale: int) -> dict[str, Any]:
    bounds = [50_000 * scale, 250_000 * scale, 1_000_000 * scale, 10_000_000 * scale]
    rates = [4000, 5000, 10000, 25000, 50000]
    tiers, cum, lo = [], 0, 0
    for k, rate in enumerate(rates):
        if k:
            cum += (rate - rates[k - 1]) * lo // 1_000_000
        tier: dict[str, Any] = {"rate": f"{rate / 1e6:.4f}", "cum": str(cum)}
        if k < len(bounds):
            tier["upto"] = str(bounds[k])
            lo = bounds[k]
        tiers.append(tier)
    return {"type": "tiers_cum", "tiers": tiers}


def market_document(epoch: int = 1) -> dict[str, Any]:
    """The synthetic venue's market snapshot as a JSON-ready document (with risk arrays)."""
    doc: dict[str, Any] = {
        "format": "zkmargin.market",
        "version": 1,
        "venue": "zkmargin synthetic exchange",
        "epoch": epoch,
        "valuation": {"symbol": "USD", "decimals": 6},
        "assets": [
            {"symbol": "USDT", "decimals": 6, "price": "0.9999", "price_decimals": 4},
            {
                "symbol": "USDC",
                "decimals": 6,
                "price": "1.0000",
                "price_decimals": 4,
                "haircut": {"weight": "0.99"},
            },
            {
                "symbol": "BTC",
                "decimals": 8,
                "price": f"{BTC:.2f}",
                "price_decimals": 2,
                "haircut": {
                    "tier_basis": "amount",
                    "liability_weight": "1.05",
                    "tiers": [
                        {"upto": "10", "weight": "0.95"},
                        {"upto": "50", "weight": "0.9"},
                        {"weight": "0.5"},
                    ],
                },
            },
            {
                "symbol": "ETH",
                "decimals": 8,
                "price": f"{ETH:.2f}",
                "price_decimals": 2,
                "haircut": {"weight": "0.9", "liability_weight": "1.1"},
            },
            {
                "symbol": "SOL",
                "decimals": 9,
                "price": f"{SOL:.3f}",
                "price_decimals": 3,
                "haircut": {"weight": "0.85", "liability_weight": "1.15"},
            },
        ],
        "instruments": [
            {
                "symbol": "BTCUSDT",
                "kind": "linear",
                "base": "BTC",
                "settle": "USDT",
                "size_decimals": 3,
                "mark_price": f"{BTC:.1f}",
                "price_decimals": 1,
                "maintenance": _tiers(1),
                "initial": {"rate": "0.02"},
            },
            {
                "symbol": "ETHUSDT",
                "kind": "linear",
                "base": "ETH",
                "settle": "USDT",
                "size_decimals": 2,
                "mark_price": f"{ETH:.2f}",
                "price_decimals": 2,
                "maintenance": _tiers(1),
                "initial": {"rate": "0.02"},
            },
            {
                "symbol": "SOLUSDT",
                "kind": "linear",
                "base": "SOL",
                "settle": "USDT",
                "size_decimals": 1,
                "mark_price": f"{SOL:.3f}",
                "price_decimals": 3,
                "maintenance": {
                    "type": "tiers_slices",
                    "tiers": [
                        {"upto": "100000", "rate": "0.01"},
                        {"upto": "500000", "rate": "0.02"},
                        {"rate": "0.05"},
                    ],
                },
                "initial": {"rate": "0.05"},
            },
            {
                "symbol": "BTCUSD_PERP",
                "kind": "inverse",
                "base": "BTC",
                "settle": "BTC",
                "size_decimals": 0,
                "mark_price": f"{BTC:.1f}",
                "price_decimals": 1,
                "contract_value": "100",
                "maintenance": {
                    "type": "tiers_cum",
                    "tiers": [
                        {"upto": "5", "rate": "0.004", "cum": "0"},
                        {"rate": "0.005", "cum": "0.005"},
                    ],
                },
                "initial": {"rate": "0.01"},
            },
        ],
    }
    for right, strike in (("call", 70000), ("put", 60000)):
        option_doc: dict[str, Any] = {
            "symbol": f"BTC-{right[0].upper()}-{strike}",
            "kind": "option",
            "base": "BTC",
            "settle": "USDT",
            "size_decimals": 0,
            "price_decimals": 2,
            "multiplier": "0.1",
            "option": {
                "right": right,
                "strike": str(strike),
                "expiry": "2026-12-25",
                "implied_vol": "0.55",
                "years_to_expiry": "0.0833",
            },
            "mark_price": "0",
        }
        doc["instruments"].append(option_doc)
    snap = MarketSnapshot.model_validate(doc)
    for inst_doc, inst in zip(doc["instruments"], snap.instruments, strict=True):
        if inst.kind == "option":
            inst_doc["mark_price"] = f"{option_value(inst, BTC):.2f}"
    doc["portfolio"] = {"grid": {"preset": "SPAN16", "price_range": "0.15", "vol_range": "0.1"}}
    snap = MarketSnapshot.model_validate(doc)
    doc["portfolio"]["risk_arrays"] = compute_risk_arrays(snap)
    return doc


def synthetic_market(epoch: int = 1) -> Market:
    return compile_market(MarketSnapshot.model_validate(market_document(epoch)))


def synthetic_accounts(market: Market, n: int, seed: int = 7) -> AccountTable:
    """n accounts, 4 collateral balances and 4 positions each, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    mode = rng.choice(3, size=n, p=[0.85, 0.10, 0.05]).astype(np.int8)
    idx = {a.symbol: a.index for a in market.assets}
    bal = np.zeros((n, len(market.assets)), dtype=np.int64)
    usdc = rng.random(n) < 0.5  # four balances each: USDT, BTC, ETH and USDC or SOL
    bal[:, idx["USDC"]] = (rng.lognormal(8.0, 1.0, n) * 1e6).astype(np.int64) * usdc
    bal[:, idx["BTC"]] = (rng.lognormal(-2.0, 1.2, n) * 1e8).astype(np.int64)
    bal[:, idx["ETH"]] = (rng.lognormal(0.5, 1.0, n) * 1e8).astype(np.int64)
    bal[:, idx["SOL"]] = (rng.lognormal(2.0, 1.0, n) * 1e9).astype(np.int64) * ~usdc
    borrow = (mode == 0) & (rng.random(n) < 0.05)
    bal[borrow, idx["USDC"]] = -(rng.lognormal(7.0, 1.0, int(borrow.sum())) * 1e6).astype(np.int64)
    inst = {i.symbol: i for i in market.instruments}
    perp_set = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BTCUSD_PERP"]
    port_set = ["BTCUSDT", "ETHUSDT", "BTC-C-70000", "BTC-P-60000"]
    rows = 4 * n
    acct = np.repeat(np.arange(n, dtype=np.int64), 4)
    slot = np.tile(np.arange(4), n)
    is_port = mode[acct] == 2
    symbols = np.where(is_port, np.array(port_set)[slot], np.array(perp_set)[slot])
    lookup = {s: inst[s].index for s in set(perp_set) | set(port_set)}
    p_inst = np.vectorize(lookup.__getitem__, otypes=[np.int64])(symbols)
    sign = np.where(rng.random(rows) < 0.5, -1, 1)
    notional = rng.lognormal(9.5, 1.1, rows)  # USD
    size = np.zeros(rows, dtype=np.int64)
    quote = np.zeros(rows, dtype=np.int64)
    iso = np.zeros(rows, dtype=np.int64)
    for i in market.instruments:
        sel = p_inst == i.index
        if not sel.any():
            continue
        mark = i.mark / 10**i.price_decimals
        if i.kind == "inverse":
            contracts = np.maximum(1, (notional[sel] / 100).astype(np.int64))
            size[sel] = sign[sel] * contracts
            entry = mark * (1 + rng.normal(0, 0.03, int(sel.sum())))
            quote[sel] = np.maximum(1, (entry * 10**i.price_decimals).astype(np.int64))
        elif i.kind == "option":
            size[sel] = sign[sel] * np.maximum(1, (notional[sel] / 20000).astype(np.int64))
            prem = max(mark, 1.0) * (1 + rng.normal(0, 0.1, int(sel.sum())))
            quote[sel] = -size[sel] * np.maximum(1, (prem * 10**i.price_decimals).astype(np.int64))
        else:
            units = np.maximum(1, (notional[sel] / mark * 10**i.size_decimals).astype(np.int64))
            size[sel] = sign[sel] * units
            entry = mark * (1 + rng.normal(0, 0.03, int(sel.sum())))
            quote[sel] = -size[sel] * (entry * 10**i.price_decimals).astype(np.int64)
            settle = market.assets[i.settle_index]
            margin = (
                np.abs(notional[sel])
                * rng.choice([0.003, 0.006, 0.06, 0.15], int(sel.sum()), p=[0.01, 0.03, 0.36, 0.6])
                * rng.uniform(0.8, 1.25, int(sel.sum()))
            )
            iso[sel] = (margin * 10**settle.decimals).astype(np.int64)
    iso_rows = mode[acct] == 1
    # isolated accounts trade linear contracts only and hold no borrows
    size = np.where(
        iso_rows & (np.array([market.instruments[k].kind for k in p_inst]) == "inverse"), 0, size
    )
    table = AccountTable(
        ids=[f"acct-{seed:x}-{k:07d}" for k in range(n)],
        mode=mode,
        cash=np.zeros(n, dtype=np.int64),
        balances=bal,
        pos_account=acct,
        pos_instrument=p_inst,
        pos_size=size,
        pos_quote=quote,
        pos_isolated=np.where(iso_rows, iso, 0),
    )
    keep = size != 0
    table.pos_account, table.pos_instrument = acct[keep], p_inst[keep]
    table.pos_size, table.pos_quote = size[keep], quote[keep]
    table.pos_isolated = table.pos_isolated[keep]
    # Set USDT so that equity / maintenance lands on a target: most healthy, some near, a few
    # below (cross and portfolio accounts).
    report = evaluate_table(market, table)
    u = rng.random(n)
    target = np.where(
        u < 0.03,
        rng.uniform(0.3, 0.95, n),
        np.where(
            u < 0.10,
            rng.uniform(0.95, 1.15, n),
            np.where(u < 0.30, rng.uniform(1.15, 1.6, n), rng.lognormal(1.2, 0.6, n) + 1.6),
        ),
    )
    mm = np.asarray(report.maintenance, dtype=np.float64)
    eq = np.asarray(report.equity, dtype=np.float64)
    need = np.where(mode == 1, 0.0, target * mm - eq)
    usdt = market.assets[idx["USDT"]]
    per_unit = usdt.price / 10**usdt.price_decimals  # valuation units per USDT unit (6 vs 6)
    add = np.ceil(need / per_unit).astype(np.int64)
    bal[:, idx["USDT"]] = np.where(
        mode == 1, (rng.lognormal(8, 1, n) * 1e6).astype(np.int64), np.maximum(add, -(10**15))
    )
    table.balances = bal
    return table


def exchange_market_document(epoch: int = 1) -> dict[str, Any]:
    """A small cross-margin venue for the exchange's publication: USDT (settlement), USDC, BTC
    and ETH as collateral (flat haircuts), BTC and ETH linear perpetuals (flat maintenance)."""
    return {
        "format": "zkmargin.market",
        "version": 1,
        "venue": "zkmargin example exchange",
        "epoch": epoch,
        "valuation": {"symbol": "USD", "decimals": 6},
        "assets": [
            {"symbol": "USDT", "decimals": 6, "price": "1", "price_decimals": 0},
            {
                "symbol": "USDC",
                "decimals": 6,
                "price": "0.9999",
                "price_decimals": 4,
                "haircut": {"weight": "0.99", "liability_weight": "1.02"},
            },
            {
                "symbol": "BTC",
                "decimals": 8,
                "price": f"{BTC:.2f}",
                "price_decimals": 2,
                "haircut": {"weight": "0.95", "liability_weight": "1.05"},
            },
            {
                "symbol": "ETH",
                "decimals": 8,
                "price": f"{ETH:.2f}",
                "price_decimals": 2,
                "haircut": {"weight": "0.9", "liability_weight": "1.1"},
            },
        ],
        "instruments": [
            {
                "symbol": "BTCUSDT",
                "kind": "linear",
                "base": "BTC",
                "settle": "USDT",
                "size_decimals": 3,
                "mark_price": f"{BTC:.1f}",
                "price_decimals": 1,
                "maintenance": {"type": "flat", "rate": "0.005"},
                "initial": {"rate": "0.01"},
            },
            {
                "symbol": "ETHUSDT",
                "kind": "linear",
                "base": "ETH",
                "settle": "USDT",
                "size_decimals": 2,
                "mark_price": f"{ETH:.2f}",
                "price_decimals": 2,
                "maintenance": {"type": "flat", "rate": "0.01"},
                "initial": {"rate": "0.02"},
            },
        ],
    }


def exchange_market(epoch: int = 1) -> Market:
    return compile_market(MarketSnapshot.model_validate(exchange_market_document(epoch)))


#: The mix of margin modes :func:`exchange_accounts` draws by default: what the exchange's
#: liabilities tree takes today (cross margin).
PUBLISHABLE_MODES: dict[str, float] = {"cross": 1.0}


def mode_mix(modes: Mapping[str, float]) -> npt.NDArray[np.float64]:
    """Probabilities over :data:`MODES` from a {mode: weight} mapping; ValueError for an unknown
    mode, a negative weight or weights summing to zero."""
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ValueError(f"unknown margin mode {unknown[0]!r}; choose from {', '.join(MODES)}")
    weights = np.array([float(modes.get(m, 0.0)) for m in MODES])
    if (weights < 0).any() or not np.isfinite(weights).all() or weights.sum() <= 0:
        raise ValueError("mode weights must be non-negative numbers, not all zero")
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def exchange_accounts(
    market: Market,
    n: int,
    seed: int = 11,
    *,
    modes: Mapping[str, float] = PUBLISHABLE_MODES,
    below: float = 0.0,
    bankrupt: float = 0.0,
) -> AccountTable:
    """n accounts of :func:`exchange_market`: USDT always, BTC, ETH or USDC often, a few USDC
    borrows, a few cash balances, and none, one or two perpetual positions.

    ``modes`` is the mix of margin modes (weights; by default every account cross-margined,
    what the liabilities tree takes today); isolated accounts hold no borrows and put 5 to 20 %
    of each position's notional in its isolated margin. Every account is above maintenance (an
    exchange publishes after liquidating the rest), except a fraction ``below`` of those with a
    position, set between 0.3 and 0.95 × maintenance (awaiting liquidation: still published),
    and a fraction ``bankrupt`` of the cross accounts with a position, whose USDT debt exceeds
    what their holdings cover (published written off)."""
    if not 0.0 <= below <= 1.0:
        raise ValueError("the fraction of accounts below maintenance must be between 0 and 1")
    if not 0.0 <= bankrupt <= 1.0:
        raise ValueError("the fraction of bankrupt accounts must be between 0 and 1")
    rng = np.random.default_rng(seed)
    mix = mode_mix(modes)
    if mix[MODES.index("portfolio")] > 0 and market.scenario_count == 0:
        raise ValueError("portfolio-margined accounts need a market with risk scenarios")
    mode = (
        np.zeros(n, dtype=np.int8)
        if mix[0] == 1.0
        else rng.choice(len(MODES), size=n, p=mix).astype(np.int8)
    )
    isolated = mode == MODES.index("isolated")
    idx = {a.symbol: a.index for a in market.assets}
    bal = np.zeros((n, len(market.assets)), dtype=np.int64)
    bal[:, idx["BTC"]] = (rng.lognormal(-2.5, 1.2, n) * 1e8).astype(np.int64) * (
        rng.random(n) < 0.4
    )
    bal[:, idx["ETH"]] = (rng.lognormal(0.0, 1.0, n) * 1e8).astype(np.int64) * (rng.random(n) < 0.3)
    usdc = rng.random(n)
    bal[:, idx["USDC"]] = (rng.lognormal(7.5, 1.0, n) * 1e6).astype(np.int64) * (usdc < 0.2)
    borrow = (usdc > 0.97) & ~isolated
    bal[borrow, idx["USDC"]] = -(rng.lognormal(6.0, 1.0, int(borrow.sum())) * 1e6).astype(np.int64)
    cash = np.where(rng.random(n) < 0.05, (rng.lognormal(3, 1, n) * 1e6).astype(np.int64), 0)
    held = rng.random((n, 2)) < np.array([0.45, 0.3])
    acct, inst_k, size, quote, iso = [], [], [], [], []
    for k in range(n):
        for j, inst in enumerate(market.instruments):
            if not held[k, j]:
                continue
            mark = inst.mark / 10**inst.price_decimals
            units = max(1, int(rng.lognormal(8.5, 1.2) / mark * 10**inst.size_decimals))
            s = units if rng.random() < 0.5 else -units
            entry = int(mark * (1 + rng.normal(0, 0.03)) * 10**inst.price_decimals)
            acct.append(k)
            inst_k.append(inst.index)
            size.append(s)
            quote.append(-s * entry)
            if isolated[k]:
                settle = market.assets[inst.settle_index]
                notional = abs(s) / 10**inst.size_decimals * mark
                iso.append(int(notional * rng.uniform(0.05, 0.2) * 10**settle.decimals))
            else:
                iso.append(0)
    table = AccountTable(
        ids=[f"user-{seed:x}-{k:06d}" for k in range(n)],
        mode=mode,
        cash=cash.astype(np.int64),
        balances=bal,
        pos_account=np.array(acct, dtype=np.int64),
        pos_instrument=np.array(inst_k, dtype=np.int64),
        pos_size=np.array(size, dtype=np.int64),
        pos_quote=np.array(quote, dtype=np.int64),
        pos_isolated=np.array(iso, dtype=np.int64),
    )
    # USDT: enough that equity ≥ 1.2 × maintenance (plus a cushion for accounts without any);
    # the accounts picked to be below maintenance get a ratio of 0.3 to 0.95 and no cushion.
    report = evaluate_table(market, table)
    mm = np.asarray(report.maintenance, dtype=np.float64)
    eq = np.asarray(report.equity, dtype=np.float64)
    target = rng.lognormal(0.8, 0.5, n) + 1.2
    floor = (rng.lognormal(6.5, 1.0, n) * 1e6).astype(np.int64)
    unhealthy = (rng.random(n) < below) & (mm > 0) & ~isolated  # USDT cannot move them
    target = np.where(unhealthy, rng.uniform(0.3, 0.95, n), target)
    if bankrupt:  # (no draw otherwise: the bundled example's book stays the same)
        broke = (rng.random(n) < bankrupt) & (mm > 0) & ~isolated
        unhealthy |= broke
        target = np.where(broke, -rng.uniform(0.2, 1.0, n), target)
    floor = np.where(unhealthy, 0, floor)
    usdt = bal[:, idx["USDT"]]
    need = np.ceil(target * mm - (eq - usdt)).astype(np.int64)
    bal[:, idx["USDT"]] = np.where(unhealthy, need, np.maximum(need, 0) + floor)
    table.balances = bal
    return table


def exchange_liabilities(market: Market, table: AccountTable) -> dict[str, int]:
    """What the accounts of ``table`` are owed per asset, in the asset's units (balances plus, in
    a settlement asset, the positions' value at mark), and their cash (valuation units) under
    the valuation symbol, each account's debts counted only where its own holdings cover them
    (a bankrupt account's left out, as a publication writes them off), rounded up by one unit
    per account and position: at least the totals a publication commits to."""
    owed: dict[str, Fraction] = {a.symbol: Fraction(0) for a in market.assets}
    owed[market.valuation_symbol] = Fraction(0)
    held = market.cash_asset()  # the valuation currency as an asset: cash counted m times
    factor = 1 if held is None else held[1]
    slack = 0
    for acc in table.accounts():
        covered = debts_covered(acc, market)
        for a, b in zip(market.assets, acc.balances, strict=True):
            owed[a.symbol] += b if covered else max(b, 0)
        for p in acc.positions:
            value = position_value(p, market, acc.mode)
            if covered or value >= 0:
                owed[market.assets[market.instruments[p.instrument].settle_index].symbol] += value
        owed[market.valuation_symbol] += factor * (acc.cash if covered else max(acc.cash, 0))
        slack += 1 + len(acc.positions)
    return {symbol: math.ceil(v) + slack for symbol, v in owed.items()}


def exchange_reserves(market: Market, table: AccountTable, cushion: float = 0.1) -> dict[str, int]:
    """Reserves covering :func:`exchange_liabilities` with a ``cushion`` (10 %) and one whole
    unit more of each asset, in each one's units."""
    decimals = {a.symbol: a.decimals for a in market.assets}
    decimals.setdefault(market.valuation_symbol, market.valuation_decimals)
    return {
        symbol: int(max(total, 0) * (1 + cushion)) + 10 ** decimals[symbol]
        for symbol, total in exchange_liabilities(market, table).items()
    }
