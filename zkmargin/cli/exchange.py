"""``zkmargin exchange publish|verify|inclusion``: the exchange's proof of liabilities and
reserves, its full audit, and one user's inclusion file."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import click

from .. import api
from .interrupt import when_interrupted
from .options import layout_options
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


def _chain_data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--evm-balances",
        "evm_balances",
        multiple=True,
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="An EVM balance snapshot `exchange evm-snapshot` read from your own node "
        "(repeat for several chains).",
    )(f)
    f = click.option(
        "--eth-rpc",
        "eth_rpc",
        multiple=True,
        metavar="URL",
        help="An EVM node's JSON-RPC URL (repeat for several chains).",
    )(f)
    return click.option(
        "--utxos",
        "utxos",
        multiple=True,
        metavar="[CHAIN=]FILE",
        help="Bitcoin Core `scantxoutset` output (CHAIN: bitcoin, bitcoin-testnet, "
        "bitcoin-regtest; default bitcoin).",
    )(f)


def _print_assets(addresses: int, heights: dict[str, int], totals: list[Any]) -> None:
    at = ", ".join(f"{c} at {h}" for c, h in sorted(heights.items()))
    click.echo(f"proof of assets: {addresses} addresses, every signature checked; {at}")
    for t in totals:
        line = f"  {t.asset:>8}: proven on chain {api.format_decimal(t.proven, t.decimals)}"
        if t.off_chain:
            line += (
                f"; declared off chain (not proven) {api.format_decimal(t.off_chain, t.decimals)}"
            )
        click.echo(line)


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
@layout_options
@click.option(
    "--reveal-totals",
    is_flag=True,
    help="Open every asset's total liabilities in the publication (the audit then shows "
    "liabilities, reserves and their ratio per asset).",
)
@click.option(
    "--min-ratio",
    default="1",
    show_default=True,
    help="Prove reserves ≥ this ratio × liabilities for every asset (a decimal in [1, 1000]).",
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
    layout: str,
    min_share: int,
    reveal_totals: bool,
    min_ratio: str,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Prove every account's debts covered by its own holdings (a bankrupt account is published
    with its debts left out), build the Merkle sum tree, sign its root and prove the reserves
    cover every asset's total. A stopped run resumes where it stopped."""
    partial = api.publication_work_path(Path(out))
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
                layout=layout,
                min_share=min_share,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                min_ratio=min_ratio,
                reveal_totals=reveal_totals,
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
    click.echo(
        f"layouts: every slot layout is shared by at least {res.min_share} account(s)"
        + (
            " (--min-share not reached: too few accounts of a mode)"
            if res.min_share < min_share and layout == "shared"
            else ""
        )
    )
    if res.min_ratio != (1, 1):
        click.echo(
            f"reserves proven ≥ {api.ratio_text(res.min_ratio)} × total liabilities, for every "
            "column"
        )
    if res.cash_note:
        click.echo(f"columns: {res.cash_note}")
    if res.bankrupt:
        click.echo(
            f"{res.bankrupt} account(s) bankrupt (debts not covered by their own holdings): "
            "published written off, their debts left out of the totals (which accounts is not "
            "said)"
        )


@exchange.command("verify")
@click.argument("publication", type=click.Path(dir_okay=False))
@click.option(
    "--venue-key",
    type=click.Path(dir_okay=False),
    default=None,
    help="The venue's public key file; without it the publication's own key is used.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Fail (exit 1) when a check could not be made because an option was omitted.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the audit).")
@click.option(
    "--report",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the audit report: one self-contained HTML page (valid or not).",
)
@click.option(
    "--min-ratio",
    default=None,
    help="Require the reserves proof to show reserves ≥ this ratio × liabilities for every "
    "asset (a decimal in [1, 1000]; default: what the proof states, at least 1).",
)
@_chain_data_options
@_workers_option
def verify(
    publication: str,
    venue_key: str | None,
    strict: bool,
    as_json: bool,
    report: str | None,
    min_ratio: str | None,
    utxos: tuple[str, ...],
    eth_rpc: tuple[str, ...],
    evm_balances: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
) -> None:
    """The full audit: every leaf's proof, every node, the root and its signature, the reserves,
    and the proof of assets if the publication holds one (its balances re-read from your own
    chain data when given). Exit 0 valid, 1 invalid (the first bad leaf, node or address named),
    2 unreadable. A check not made because an option was omitted is named on its own line
    (with --strict: exit 1)."""
    when_interrupted(lambda: "nothing is kept (an audit starts over); run the same command again")
    pk = api.load_venue_public_key(venue_key) if venue_key else None
    data = api.load_chain_data(utxos=utxos, eth_rpc=eth_rpc, evm_balances=evm_balances)
    with phase_bars("verify") as progress:
        rep = api.audit_publication(
            publication,
            venue_key=pk,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            chain_data=data,
            min_ratio=min_ratio,
        )
    if report is not None:
        api.write_audit_report(rep, report, strict=strict)
    if as_json:
        doc = api.audit_result(rep, strict=strict)
        click.echo(doc.model_dump_json(indent=1))
        raise SystemExit(0 if doc.valid else EXIT_FAILED)
    if not rep.valid:
        click.echo(f"{publication}: INVALID: {rep.reason}")
        for line in rep.failures[1:6]:
            click.echo(f"  also: {line}")
        for line in rep.unchecked:
            click.echo(f"  {line}")
        if report is not None:
            click.echo(f"report: {report}")
        raise SystemExit(EXIT_FAILED)
    failed = strict and bool(rep.unchecked)
    verdict = "INVALID (--strict: checks not made, below)" if failed else "VALID"
    click.echo(
        f"{publication}: {verdict}: venue {rep.venue}, epoch {rep.epoch}, {rep.leaves} leaves "
        f"(height {rep.height}): every leaf's debts covered, every node the sum of its "
        "children, the root signed, every total covered by its reserve"
    )
    click.echo(f"  root hash: {rep.root_hash}  (give it to users: inclusion verify --root)")
    click.echo(f"  venue key fingerprint (SHA-256): {rep.venue_key_fingerprint}")
    if rep.required_ratio != (1, 1):
        click.echo(
            f"  reserve ratio: the proof shows {api.ratio_text(rep.min_ratio)} × liabilities, "
            f"at least the {api.ratio_text(rep.required_ratio)} you require (--min-ratio)"
        )
    if rep.cash_note:
        click.echo(f"  columns: {rep.cash_note}")
    times = "" if rep.min_ratio == (1, 1) else f"{api.ratio_text(rep.min_ratio)} × "
    if rep.revealed is None:
        click.echo(
            f"  totals stay hidden: per asset, only reserve ≥ {times}total liabilities is proven"
        )
    for j, c in enumerate(rep.columns):
        reserve = api.format_decimal(c.reserve, c.decimals)
        if rep.revealed is None:
            click.echo(f"  {c.symbol:>8}: {times}liabilities ≤ reserve {reserve}")
            continue
        owed = rep.revealed[j]
        ratio = f"{api.format_decimal(1000 * c.reserve // owed, 1)} %" if owed > 0 else "—"
        click.echo(
            f"  {c.symbol:>8}: liabilities {api.format_decimal(owed, c.decimals)} (revealed), "
            f"reserve {reserve}, ratio {ratio}"
            + (f" (≥ {api.ratio_text(rep.min_ratio)} proven)" if times else "")
        )
    if rep.assets is not None:
        _print_assets(rep.assets.addresses, rep.assets.heights, rep.assets.totals)
    for line in rep.unchecked:
        click.echo(f"  {line}")
    if report is not None:
        click.echo(f"report: {report}")
    if failed:
        click.echo("strict: some checks were not made (the lines above)")
        raise SystemExit(EXIT_FAILED)


@exchange.command("inclusion")
@click.option("--publication", required=True, type=click.Path(dir_okay=False))
@click.option("--secrets", required=True, type=click.Path(dir_okay=False))
@click.option("--account", default=None, help="The account id (one user's file).")
@click.option(
    "--out", type=click.Path(dir_okay=False), default=None, help="The user's file (owner-only)."
)
@click.option("--all", "every", is_flag=True, help="Every account's file, into --out-dir.")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="With --all: the folder (owner-only) of the files, one ACCOUNT.inclusion.json each.",
)
@_workers_option
def inclusion(
    publication: str,
    secrets: str,
    account: str | None,
    out: str | None,
    every: bool,
    out_dir: str | None,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Write one user's inclusion file (--account ID --out FILE), or every user's (--all
    --out-dir DIR, on the worker pool): their statement, openings and path to the root."""
    if every:
        if account is not None or out is not None or out_dir is None:
            raise api.FormatError("--all takes --out-dir, and neither --account nor --out")
        with phase_bars("inclusion") as progress:
            res = api.exchange_inclusion_all(
                publication=publication,
                secrets=secrets,
                out_dir=out_dir,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
            )
        click.echo(
            f"wrote {res.accounts} inclusion files into {res.out_dir} on {res.where} "
            "(private: give each account only its own file)"
        )
        return
    if account is None or out is None or out_dir is not None:
        raise api.FormatError("give --account and --out (one user), or --all and --out-dir")
    path = api.exchange_inclusion(
        publication=publication, secrets=secrets, account=account, out=out
    )
    click.echo(f"wrote {path} (private: give it to account {account!r} only)")


@exchange.command("reserves-message")
@click.option("--publication", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--heights",
    required=True,
    metavar="CHAIN=H,…",
    help="Each chain's snapshot height: bitcoin=840000,ethereum=19500000.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the message to this file, byte for byte (no final newline).",
)
def reserves_message(publication: str, heights: str, out: str | None) -> None:
    """Print the reserves message custodians sign (Bitcoin Core signmessage, a hardware wallet,
    personal_sign): it binds the venue, its key, the epoch, the root and the heights."""
    message = api.exchange_reserves_message(publication=publication, heights=heights)
    if out is None:
        click.echo(message)
    else:
        api.atomic_write_text(Path(out), message)
        click.echo(f"wrote the reserves message to {out}")


@exchange.command("prove-assets")
@click.option("--publication", required=True, type=click.Path(dir_okay=False))
@click.option("--wallets", required=True, type=click.Path(dir_okay=False), help="Wallets file.")
@click.option(
    "--signatures", required=True, type=click.Path(dir_okay=False), help="Signatures file."
)
@click.option("--heights", required=True, metavar="CHAIN=H,…", help="As for reserves-message.")
@_chain_data_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the publication with its proof of assets here [default: in place].",
)
def prove_assets(
    publication: str,
    wallets: str,
    signatures: str,
    heights: str,
    utxos: tuple[str, ...],
    eth_rpc: tuple[str, ...],
    evm_balances: tuple[str, ...],
    out: str | None,
) -> None:
    """Check every wallet's signatures over the reserves message and read its balance at the
    height (Bitcoin: a scantxoutset output; EVM: a node or a balance snapshot); add the proof of
    assets to the publication. Exit 1 when a check fails (the address named), 2 for bad input
    or chain data; nothing is written then."""
    try:
        res = api.exchange_prove_assets(
            publication=publication,
            wallets=wallets,
            signatures=signatures,
            heights=heights,
            utxos=utxos,
            eth_rpc=eth_rpc,
            evm_balances=evm_balances,
            out=out,
        )
    except api.AssetsInvalid as exc:
        click.echo(f"cannot prove assets: {exc}", err=True)
        raise SystemExit(EXIT_FAILED) from None
    click.echo(f"wrote {res.out}")
    _print_assets(res.addresses, res.heights, res.totals)


@exchange.command("evm-snapshot")
@click.option("--eth-rpc", "eth_rpc", required=True, metavar="URL", help="Your EVM node.")
@click.option(
    "--block", required=True, type=click.IntRange(0, (1 << 63) - 1), help="The snapshot block."
)
@click.option("--wallets", required=True, type=click.Path(dir_okay=False), help="Wallets file.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The snapshot file.")
def evm_snapshot(eth_rpc: str, block: int, wallets: str, out: str) -> None:
    """Read from your EVM node the balance at BLOCK of every wallet on its chain (native coin,
    or balanceOf and decimals of its token) and write an EVM balance snapshot, for prove-assets
    --evm-balances. Exit 2 when the node fails; nothing is written then."""
    snap = api.exchange_evm_snapshot(wallets=wallets, block=block, out=out, eth_rpc=eth_rpc)
    click.echo(
        f"wrote {out}: {len(snap.balances)} balances of chain id {snap.chain_id} at block "
        f"{snap.block} ({snap.block_hash})"
    )
