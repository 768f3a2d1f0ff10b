"""Liquidation proofs from the command line: ``venue prove-liquidation`` (the venue),
``verify-liquidation`` (anyone, one or many proofs, or a liquidation log), ``liquidation check``
(the trader) and ``equivocation`` (anyone, two signed statements).

Exit codes: 0 valid (for ``equivocation``: the two statements ARE evidence of equivocation),
1 invalid (not evidence), 2 bad input.
"""

from __future__ import annotations

import click

from .. import api


def _venue_key(path: str) -> bytes:
    return api.load_venue_public_key(path)


@click.command("prove-liquidation")
@click.option("--key", required=True, type=click.Path(dir_okay=False), help="Venue key file.")
@click.option(
    "--market",
    required=True,
    type=click.Path(dir_okay=False),
    help="The market snapshot at the liquidation (the statements' epoch).",
)
@click.option(
    "--statement", type=click.Path(dir_okay=False), default=None, help="One account's statement."
)
@click.option("--openings", type=click.Path(dir_okay=False), default=None, help="Its openings.")
@click.option(
    "--batch",
    type=click.Path(file_okay=False),
    default=None,
    help="Every account of a venue attest folder (X.statement.json beside X.openings.json).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="The proof file (one account)."
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where a batch's proofs go (X.liquidation.json).",
)
@click.option(
    "--log",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --batch: also write the epoch's liquidation log (JSON lines) here.",
)
@click.option(
    "--threshold",
    default="1",
    show_default=True,
    help="θ, the venue's liquidation threshold: prove θ·maintenance − equity ≥ 1.",
)
def prove_liquidation(
    key: str,
    market: str,
    statement: str | None,
    openings: str | None,
    batch: str | None,
    out: str | None,
    out_dir: str | None,
    log: str | None,
    threshold: str,
) -> None:
    """Prove that an account was below θ·maintenance, never by how much. Exit 1 (no proof) if
    the one account given is not below."""
    if batch is not None:
        if statement or openings or out:
            raise ValueError(
                "--batch takes --out-dir (and --log), not --statement/--openings/--out"
            )
        if out_dir is None:
            raise ValueError("--batch needs --out-dir")
        res = api.prove_liquidations(
            key=key, market=market, batch=batch, out_dir=out_dir, threshold=threshold, log=log
        )
        click.echo(
            f"proved {len(res.proved)} liquidation(s) into {out_dir}; "
            f"{len(res.not_below)} account(s) not below θ = {threshold} × maintenance"
            + (f"; log {res.log}" if res.log else "")
        )
        return
    if statement is None or openings is None or out is None:
        raise ValueError("give --statement, --openings and --out (or --batch and --out-dir)")
    if out_dir is not None or log is not None:
        raise ValueError("--out-dir and --log go with --batch")
    try:
        r = api.prove_liquidation(
            key=key,
            market=market,
            statement=statement,
            openings=openings,
            out=out,
            threshold=threshold,
        )
    except api.NotBelow as exc:
        click.echo(f"refused: {exc}", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"wrote {r.out}: {r.circuit} proof, θ = {r.threshold}, account tag "
        f"{r.account_tag[:16]}…, {r.proof_bytes} bytes"
    )


@click.command("verify-liquidation")
@click.argument("proofs", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--log",
    "logs",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="A venue's liquidation log (JSON lines); repeatable.",
)
@click.option(
    "--market", required=True, type=click.Path(dir_okay=False), help="The snapshot you trust."
)
@click.option(
    "--venue-key",
    required=True,
    type=click.Path(dir_okay=False),
    help="The venue's public key file: every statement must be signed by it.",
)
@click.option(
    "--threshold",
    default="1",
    show_default=True,
    help="θ, the venue's liquidation threshold; a proof stating another is refused.",
)
def verify_liquidation(
    proofs: tuple[str, ...], logs: tuple[str, ...], market: str, venue_key: str, threshold: str
) -> None:
    """Exit 0 if every liquidation proof (and log) is valid, 1 if any is not, 2 on bad input."""
    if not proofs and not logs:
        raise ValueError("give liquidation proof files or --log")
    pk = _venue_key(venue_key)
    ok = True
    if proofs:
        for v in api.verify_liquidation_proofs(
            proofs, market=market, venue_key=pk, threshold=threshold
        ):
            ok &= _say(v)
    for path in logs:
        rep = api.verify_liquidation_log(path, market=market, venue_key=pk, threshold=threshold)
        for v in rep.verdicts:
            if not v.valid:
                _say(v)
        per = ", ".join(f"{k} {n}" for k, n in rep.per_instrument.items()) or "none"
        head = "VALID" if rep.valid else f"INVALID: {rep.reason}"
        click.echo(
            f"{path}: {head}: {len(rep.verdicts)} liquidation(s) by {rep.venue}, epoch "
            f"{rep.epoch}, θ = {rep.threshold}; "
            f"{sum(v.valid for v in rep.verdicts)} valid; per instrument: {per}"
        )
        ok &= rep.valid
    if not ok:
        raise SystemExit(1)


def _say(v: api.LiquidationVerdict) -> bool:
    if v.valid:
        click.echo(
            f"{v.path}: VALID {v.circuit} proof: account tag {v.account_tag[:16]}… was below "
            f"{v.threshold} × maintenance, epoch {v.epoch}, venue {v.venue}"
        )
    else:
        click.echo(f"{v.path}: INVALID: {v.reason}")
    return v.valid


@click.group()
def liquidation() -> None:
    """The trader's side of a liquidation proof."""


@liquidation.command("check")
@click.option("--proof", required=True, type=click.Path(dir_okay=False), help="The proof.")
@click.option("--statement", required=True, type=click.Path(dir_okay=False), help="Your statement.")
@click.option("--openings", required=True, type=click.Path(dir_okay=False), help="Your openings.")
@click.option(
    "--market",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --venue-key: also verify the proof against this snapshot.",
)
@click.option(
    "--venue-key", type=click.Path(dir_okay=False), default=None, help="The venue's public key."
)
@click.option("--threshold", default="1", show_default=True, help="θ (with --market).")
def check(
    proof: str,
    statement: str,
    openings: str,
    market: str | None,
    venue_key: str | None,
    threshold: str,
) -> None:
    """Exit 0 if the proof is about your statement (and valid, when checked), 1 if not."""
    pk = _venue_key(venue_key) if venue_key else None
    rep = api.check_liquidation(
        proof=proof,
        statement=statement,
        openings=openings,
        market=market,
        venue_key=pk,
        threshold=threshold,
    )
    if rep.valid:
        click.echo(f"{proof}: ABOUT YOUR ACCOUNT {rep.account}: its statement is yours")
    elif rep.equivocation:
        click.echo(f"{proof}: EQUIVOCATION: {rep.reason}")
    else:
        click.echo(f"{proof}: NOT YOURS: {rep.reason}")
    for line in rep.unchecked:
        click.echo(f"  {line}")
    if not rep.valid:
        raise SystemExit(1)


@click.command("equivocation")
@click.option(
    "--statement",
    "statements",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="A signed statement (or a liquidation proof holding one); give exactly two.",
)
@click.option(
    "--venue-key", required=True, type=click.Path(dir_okay=False), help="The venue's public key."
)
def equivocation(statements: tuple[str, ...], venue_key: str) -> None:
    """Exit 0 if the two statements are evidence that the venue signed two different statements
    for one account and epoch, 1 if they are not."""
    if len(statements) != 2:
        raise ValueError("give exactly two --statement files")
    v = api.check_equivocation(*statements, venue_key=_venue_key(venue_key))
    if v.equivocation:
        click.echo(f"EQUIVOCATION: {v.reason}")
    else:
        click.echo(f"no equivocation: {v.reason}")
        raise SystemExit(1)
