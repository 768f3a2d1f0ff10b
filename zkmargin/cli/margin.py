"""``zkmargin margin report``: plain margin figures, no cryptography."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .. import api
from ..api import atomic_write_text, parse_threshold


@click.group()
def margin() -> None:
    """Margin figures of accounts under a market snapshot (no proofs)."""


def _rows(run: api.MarginRun) -> list[dict[str, Any]]:
    """The report as per-account records (JSON, table): the CSV columns, typed."""
    cols = api.margin_columns(run)
    liq = run.liquidation()
    price_decimals = {i.symbol: i.price_decimals for i in run.market.instruments}
    rows = []
    for k, acc_id in enumerate(cols["account"]):
        ratio = cols["margin_ratio"][k]
        rows.append(
            {
                "account": acc_id,
                "mode": cols["mode"][k],
                "equity": cols["equity"][k],
                "maintenance": cols["maintenance"][k],
                "initial": cols["initial"][k],
                "margin_ratio": float(ratio) if ratio else None,
                "healthy": cols["healthy"][k] == "True",
                "liquidation_prices": {
                    s: None if p is None else api.format_decimal(p, price_decimals[s])
                    for s, p in liq.get(acc_id, {}).items()
                },
            }
        )
    return rows


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
    theta = parse_threshold(threshold)
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
