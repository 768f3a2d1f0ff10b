"""Regenerate the exchange's example data: ``market.json``, ``accounts.csv`` (200 cross-margin
accounts, every one above maintenance) and ``reserves.json`` (each total plus a 10 % cushion,
and a little more for the valuation currency).

Run: python examples/exchange/generate.py [--accounts N] [--seed S] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from zkmargin.api import format_decimal
from zkmargin.margin.synthetic import exchange_accounts, exchange_market, exchange_market_document
from zkmargin.margin.table_io import save_table

EPOCH = 7


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    market = exchange_market(EPOCH)
    table = exchange_accounts(market, args.accounts, args.seed)
    (out / "market.json").write_text(json.dumps(exchange_market_document(EPOCH), indent=1) + "\n")
    save_table(table, market, out / "accounts.csv")
    reserves: dict[str, str] = {}
    for k, asset in enumerate(market.assets):
        owed = int(np.asarray(table.balances[:, k], dtype=object).sum())
        if asset.symbol == "USDT":  # the settlement asset also owes the positions' P&L
            owed += sum(abs(int(q)) for q in table.pos_quote) // 10
        reserves[asset.symbol] = format_decimal(max(owed, 0) * 11 // 10, asset.decimals)
    cash = int(np.asarray(table.cash, dtype=object).sum())
    reserves[market.valuation_symbol] = format_decimal(
        cash * 11 // 10 + 10**market.valuation_decimals, market.valuation_decimals
    )
    doc = {"format": "zkmargin/reserves/1", "epoch": EPOCH, "reserves": reserves}
    (out / "reserves.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote market.json, accounts.csv ({args.accounts} accounts), reserves.json to {out}")


if __name__ == "__main__":
    main()
