"""``zkmargin exchange publish|verify|inclusion``: the exchange's proof of liabilities and
reserves, its full audit, and one user's inclusion file."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import click

from .. import api
from ..liabilities.store import work_path
from .interrupt import when_interrupted
from .progress import PhaseProgress, phases

EXIT_FAILED = 1


def phase_bars(label: str = "") -> AbstractContextManager[PhaseProgress]:
    """Progress of the exchange's long work: bars on a terminal, log lines otherwise (see
    :mod:`.progress`)."""
    return phases(label)


def _workers_option(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Run on the workers of this Dask distributed scheduler (tcp://host:8786).",
    )(f)
    return click.option(
        "--workers",
        type=click.IntRange(1, 1024),
        default=None,
        help="Local worker processes (default: one per CPU).",
    )(f)


@click.group()
def exchange() -> None:
    """The exchange's publication of liabilities and reserves, and its audit."""


@exchange.command("publish")
@click.option("--market", required=True, type=click.Path(dir_okay=False), help="Market snapshot.")
@click.option(
    "--accounts", required=True, type=click.Path(dir_okay=False), help=".json, .csv or .parquet"
)
@click.option(
    "--reserves",
    required=True,
    type=click.Path(dir_okay=False),
    help="Reserves file: an amount per asset and for the valuation currency.",
)
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Venue key file.")
@click.option(
    "--epoch", type=click.IntRange(0), default=None, help="The epoch (the market snapshot's)."
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Publication file.")
@click.option(
    "--secrets-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Secrets file (owner-only) [default: OUT.secrets].",
)
@click.option(
    "--pad-to",
    type=click.IntRange(2),
    default=None,
    help="Leaves in the tree, a power of two (default: the next above the accounts).",
)
@click.option(
    "--decoys",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Zero-valued slots per account for other assets or instruments.",
)
@_workers_option
def publish(
    market: str,
    accounts: str,
    reserves: str,
    key: str,
    epoch: int | None,
    out: str,
    secrets_out: str | None,
    pad_to: int | None,
    decoys: int,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Prove every account above maintenance, build the Merkle sum tree, sign its root and
    prove the reserves cover every asset's total. A stopped run resumes where it stopped."""
    partial = work_path(Path(out))
    when_interrupted(
        lambda: (
            f"the finished work is kept in {partial}; to resume, run the same command"
            if partial.exists()
            else "no finished work was kept; run the same command again"
        )
    )
    try:
        with phase_bars("publish") as progress:
            res = api.exchange_publish(
                key=key,
                market=market,
                accounts=accounts,
                reserves=reserves,
                out=out,
                epoch=epoch,
                secrets_out=secrets_out,
                pad_to=pad_to,
                decoys=decoys,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
            )
    except api.CannotPublish as exc:
        click.echo(f"cannot publish: {exc}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    if res.complete:
        click.echo(f"already complete: {res.out}")
        return
    total = sum(res.seconds.values())
    click.echo(
        f"published {res.out}: {res.accounts} accounts in {res.leaves} leaves (height "
        f"{res.height}), columns {', '.join(res.columns)}; {total:.1f} s on {res.where}"
        + (" (resumed)" if res.resumed else "")
    )
    click.echo(f"secrets (owner-only; each user's inclusion file comes from them): {res.secrets}")


@exchange.command("verify")
@click.argument("publication", type=click.Path(dir_okay=False))
@click.option(
    "--venue-key",
    type=click.Path(dir_okay=False),
    default=None,
    help="The venue's public key file; without it the publication's own key is used.",
)
@_workers_option
def verify(
    publication: str, venue_key: str | None, workers: int | None, scheduler: str | None
) -> None:
    """The full audit: every leaf's proof, every node, the root and its signature, the reserves.
    Exit 0 valid, 1 invalid (the first bad leaf or node named), 2 unreadable."""
    when_interrupted(lambda: "nothing is kept (an audit starts over); run the same command again")
    pk = api.load_venue_public_key(venue_key) if venue_key else None
    with phase_bars("verify") as progress:
        rep = api.audit_publication(
            publication, venue_key=pk, workers=workers, scheduler=scheduler, progress=progress
        )
    if not rep.valid:
        click.echo(f"{publication}: INVALID: {rep.reason}")
        raise SystemExit(EXIT_FAILED)
    click.echo(
        f"{publication}: VALID: venue {rep.venue}, epoch {rep.epoch}, {rep.leaves} leaves "
        f"(height {rep.height}): every leaf above maintenance, every node the sum of its "
        "children, the root signed, every total covered by its reserve"
    )
    for c in rep.columns:
        click.echo(
            f"  {c.symbol:>8}: liabilities ≤ reserve {api.format_decimal(c.reserve, c.decimals)}"
        )
    if not rep.key_given:
        click.echo(
            f"note: the root's signature was checked against the key inside the publication "
            f"({rep.venue_key[:16]}…); pass --venue-key to check it is the venue's"
        )


@exchange.command("inclusion")
@click.option("--publication", required=True, type=click.Path(dir_okay=False))
@click.option("--secrets", required=True, type=click.Path(dir_okay=False))
@click.option("--account", required=True, help="The account id.")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="The user's file (owner-only)."
)
def inclusion(publication: str, secrets: str, account: str, out: str) -> None:
    """Write one user's inclusion file: their statement, openings and path to the root."""
    path = api.exchange_inclusion(
        publication=publication, secrets=secrets, account=account, out=out
    )
    click.echo(f"wrote {path} (private: give it to account {account!r} only)")
