"""The exchange's (venue's) story: keep a key, attest each account's statement every epoch,
publish its liabilities and reserves.

``venue_keygen`` writes the secret key file (owner-only) and the public key verifiers trust;
``venue_attest`` commits every balance and position of every account with blindings from the
KDF, signs each statement and writes it beside its openings (owner-only), for any number of
accounts. ``exchange_publish`` builds the epoch's publication (:mod:`zkmargin.liabilities`):
every account a leaf whose debts are proven covered, the Merkle sum tree, the signed root and the
reserves proof; ``exchange_inclusion`` gives one user their file.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import group
from .attest import statement as stm
from .attest.keys import VenueKey, generate
from .chain.bitcoin import NETWORKS as BITCOIN_CHAINS
from .chain.evm import EvmNode, EvmSnapshot, snapshot_balances
from .chain.evm import chain_id as evm_chain_id
from .chain.utxo import parse_snapshot
from .circuit.slots import account_slots
from .fileio import OutputError, safe_stem
from .formats.assets import EvmBalancesFile, SignaturesFile, WalletsFile
from .formats.common import FormatError, format_decimal, to_units
from .formats.jsonfile import read_model, write_model
from .formats.market import MarketSnapshot, canonical_market, market_digest
from .formats.publication import ReservesFile
from .formats.statement import AccountStatement, VenueKeyFile, VenuePublicKey
from .liabilities import vault
from .liabilities.assets import (
    AssetLine,
    AssetsInvalid,
    ChainData,
    parse_heights,
    prove_assets,
    reserves_message,
    verify_assets,
)
from .liabilities.inclusion import inclusion_file_of, write_inclusion_files
from .liabilities.layouts import MIN_SHARE, shared_layouts
from .liabilities.leaf import Columns, cash_note, liability_columns
from .liabilities.parallel import make_runner
from .liabilities.plan import make_plan
from .liabilities.publish import Progress, PublishResult, publish
from .liabilities.reserves import parse_ratio
from .liabilities.store import Publication, add_assets
from .margin.market import Market, compile_market, load_snapshot
from .margin.table_io import load_table


def venue_keygen(out: str | Path, venue: str, *, force: bool = False) -> tuple[Path, Path]:
    """Write a fresh venue key to ``out`` (owner-only) and its public key to ``out`` with the
    suffix ``.pub``; return both paths. An existing key file is never replaced unless
    ``force``: its master secret is behind every statement, publication and secrets file."""
    out = Path(out)
    pub = out.with_suffix(".pub")
    if pub == out:
        raise ValueError(f"{out}: the secret key file must not end in .pub")
    if not venue or len(venue) > 128 or not venue.isprintable():
        raise ValueError("the venue's name must be 1 to 128 printable characters")
    for path in (out, pub):
        if path.exists() and not force:
            raise OutputError(
                f"{path}: exists; refusing to replace a venue key (its master secret derives "
                "every statement and publication made with it): choose another --out, or pass "
                "--force"
            )
    key = generate(venue)
    write_model(out, key.to_file(), secret=True)
    write_model(pub, key.public_file())
    return out, pub


def load_venue_key(path: str | Path) -> VenueKey:
    """The venue's secret key file."""
    try:
        return VenueKey.from_file(read_model(path, VenueKeyFile))
    except ValueError as exc:
        raise FormatError(str(exc), file=str(path)) from None


def load_venue_public_key(path: str | Path) -> bytes:
    """A venue public key file (``zkmargin/venue-public-key/1``), checked to be a valid key."""
    from .attest import bls

    doc = read_model(path, VenuePublicKey)
    pk = bytes.fromhex(doc.public_key)
    if not bls.key_validate(pk):
        raise FormatError("not a valid BLS public key", file=str(path), field="public_key")
    return pk


def statement_files(out_dir: Path, account_id: str) -> tuple[Path, Path]:
    """Where an account's statement and openings go in an attest output directory."""
    stem = safe_stem(account_id)
    return out_dir / f"{stem}.statement.json", out_dir / f"{stem}.openings.json"


def _key_and_market(
    key: str | Path, market: str | Path, epoch: int | None
) -> tuple[VenueKey, MarketSnapshot, Market]:
    """The venue key, the market snapshot and its compiled form; ``epoch``, when given, must be
    the snapshot's."""
    vk = load_venue_key(key)
    snap = load_snapshot(market)
    mk = compile_market(snap, str(market))
    if epoch is not None and epoch != snap.epoch:
        raise FormatError(
            f"the market snapshot is for epoch {snap.epoch}, not {epoch}", file=str(market)
        )
    return vk, snap, mk


@dataclass(frozen=True)
class AttestResult:
    accounts: int
    out_dir: Path


def venue_attest(
    *,
    key: str | Path,
    market: str | Path,
    accounts: str | Path,
    out_dir: str | Path,
    epoch: int | None = None,
    decoys: int = 0,
    layout: str = "shared",
    min_share: int = MIN_SHARE,
    progress: Callable[[int, int], None] | None = None,
) -> AttestResult:
    """Issue and sign every account's statement; write statements and openings to ``out_dir``.
    Slot layouts as ``exchange publish`` takes them (``shared`` among at least ``min_share``
    accounts, or each account's ``own`` with ``decoys``), so the same book gives the same
    statements. ``progress(done, total)`` is called once before the first account (0) and
    after each."""
    vk, snap, mk = _key_and_market(key, market, epoch)
    digest = market_digest(snap)
    table = load_table(accounts, mk)
    out = Path(out_dir)
    seen: set[Path] = set()
    count = 0
    if decoys and layout != "own":
        raise FormatError(
            "--decoys applies to --layout own; shared layouts already hide what each account "
            "holds among at least --min-share accounts"
        )
    book = list(table.accounts())
    layouts = shared_layouts(book, mk, min_share) if layout == "shared" else {}
    # Every account's slots and file names first (no cryptography): an account that cannot be
    # attested stops the run before any statement is written.
    plans = []
    for acc in book:
        if acc.id in layouts:
            lay = layouts[acc.id]
            slots = account_slots(acc, mk, layout=(lay.assets, lay.instruments), file=str(accounts))
        else:
            seed = stm.derive_decoy_seed(vk.master_secret, snap.epoch, acc.id)
            slots = account_slots(acc, mk, decoys=decoys, decoy_seed=seed, file=str(accounts))
        st_path, op_path = statement_files(out, acc.id)
        if st_path in seen:
            raise FormatError(f"two accounts map to the file {st_path.name}", file=str(accounts))
        seen.add(st_path)
        plans.append((acc, slots, st_path, op_path))
    if progress is not None:
        progress(0, len(table))  # the phase starts: its first log line counts 0
    for acc, slots, st_path, op_path in plans:
        st, op = stm.issue_statement(
            venue=vk.venue,
            epoch=snap.epoch,
            market_digest=digest,
            account_id=acc.id,
            mode=acc.mode,
            slots=slots,
            master=vk.master_secret,
            secret_key=vk.secret_key,
        )
        write_model(op_path, op, secret=True)
        write_model(st_path, st)
        count += 1
        if progress is not None:
            progress(count, len(table))
    return AttestResult(count, out)


def load_statement(path: str | Path) -> AccountStatement:
    """An account statement file."""
    return read_model(path, AccountStatement)


# ----- the exchange's publication of liabilities and reserves ----------------------------------


def load_reserves(path: str | Path, columns: Columns, *, venue: str, epoch: int) -> list[int]:
    """The reserves file's amount for every column, in the column's units; refuse a file that
    misses a column, names an unknown one, or states another venue or epoch."""
    doc = read_model(path, ReservesFile)
    file = str(path)
    if doc.venue is not None and doc.venue != venue:
        raise FormatError(
            f"states venue {json.dumps(doc.venue)}, but the key is venue {json.dumps(venue)}'s",
            file=file,
        )
    if doc.epoch is not None and doc.epoch != epoch:
        raise FormatError(f"states epoch {doc.epoch}, the publication is epoch {epoch}", file=file)
    unknown = sorted(set(doc.reserves) - set(columns.symbols))
    if unknown:
        raise FormatError(f"names {', '.join(unknown)}, which the market does not list", file=file)
    out = []
    for c, (symbol, decimals) in enumerate(zip(columns.symbols, columns.decimals, strict=True)):
        if symbol not in doc.reserves:
            what = ""
            if c == columns.cash:
                what = (
                    " (the accounts' cash, in valuation units)"
                    if columns.cash_column
                    else " (its balances and the accounts' cash)"
                )
            raise FormatError(f"has no amount for {symbol}{what}", file=file)
        try:
            out.append(to_units(doc.reserves[symbol], decimals, allow_negative=False))
        except ValueError as exc:
            raise FormatError(str(exc), file=file, field=f"reserves.{symbol}") from None
    return out


def exchange_publish(
    *,
    key: str | Path,
    market: str | Path,
    accounts: str | Path,
    reserves: str | Path,
    out: str | Path,
    epoch: int | None = None,
    secrets_out: str | Path | None = None,
    pad_to: int | None = None,
    decoys: int = 0,
    layout: str = "shared",
    min_share: int = MIN_SHARE,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    min_ratio: str = "1",
    reveal_totals: bool = False,
) -> PublishResult:
    """Publish the epoch's liabilities tree, signed root and reserves proof to ``out`` (SQLite);
    the secrets go to ``secrets_out`` (default ``OUT.secrets``), owner-only, first. Raises
    :class:`zkmargin.liabilities.plan.CannotPublish` when the books do not support it (nothing
    is written)."""
    vk, snap, mk = _key_and_market(key, market, epoch)
    columns = liability_columns(mk)
    amounts = load_reserves(reserves, columns, venue=vk.venue, epoch=snap.epoch)
    table = load_table(accounts, mk)
    try:
        ratio = parse_ratio(min_ratio)
    except ValueError as exc:
        raise FormatError(f"--min-ratio: {exc}") from None
    plan = make_plan(
        key=vk,
        market=mk,
        market_text=canonical_market(snap),
        market_digest=market_digest(snap),
        epoch=snap.epoch,
        accounts=list(table.accounts()),
        reserves=amounts,
        pad_to=pad_to,
        decoys=decoys,
        file=str(accounts),
        layout=layout,
        min_share=min_share,
        min_ratio=ratio,
    )
    out = Path(out)
    secrets_path = (
        Path(secrets_out) if secrets_out is not None else out.with_name(out.name + ".secrets")
    )
    runner = make_runner(workers, scheduler)
    try:
        res = publish(
            plan,
            vk,
            out=out,
            secrets_out=secrets_path,
            runner=runner,
            progress=progress,
            reveal_totals=reveal_totals,
        )
    finally:
        runner.close()
    return dataclasses.replace(res, min_ratio=ratio, cash_note=cash_note(columns, mk))


def exchange_inclusion(
    *, publication: str | Path, secrets: str | Path, account: str, out: str | Path
) -> Path:
    """Write ``account``'s inclusion file (owner-only): the market, their statement and
    openings, their liabilities' openings and their path to the signed root."""
    with Publication.open(publication) as pub:
        doc = inclusion_file_of(pub, Path(secrets), account)
    write_model(out, doc, secret=True)
    return Path(out)


@dataclass(frozen=True)
class InclusionAllResult:
    accounts: int
    out_dir: Path
    where: str


def exchange_inclusion_all(
    *,
    publication: str | Path,
    secrets: str | Path,
    out_dir: str | Path,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> InclusionAllResult:
    """Write every account's inclusion file into ``out_dir`` (owner-only, named by account:
    ``ID.inclusion.json``), in batches on the worker pool. The folder is created owner-only."""
    report = progress or (lambda *_: None)
    accounts = vault.accounts(Path(secrets))
    with Publication.open(publication) as pub:  # one check up front: the secrets are this one's
        if accounts:
            inclusion_file_of(pub, Path(secrets), accounts[0])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    runner = make_runner(workers, scheduler)
    try:
        per = max(1, min(64, -(-len(accounts) // (4 * runner.workers))))
        tasks = [
            (group.backend().name, str(publication), str(secrets), accounts[i : i + per], str(out))
            for i in range(0, len(accounts), per)
        ]
        done = 0
        report("files", 0, len(accounts))
        for batch in runner.run(write_inclusion_files, tasks):
            done += len(batch)
            report("files", done, len(accounts))
        return InclusionAllResult(len(accounts), out, runner.where)
    finally:
        runner.close()


# ----- the proof of assets (reserves proven, not stated) ---------------------------------------


def load_evm_balances(path: str | Path) -> EvmSnapshot:
    """An EVM balance snapshot file (``zkmargin/evm-balances/1``), its entries checked."""
    return EvmSnapshot(read_model(path, EvmBalancesFile), str(path))


def load_chain_data(
    *,
    utxos: Sequence[str | Path] = (),
    eth_rpc: Sequence[str] = (),
    evm_nodes: Sequence[EvmNode] = (),
    evm_balances: Sequence[str | Path] = (),
) -> ChainData:
    """Chain data: ``scantxoutset`` snapshots (``PATH`` for bitcoin, or ``CHAIN=PATH``), EVM
    nodes by URL, EVM nodes already connected (any web3 provider), and EVM balance snapshot
    files (``zkmargin/evm-balances/1``)."""
    data = ChainData(evm_nodes=list(evm_nodes))
    data.evm_snapshots = [load_evm_balances(path) for path in evm_balances]
    for spec in utxos:
        text = str(spec)
        chain, sep, path = text.partition("=")
        if not sep or chain not in BITCOIN_CHAINS:
            chain, path = "bitcoin", text
        if chain in data.utxos:
            raise FormatError(f"two UTXO snapshots of {chain} are given")
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
        data.utxos[chain] = parse_snapshot(raw, path)
    data.evm_nodes += [EvmNode.connect(url) for url in eth_rpc]
    return data


def exchange_reserves_message(*, publication: str | Path, heights: str | Mapping[str, int]) -> str:
    """The reserves message of a publication at the given snapshot heights (``bitcoin=840000,
    ethereum=19500000``): the exact text every custodian signs."""
    with Publication.open(publication) as pub:
        root = pub.root()
    parsed = parse_heights(heights) if isinstance(heights, str) else dict(heights)
    return reserves_message(root, parsed)


@dataclass(frozen=True)
class AssetsResult:
    out: Path
    addresses: int
    heights: dict[str, int]
    totals: list[AssetLine]


def exchange_prove_assets(
    *,
    publication: str | Path,
    wallets: str | Path,
    signatures: str | Path,
    heights: str | Mapping[str, int],
    utxos: Sequence[str | Path] = (),
    eth_rpc: Sequence[str] = (),
    evm_nodes: Sequence[EvmNode] = (),
    evm_balances: Sequence[str | Path] = (),
    out: str | Path | None = None,
) -> AssetsResult:
    """Check every wallet's signatures and read its balance at its chain's height, then write
    the publication with its proof of assets to ``out`` (default: the publication itself).
    Raises AssetsInvalid (exit 1: a signature, address or balance fails, or a column's reserve
    in the reserves proof exceeds what is proven plus declared) and ChainError or FormatError
    (exit 2); nothing is written then."""
    with Publication.open(publication) as pub:
        header, root, proof = pub.header(), pub.root(), pub.reserves()
    columns = list(zip(header.columns, header.decimals, strict=True))
    wallet_doc = read_model(wallets, WalletsFile)
    if wallet_doc.venue is not None and wallet_doc.venue != root.venue:
        raise FormatError(
            f"states venue {wallet_doc.venue!r}, not {root.venue!r}", file=str(wallets)
        )
    sig_doc = read_model(signatures, SignaturesFile)
    parsed = parse_heights(heights) if isinstance(heights, str) else dict(heights)
    data = load_chain_data(
        utxos=utxos, eth_rpc=eth_rpc, evm_nodes=evm_nodes, evm_balances=evm_balances
    )
    doc = prove_assets(
        root,
        columns,
        wallet_doc,
        sig_doc,
        parsed,
        utxos=data.utxos,
        evm_nodes=data.evm_nodes,
        evm_snapshots=data.evm_snapshots,
    )
    found = verify_assets(doc, root, columns)
    for (symbol, decimals), reserve in zip(columns, proof.reserves, strict=True):
        covered = found.proven(symbol) + found.off_chain(symbol)
        if int(reserve) > covered:
            raise AssetsInvalid(
                f"{symbol}: the publication's reserve {format_decimal(int(reserve), decimals)} "
                f"exceeds the proven {format_decimal(found.proven(symbol), decimals)} plus the "
                f"declared off-chain {format_decimal(found.off_chain(symbol), decimals)}"
            )
    target = Path(out) if out is not None else Path(publication)
    add_assets(Path(publication), doc, target)
    return AssetsResult(target, found.addresses, found.heights, found.totals)


def exchange_evm_snapshot(
    *,
    wallets: str | Path,
    block: int,
    out: str | Path,
    eth_rpc: str | None = None,
    evm_node: EvmNode | None = None,
) -> EvmBalancesFile:
    """Read, from the exchange's own EVM node (``eth_rpc`` URL, or ``evm_node`` already
    connected), the balance at ``block`` of every wallet of ``wallets`` on that node's chain,
    and write them as an EVM balance snapshot (``zkmargin/evm-balances/1``) to ``out``.
    Raises ChainError (the node fails or answers garbage) or FormatError (no wallet is on the
    node's chain); nothing is written then."""
    if (eth_rpc is None) == (evm_node is None):
        raise FormatError("give one EVM node: an RPC URL or a connected node")
    node = evm_node if evm_node is not None else EvmNode.connect(str(eth_rpc))
    doc = read_model(wallets, WalletsFile)
    chain_id = node.chain_id()
    holdings = list(
        dict.fromkeys(
            (w.address, w.contract) for w in doc.wallets if evm_chain_id(w.chain) == chain_id
        )
    )
    if not holdings:
        raise FormatError(
            f"no wallet is on the node's chain (chain id {chain_id})", file=str(wallets)
        )
    snap = snapshot_balances(node, holdings, block)
    write_model(Path(out), snap)
    return snap
