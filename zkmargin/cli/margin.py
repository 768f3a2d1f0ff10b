"""``zkmargin margin report``: plain margin figures, no cryptography."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
import numpy as np

from .. import api
from ..api import MODES, atomic_write_text, parse_rate


@click.group()
def margin() -> None:
    """Margin figures of accounts under a market snapshot (no proofs)."""


def _money(values: Any, decimals: Any) -> list[str]:
    """Decimal strings of integer amounts (vectorised unless a value exceeds int64)."""
    arr = np.asarray(values)
    if arr.dtype == object:
        decs = np.broadcast_to(np.asarray(decimals), arr.shape)
        return [_fmt(int(v), int(d)) for v, d in zip(arr, decs, strict=True)]
    return [str(x) for x in api.format_units(arr.astype(np.int64), decimals)]


def _rows(run: api.MarginRun) -> list[dict[str, Any]]:
    rep = run.report
    dec = run.market.valuation_decimals
    eq, mm, im = (_money(v, dec) for v in (rep.equity, rep.maintenance, rep.initial))
    symbols = [i.symbol for i in run.market.instruments]
    price_dec = np.array([i.price_decimals for i in run.market.instruments] or [0])
    liq: dict[int, dict[str, str | None]] = {}
    rows_l = run.liquidation_rows
    if len(rows_l):
        known = np.array([p is not None for p in run.liquidation_prices], dtype=bool)
        values = np.array([p if p is not None else 0 for p in run.liquidation_prices], dtype=object)
        inst = run.table.pos_instrument[rows_l]
        text = _money(iv_narrow(values), price_dec[inst])
        accts = run.table.pos_account[rows_l].tolist()
        for a, i, t, k in zip(accts, inst.tolist(), text, known.tolist(), strict=True):
            liq.setdefault(a, {})[symbols[i]] = t if k else None
    ratios = np.round(np.asarray(rep.margin_ratio, dtype=np.float64), 6)
    rows = []
    for k, acc_id in enumerate(rep.ids):
        ratio = float(ratios[k])
        rows.append(
            {
                "account": acc_id,
                "mode": MODES[int(rep.mode[k])],
                "equity": eq[k],
                "maintenance": mm[k],
                "initial": im[k],
                "margin_ratio": None if math.isnan(ratio) else ratio,
                "healthy": bool(rep.healthy[k]),
                "liquidation_prices": liq.get(k, {}),
            }
        )
    rows.sort(key=lambda r: (r["margin_ratio"] is None, r["margin_ratio"] or 0.0))
    return rows


def iv_narrow(values: Any) -> Any:
    """int64 when every value fits, else the object array as it is."""
    if all(abs(int(v)) < 2**62 for v in values):
        return values.astype(np.int64)
    return values


_fmt = api.format_decimal


def _table(rows: list[dict[str, Any]], valuation: str) -> str:
    head = [
        "",
        "account",
        "mode",
        f"equity ({valuation})",
        "maintenance",
        "initial",
        "ratio",
        "liquidation",
    ]
    body = []
    for r in rows:
        ratio = "-" if r["margin_ratio"] is None else f"{r['margin_ratio']:.3f}"
        liq = " ".join(f"{s}@{p or '-'}" for s, p in r["liquidation_prices"].items())
        flag = "" if r["healthy"] else "!!"
        body.append(
            [flag, r["account"], r["mode"], r["equity"], r["maintenance"], r["initial"], ratio, liq]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = [
        "  ".join(
            str(x).rjust(w) if i in (3, 4, 5, 6) else str(x).ljust(w)
            for i, (x, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in [head, *body]
    ]
    unhealthy = sum(1 for r in rows if not r["healthy"])
    lines.append(
        f"{len(rows)} accounts, {unhealthy} below maintenance (flagged !!), sorted by "
        "margin ratio = equity / maintenance (isolated: the worst position's)"
    )
    return "\n".join(lines)


@margin.command("report")
@click.option(
    "--market",
    "market_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Market snapshot (JSON).",
)
@click.option(
    "--accounts",
    "accounts_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Accounts: .json, .csv or .parquet.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write here (atomically) instead of standard output.",
)
@click.option(
    "--threshold", default="1", show_default=True, help="θ: healthy means equity ≥ θ·maintenance."
)
@click.option(
    "--liquidation/--no-liquidation",
    default=True,
    show_default=True,
    help="Compute exact liquidation prices of linear positions.",
)
def report(
    market_path: str,
    accounts_path: str,
    fmt: str,
    out: str | None,
    threshold: str,
    liquidation: bool,
) -> None:
    """Equity, requirements, margin ratio and health of every account, worst first."""
    theta = parse_rate(threshold)
    run = api.margin_report(
        market_path, accounts_path, threshold_ppm=theta, liquidation=liquidation
    )
    if fmt == "csv":
        columns = api.margin_columns(run)
        if out:
            api.write_columns(out, columns)
            click.echo(f"wrote {out}", err=True)
        else:
            click.echo(api.csv_text(columns), nl=False)
        return
    rows = _rows(run)
    if fmt == "json":
        text = json.dumps(
            {
                "venue": run.market.venue,
                "epoch": run.market.epoch,
                "valuation": run.market.valuation_symbol,
                "accounts": rows,
            },
            indent=1,
        )
    else:
        text = _table(rows, run.market.valuation_symbol)
    if out:
        atomic_write_text(Path(out), text + "\n")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text)
