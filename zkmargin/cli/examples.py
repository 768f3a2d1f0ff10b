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
def generate(count: int, seed: int, epoch: int, market_out: str, accounts_out: str) -> None:
    """Write a market snapshot and accounts: most healthy, some near and some below maintenance."""
    with steps(4) as step:
        n, unhealthy = api.generate_examples(
            count, seed, market_out, accounts_out, epoch, progress=step
        )
    click.echo(
        f"wrote {market_out} and {accounts_out}: {n} account{'' if n == 1 else 's'}, "
        f"{unhealthy} below maintenance"
    )
