"""``zkmargin margin report``: plain margin figures, no cryptography."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .. import api
from ..api import atomic_write_text, parse_threshold
from .progress import steps


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
        f"{len(rows)} account{'' if len(rows) == 1 else 's'}, {unhealthy} below maintenance "
        "(flagged !!), sorted by "
        "margin ratio = equity / maintenance (isolated: the worst position's)"
    )
    return "\n".join(lines)


_BY_SUFFIX = {".json": "json", ".csv": "csv", ".parquet": "parquet"}


def _output_format(fmt: str | None, out: str | None) -> str:
    """The format asked for, else the one the --out extension names, else a table; a format
    that contradicts a known extension is refused (never text inside a .parquet file)."""
    suffix = Path(out).suffix.lower() if out and out != "-" else ""
    implied = _BY_SUFFIX.get(suffix)
    if fmt is None:
        return implied or "table"
    if implied is not None and implied != fmt:
        raise ValueError(f"--format {fmt} contradicts the extension of {out}")
    if fmt == "parquet" and suffix != ".parquet":
        raise ValueError("a Parquet output is written to a file whose name ends in .parquet")
    return fmt


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
    type=click.Choice(["table", "json", "csv", "parquet"]),
    default=None,
    help="Output format [default: from the --out extension (.json, .csv, .parquet), else table].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Write here (atomically) instead of standard output; '-' is standard output.",
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
    fmt: str | None,
    out: str | None,
    threshold: str,
    liquidation: bool,
) -> None:
    """Equity, requirements, margin ratio and health of every account, worst first."""
    theta = parse_threshold(threshold)
    fmt = _output_format(fmt, out)
    if out == "-":
        out = None
    with steps(4 if liquidation else 3) as step:
        run = api.margin_report(
            market_path, accounts_path, threshold_ppm=theta, liquidation=liquidation, progress=step
        )
    if fmt == "parquet" and not out:
        raise ValueError("Parquet is binary: give --out FILE.parquet")
    if fmt in ("csv", "parquet"):
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
