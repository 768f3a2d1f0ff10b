"""``zkmargin inclusion verify``: what one user runs on their inclusion file."""

from __future__ import annotations

import click

from .. import api


@click.group()
def inclusion() -> None:
    """A user's check that their account is in the exchange's publication."""


@inclusion.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--root", "root_hash", default=None, help="The signed root hash you trust (hex).")
@click.option(
    "--publication",
    type=click.Path(dir_okay=False),
    default=None,
    help="The publication whose root to check against.",
)
@click.option(
    "--venue-key",
    type=click.Path(dir_okay=False),
    default=None,
    help="The venue's public key file; without it the root's own key is used.",
)
@click.option("--account", default=None, help="Require the file to be this account's.")
@click.option("--epoch", type=click.IntRange(0), default=None, help="Require this epoch.")
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1) when a check could not be made because an option was omitted.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the verdict).")
def verify(
    file: str,
    root_hash: str | None,
    publication: str | None,
    venue_key: str | None,
    account: str | None,
    epoch: int | None,
    strict: bool,
    as_json: bool,
) -> None:
    """Exit 0 if your account is included under the signed root, 1 if not, 2 on bad input. A
    check not made because an option was omitted is named on its own line (--strict: exit 1)."""
    pk = api.load_venue_public_key(venue_key) if venue_key else None
    rep = api.verify_inclusion(
        file,
        root_hash=root_hash,
        publication=publication,
        venue_key=pk,
        account=account,
        epoch=epoch,
    )
    click.echo(
        f"warning: {file} is private (your balances and openings): do not share it", err=True
    )
    if as_json:
        doc = api.inclusion_result(rep, file, strict=strict)
        click.echo(doc.model_dump_json(indent=1))
        raise SystemExit(0 if doc.valid else 1)
    if not rep.valid:
        click.echo(f"{file}: NOT INCLUDED: {rep.reason}")
        for line in rep.unchecked:
            click.echo(f"  {line}")
        raise SystemExit(1)
    covered = (
        "published WRITTEN OFF: its debts left out"
        if rep.written_off
        else "its debts proven covered"
    )
    click.echo(
        f"{file}: INCLUDED: account {rep.account!r} is a leaf of venue {rep.venue}'s epoch "
        f"{rep.epoch} liabilities tree (root {rep.root_hash}), {covered}"
    )
    if rep.written_off:
        click.echo(
            "  written off: the exchange could not show your debts covered by your own holdings, "
            "so your leaf counts none of them (negative balances and cash as 0, positions worth "
            "less than nothing at mark left out); it still owes you every holding below"
        )
    click.echo(f"what your {rep.mode}-margin statement commits, slot by slot:")
    for slot, of, value, what in rep.holdings:
        name = f"{slot}[{of}]" if of else slot
        click.echo(f"  {name:>24}  {value:>24}  {what}")
    click.echo(
        "what the exchange owes you, per column, as your leaf commits it (negative: you owe it):"
    )
    for column, value, what in rep.owed:
        click.echo(f"  {column:>8}: {value:>24}  ({what})")
    for line in rep.unchecked:
        click.echo(f"  {line}")
    if strict and rep.unchecked:
        click.echo("strict: some checks were not made (the lines above)")
        raise SystemExit(1)
