"""``zkmargin prove``: the trader proves their account's margin health."""

from __future__ import annotations

import click

from .. import api


@click.command()
@click.option("--market", required=True, type=click.Path(dir_okay=False), help="Market snapshot.")
@click.option(
    "--statement", type=click.Path(dir_okay=False), default=None, help="Venue-attested statement."
)
@click.option(
    "--openings", type=click.Path(dir_okay=False), default=None, help="The statement's openings."
)
@click.option(
    "--inclusion",
    type=click.Path(dir_okay=False),
    default=None,
    help="Your inclusion file from the exchange's publication (attests the statement).",
)
@click.option(
    "--account",
    type=click.Path(dir_okay=False),
    default=None,
    help="Self-committed: a file with exactly one account (.json, .csv, .parquet).",
)
@click.option(
    "--circuit",
    default="auto",
    show_default=True,
    help="auto (by the account's margin mode), isolated, cross or portfolio.",
)
@click.option(
    "--threshold",
    default="1",
    show_default=True,
    help="θ: prove equity ≥ θ·maintenance; 'max' proves the largest θ on a 0.01 grid that holds.",
)
@click.option("--context", default="", help="The verifier's context string (bound into the proof).")
@click.option(
    "--decoys",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Self-committed only: zero slots hiding which assets and instruments are held.",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Proof file to write.")
def prove(
    market: str,
    statement: str | None,
    openings: str | None,
    inclusion: str | None,
    account: str | None,
    circuit: str,
    threshold: str,
    context: str,
    decoys: int,
    out: str,
) -> None:
    """Prove equity − θ·maintenance ≥ 0 without revealing any amount. Exit 1 (and no proof)
    if the account is not healthy enough."""
    try:
        result = api.prove_margin(
            market=market,
            statement=statement,
            openings=openings,
            inclusion=inclusion,
            account=account,
            circuit=circuit,
            threshold=threshold,
            context=context,
            decoys=decoys,
            out=out,
        )
    except api.NotHealthy as exc:
        click.echo(f"refused: {exc}", err=True)
        raise SystemExit(1) from None
    kind = "an attested statement" if result.attested else "a self-committed account"
    best = ""
    if threshold.strip().lower() == "max":
        best = (
            " (the cap: equity covers 1000 × the requirement, or there is none)"
            if api.parse_threshold(result.threshold) == api.MAX_THRESHOLD_PPM
            else " (the highest on a 0.01 grid that holds)"
        )
    click.echo(
        f"wrote {result.out}: {result.circuit} proof of θ = {result.threshold}{best} for {kind}, "
        f"{result.proof_bytes} bytes, {result.range_constraints} range constraints"
    )
