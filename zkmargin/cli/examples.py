"""``zkmargin examples generate``: seeded synthetic exchange snapshots."""

from __future__ import annotations

import click

from .. import api
from .progress import steps


@click.group()
def examples() -> None:
    """Example data."""


@examples.command("generate")
@click.option(
    "--accounts",
    "count",
    type=click.IntRange(1, 10_000_000),
    default=1000,
    show_default=True,
    help="How many accounts.",
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--epoch", type=click.IntRange(0), default=1, show_default=True)
@click.option(
    "--market-out", type=click.Path(dir_okay=False), default="market.json", show_default=True
)
@click.option(
    "--accounts-out",
    type=click.Path(dir_okay=False),
    default="accounts.parquet",
    show_default=True,
    help=".json, .csv or .parquet",
)
@click.option(
    "--exchange",
    is_flag=True,
    help="Write an exchange's publishable book instead: market.json, accounts.csv and "
    "reserves.json in --out-dir.",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="With --exchange (required there): the folder to write to.",
)
@click.option(
    "--modes",
    default=None,
    metavar="MODE[=WEIGHT],…",
    help="With --exchange: the mix of margin modes [default: cross=0.85,isolated=0.15; this "
    "market has no risk scenarios for portfolio accounts].",
)
@click.option(
    "--below",
    type=click.FloatRange(0, 1),
    default=None,
    help="With --exchange: the fraction of accounts with positions to put below maintenance "
    "(awaiting liquidation: they publish) [default: 0.05].",
)
@click.option(
    "--bankrupt",
    type=click.FloatRange(0, 1),
    default=None,
    help="With --exchange: the fraction of cross accounts with positions whose debts exceed "
    "their holdings (published written off) [default: 0.02].",
)
@click.option(
    "--reserves-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write a reserves file covering every total with 10 %, so the book publishes.",
)
def generate(
    count: int,
    seed: int,
    epoch: int,
    market_out: str,
    accounts_out: str,
    reserves_out: str | None,
    exchange: bool,
    out_dir: str | None,
    modes: str | None,
    below: float | None,
    bankrupt: float | None,
) -> None:
    """Write a market snapshot and accounts: most healthy, some near and some below maintenance.

    With --exchange, write an exchange's book that publishes as it is: a market, accounts of
    several margin modes (some below maintenance, some bankrupt) and a reserves file covering
    every total with a 10 % margin."""
    if exchange:
        if reserves_out is not None:
            raise click.UsageError("--exchange writes its reserves into --out-dir")
        if out_dir is None:
            raise click.UsageError(
                "--exchange writes three files: name their folder with --out-dir"
            )
        mix = _modes(modes) if modes is not None else api.EXAMPLE_MODES
        ex = api.generate_exchange_examples(
            count,
            seed,
            out_dir,
            epoch,
            modes=mix,
            below=0.05 if below is None else below,
            bankrupt=0.02 if bankrupt is None else bankrupt,
        )
        by_mode = ", ".join(f"{n} {m}" for m, n in ex.modes.items())
        click.echo(
            f"wrote {ex.market}, {ex.accounts} ({ex.count} accounts: {by_mode}; "
            f"{ex.unhealthy} below maintenance, {ex.bankrupt} of them bankrupt) and "
            f"{ex.reserves} (every total plus 10 %)"
        )
        if ex.unhealthy:
            click.echo(
                "exchange publish takes them all: an account below maintenance is a leaf like "
                "any other, a bankrupt one is published with its debts left out"
            )
        return
    for name, given in (("--out-dir", out_dir is not None), ("--modes", modes is not None)):
        if given:
            raise click.UsageError(f"{name} goes with --exchange")
    if below is not None or bankrupt is not None:
        raise click.UsageError("--below and --bankrupt go with --exchange")
    with steps(4) as step:
        n, unhealthy = api.generate_examples(
            count, seed, market_out, accounts_out, epoch, progress=step, reserves_out=reserves_out
        )
    click.echo(
        f"wrote {market_out} and {accounts_out}: {n} account{'' if n == 1 else 's'}, "
        f"{unhealthy} below maintenance" + (f"; and {reserves_out}" if reserves_out else "")
    )


def _modes(text: str) -> dict[str, float]:
    """``cross=0.9,isolated=0.1`` (a bare mode weighs 1) as {mode: weight}."""
    out: dict[str, float] = {}
    for item in text.split(","):
        name, _, weight = item.strip().partition("=")
        try:
            out[name.strip()] = float(weight) if weight else 1.0
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: the weight is not a number", param_hint="--modes"
            ) from None
    return out
