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
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1) when a check could not be made because an option was omitted.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the verdicts).")
def verify(
    proofs: tuple[str, ...],
    market: str,
    venue_key: str | None,
    context: str | None,
    min_threshold: str | None,
    strict: bool,
    as_json: bool,
) -> None:
    """Exit 0 if every proof is valid, 1 if any is invalid, 2 on unreadable input. A check not
    made because an option was omitted is named on its own line (with --strict: exit 1)."""
    pk = api.load_venue_public_key(venue_key) if venue_key else None
    verdicts = api.verify_margin_proofs(
        proofs, market=market, venue_key=pk, context=context, min_threshold=min_threshold
    )
    if as_json:
        doc = api.verify_result(verdicts, market=market, strict=strict)
        click.echo(doc.model_dump_json(indent=1))
        raise SystemExit(0 if doc.valid else 1)
    for v in verdicts:
        if v.valid:
            who = f"attested by {v.venue}" if v.attested else "self-committed, NOT attested"
            click.echo(
                f"{v.path}: VALID {v.circuit} proof: equity ≥ {v.threshold} × maintenance, "
                f"epoch {v.epoch}, {who}"
                + (f", context {v.context!r}" if v.context else "")
                + "".join(f"; note: {note}" for note in v.notes)
            )
        else:
            click.echo(f"{v.path}: INVALID: {v.reason}")
        for line in v.unchecked:
            click.echo(f"  {line}")
    if not all(v.valid for v in verdicts):
        raise SystemExit(1)
    if strict and any(v.unchecked for v in verdicts):
        click.echo("strict: some checks were not made (the lines above)")
        raise SystemExit(1)
