"""``zkmargin verify``: check margin proofs (batch-verified)."""

from __future__ import annotations

import click

from .. import api


@click.command()
@click.argument("proofs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--market", required=True, type=click.Path(dir_okay=False), help="Market snapshot.")
@click.option(
    "--venue-key",
    type=click.Path(dir_okay=False),
    default=None,
    help="The venue's public key file: statements must be signed by it.",
)
@click.option("--context", default=None, help="Require this context string.")
@click.option("--min-threshold", default=None, help="Require θ at least this.")
def verify(
    proofs: tuple[str, ...],
    market: str,
    venue_key: str | None,
    context: str | None,
    min_threshold: str | None,
) -> None:
    """Exit 0 if every proof is valid, 1 if any is invalid, 2 on unreadable input."""
    pk = api.load_venue_public_key(venue_key) if venue_key else None
    verdicts = api.verify_margin_proofs(
        proofs, market=market, venue_key=pk, context=context, min_threshold=min_threshold
    )
    for v in verdicts:
        if v.valid:
            who = f"attested by {v.venue}" if v.attested else "self-committed"
            click.echo(
                f"{v.path}: VALID {v.circuit} proof: equity ≥ {v.threshold} × maintenance, "
                f"epoch {v.epoch}, {who}"
                + (f", context {v.context!r}" if v.context else "")
                + "".join(f"; note: {note}" for note in v.notes)
            )
        else:
            click.echo(f"{v.path}: INVALID: {v.reason}")
    if not all(v.valid for v in verdicts):
        raise SystemExit(1)
