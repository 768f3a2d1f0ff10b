"""``zkmargin venue keygen`` and ``zkmargin venue attest``: the venue vouches for accounts."""

from __future__ import annotations

from pathlib import Path

import click

from .. import api
from .interrupt import when_interrupted
from .options import layout_options
from .progress import phases


@click.group()
def venue() -> None:
    """The venue's keys and its signed account statements."""


@venue.command("keygen")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Secret key file (owner-only); the public key goes beside it with the suffix .pub.",
)
@click.option("--venue", "name", default="venue", show_default=True, help="The venue's name.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing key (everything made with the old one stays tied to it).",
)
def keygen(out: str, name: str, force: bool) -> None:
    """Write a fresh BLS key pair and KDF master secret for the venue; an existing key file is
    refused (exit 2) unless --force."""
    key, pub = api.venue_keygen(out, name, force=force)
    click.echo(f"wrote {key} (secret, owner-only) and {pub} (public: give it to verifiers)")


@venue.command("attest")
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Venue key file.")
@click.option("--market", required=True, type=click.Path(dir_okay=False), help="Market snapshot.")
@click.option(
    "--accounts",
    required=True,
    type=click.Path(dir_okay=False),
    help="Accounts: .json, .csv or .parquet.",
)
@click.option(
    "--epoch",
    type=click.IntRange(0),
    default=None,
    help="The epoch (must be the market snapshot's; defaults to it).",
)
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Where each account's statement and openings file go.",
)
@layout_options
def attest(
    key: str,
    market: str,
    accounts: str,
    epoch: int | None,
    out_dir: str,
    decoys: int,
    layout: str,
    min_share: int,
) -> None:
    """Commit and sign every account's statement; openings go to the trader, owner-only."""

    def kept() -> str:
        folder = Path(out_dir)
        n = len(list(folder.glob("*.statement.json"))) if folder.is_dir() else 0
        if not n:
            return "no statement was written yet; run the same command again"
        return (
            f"{n} statement(s) in {out_dir} are whole (each file is written at once); a rerun "
            "writes every account's again, the same bytes"
        )

    when_interrupted(kept)
    with phases("attest") as progress:
        result = api.venue_attest(
            key=key,
            market=market,
            accounts=accounts,
            out_dir=out_dir,
            epoch=epoch,
            decoys=decoys,
            layout=layout,
            min_share=min_share,
            progress=lambda done, total: progress("statements", done, total),
        )
    click.echo(
        f"attested {result.accounts} account statement(s) into {result.out_dir} "
        "(*.statement.json public, *.openings.json secret: give each to its owner)"
    )
