"""``zkmargin margin report``: plain margin figures, no cryptography."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from .. import api
from ..api import MODES, atomic_write_text, parse_rate


@click.group()
def margin() -> None:
    """Margin figures of accounts under a market snapshot (no proofs)."""


def _money(values: Any, decimals: int) -> list[str]:
    return [_fmt(int(v), decimals) for v in values]


def _rows(run: api.MarginRun) -> list[dict[str, Any]]:
    rep = run.report
    dec = run.market.valuation_decimals
    eq, mm, im = (_money(v, dec) for v in (rep.equity, rep.maintenance, rep.initial))
    inst = {i.symbol: i for i in run.market.instruments}
    rows = []
    for k, acc_id in enumerate(rep.ids):
        ratio = float(rep.margin_ratio[k])
        liq = run.liquidation.get(acc_id, {})
        rows.append(
            {
                "account": acc_id,
                "mode": MODES[int(rep.mode[k])],
                "equity": eq[k],
                "maintenance": mm[k],
                "initial": im[k],
                "margin_ratio": None if math.isnan(ratio) else round(ratio, 6),
                "healthy": bool(rep.healthy[k]),
                "liquidation_prices": {
                    s: None if p is None else _fmt(p, inst[s].price_decimals)
                    for s, p in liq.items()
                },
            }
        )
    rows.sort(key=lambda r: (r["margin_ratio"] is None, r["margin_ratio"] or 0.0))
    return rows


def _fmt(units: int, decimals: int) -> str:
    sign = "-" if units < 0 else ""
    units = abs(units)
    if decimals == 0:
        return f"{sign}{units}"
    return f"{sign}{units // 10**decimals}.{units % 10**decimals:0{decimals}d}"


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
    help="Compute exact liquidation prices (account by account).",
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
    err = sys.stderr
    bars: list[Any] = []

    def progress(done: int, total: int) -> None:
        if not err.isatty():
            return
        if not bars:
            bars.append(click.progressbar(length=total, label="liquidation prices", file=err))
            bars[0].__enter__()
        bars[0].update(done - bars[0].pos)

    try:
        run = api.margin_report(
            market_path,
            accounts_path,
            threshold_ppm=theta,
            liquidation=liquidation,
            progress=progress,
        )
    finally:
        if bars:
            bars[0].__exit__(None, None, None)
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
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(
            [
                "account",
                "mode",
                "equity",
                "maintenance",
                "initial",
                "margin_ratio",
                "healthy",
                "liquidation_prices",
            ]
        )
        for r in rows:
            w.writerow(
                [
                    r["account"],
                    r["mode"],
                    r["equity"],
                    r["maintenance"],
                    r["initial"],
                    "" if r["margin_ratio"] is None else r["margin_ratio"],
                    r["healthy"],
                    ";".join(f"{s}={p or ''}" for s, p in r["liquidation_prices"].items()),
                ]
            )
        text = buf.getvalue().rstrip("\n")
    else:
        text = _table(rows, run.market.valuation_symbol)
    if out:
        atomic_write_text(Path(out), text + "\n")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text)
