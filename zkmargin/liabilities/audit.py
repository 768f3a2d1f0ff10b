"""The full audit of a publication, which anyone can run: every stored value is checked.

1. The file: a zkmargin publication of a version this zkmargin reads, undamaged.
2. The header and the market snapshot: stored in canonical form, the snapshot's digest is the
   header's, the columns and decimals are the market's.
3. Every leaf (batch-verified, in parallel): its statement belongs to this venue, epoch and
   market; its proof verifies with every slot range-proven; its liabilities and hash are
   recomputed. No two leaves share an account tag. Exactly 2^h leaves, at positions 0 … 2^h − 1.
4. Every node (in parallel subtrees): recomputed from its children; exactly 2^h − 1 nodes.
5. The root: its fields are the header's, its totals and hash the top node's, and its signature
   verifies under the venue key (the one given, else the publication's own, which is said).
6. The reserves: the proof of R_c ≥ ρ·t_c (ρ = 1 unless the proof states a minimum ratio)
   verifies against the root's totals for every column.
7. The assets, when the publication holds a proof of assets (:mod:`.assets`): every address,
   signature and balance, with the auditor's own chain data when given; and every column's
   reserve in the reserves proof is at most what is proven on chain plus what is declared off
   chain (reported apart).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import group
from ..attest import bls
from ..errors import DecodeError
from ..formats.common import FormatError
from ..formats.jsonfile import parse_json
from ..formats.market import canonical_market, market_digest
from ..formats.statement import SignedRoot
from ..margin.market import compile_market, snapshot_from_json
from . import leaf as lf
from . import reserves as rsv
from .assets import AssetsInvalid, AssetsReport, ChainData, venue_key_fingerprint, verify_assets
from .parallel import Runner
from .root import root_message, signature_item
from .store import Publication
from .tree import Node, build_levels, subtree_height
from .work import check_leaves, subtree_nodes

Progress = Callable[[str, int, int], None]


@dataclass
class Check:
    """One check of the audit: its name, whether it held, what it found (or why it failed) and
    how long it took."""

    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class ColumnSummary:
    symbol: str
    decimals: int
    reserve: int


@dataclass
class AuditReport:
    """The audit's verdict: valid, or the first failure (``reason``, naming the leaf or node)."""

    path: str
    valid: bool = False
    reason: str = ""
    venue: str = ""
    venue_key: str = ""
    key_given: bool = False
    epoch: int = 0
    height: int = 0
    leaves: int = 0
    bad_leaves: int = 0
    columns: list[ColumnSummary] = field(default_factory=list)
    #: What could not be checked because an option was omitted, one line each.
    unchecked: list[str] = field(default_factory=list)
    min_ratio: tuple[int, int] = (1, 1)
    #: the auditor's own minimum (``--min-ratio``), which ``min_ratio`` must reach
    required_ratio: tuple[int, int] = (1, 1)
    #: where the cash shares an asset's column, the sentence that says so (else empty)
    cash_note: str = ""
    assets: AssetsReport | None = None
    #: The totals per column, when the exchange revealed them (checked against the root).
    revealed: list[int] | None = None
    root_hash: str = ""
    #: Every check made, in order, with its result and time.
    checks: list[Check] = field(default_factory=list)
    #: Every failure found (each bad leaf, a repeated account), when the audit fails.
    failures: list[str] = field(default_factory=list)
    #: (seconds, leaves verified) during the leaves' check.
    timeline: list[tuple[float, int]] = field(default_factory=list)
    #: (chain, asset, address, amount in the column's units) of every proven address.
    address_amounts: list[tuple[str, str, str, int]] = field(default_factory=list)

    @property
    def venue_key_fingerprint(self) -> str:
        """SHA-256 of the venue key, as the reserves message names it."""
        return venue_key_fingerprint(self.venue_key) if self.venue_key else ""


class _Invalid(Exception):
    pass


def audit(
    path: str | Path,
    *,
    venue_key: bytes | None,
    runner: Runner,
    progress: Progress | None = None,
    chain_data: ChainData | None = None,
    min_ratio: rsv.Ratio = rsv.ONE,
) -> AuditReport:
    """Run checks 1–7 (``chain_data``: the auditor's own UTXO snapshots and EVM nodes;
    ``min_ratio``: the auditor's own minimum reserve ratio ρ, which the reserves proof must
    show at least); unreadable input raises :class:`FormatError` (exit 2), the auditor's node
    failing a ChainError (exit 2), a failed check gives an invalid report naming it (exit 1)."""
    report = progress or (lambda *_: None)
    pub = Publication.open(path)
    rep = AuditReport(str(path))
    rep.required_ratio = rsv.check_ratio(min_ratio)
    try:
        _audit(pub, rep, venue_key, runner, report)
        _audit_revealed(pub, rep)
        _audit_assets(pub, rep, chain_data)
        rep.valid = True
    except _Invalid as exc:
        rep.reason = str(exc)
        if not rep.failures:
            rep.failures = [rep.reason]
    except sqlite3.DatabaseError as exc:
        raise FormatError(f"damaged publication (SQLite: {exc})", file=str(path)) from None
    finally:
        pub.close()
    return rep


@contextmanager
def _step(rep: AuditReport, name: str, detail: str = "") -> Iterator[list[str]]:
    """Record one check of the audit: its name, result, what it found and its time. The body
    may append to the yielded list to say what it found."""
    found: list[str] = [detail] if detail else []
    t0 = time.perf_counter()
    try:
        yield found
    except _Invalid as exc:
        rep.checks.append(Check(name, False, str(exc), time.perf_counter() - t0))
        raise
    rep.checks.append(Check(name, True, "; ".join(found), time.perf_counter() - t0))


def _audit(
    pub: Publication, rep: AuditReport, venue_key: bytes | None, runner: Runner, report: Progress
) -> None:
    file = str(pub.path)
    header = pub.header()
    rep.venue, rep.venue_key, rep.epoch, rep.height = (
        header.venue,
        header.venue_key,
        header.epoch,
        header.height,
    )
    rep.key_given = venue_key is not None
    if venue_key is None:
        rep.unchecked.append(
            "venue key not checked: the publication's own key (fingerprint "
            f"{venue_key_fingerprint(header.venue_key)[:16]}…) was used (--venue-key)"
        )
    with _step(rep, "venue key", "the one given" if venue_key else "the publication's own"):
        if venue_key is not None and bytes.fromhex(header.venue_key) != venue_key:
            raise _Invalid("the publication is signed by another venue key than the one given")
        if not bls.key_validate(bytes.fromhex(header.venue_key)):
            raise _Invalid("the publication's venue key is not a valid BLS public key")
    header_json = header.model_dump_json()
    with _step(rep, "header and market snapshot") as found:
        market_text = pub.market_text()
        snapshot = snapshot_from_json(
            parse_json(market_text, f"{file} (market)"), f"{file} (market)"
        )
        if canonical_market(snapshot) != market_text:
            raise _Invalid("the stored market snapshot is not in canonical form")
        if market_digest(snapshot).hex() != header.market_digest:
            raise _Invalid("the stored market snapshot is not the one the header names")
        market = compile_market(snapshot, f"{file} (market)")
        try:
            columns = lf.liability_columns(market)
        except FormatError as exc:
            raise _Invalid(f"its market has no liabilities columns: {exc}") from None
        if list(columns.symbols) != header.columns or list(columns.decimals) != header.decimals:
            raise _Invalid("the header's columns are not the market's")
        rep.cash_note = lf.cash_note(columns, market)
        size = 1 << header.height
        count, first, last = pub.conn.execute(
            "SELECT count(*), min(position), max(position) FROM leaves"
        ).fetchone()
        # positions are unique integers: their count, min and max fix them as 0 … 2^h − 1
        if (count, first, last) != (size, 0, size - 1):
            raise _Invalid(f"holds {count} leaves; a tree of height {header.height} has {size}")
        found.append(f"market of epoch {snapshot.epoch}, {len(columns)} columns, {size} leaves")
    rep.leaves = size
    backend = group.backend().name

    # 3. Leaves.
    with _step(rep, "leaves", f"{size} leaf proofs batch-verified, liabilities recomputed"):
        per = max(1, min(64, math.ceil(size / (4 * runner.workers))))
        tasks = [
            (backend, market_text, header_json, pub.leaves(lo, lo + per))
            for lo in range(0, size, per)
        ]
        bad: list[tuple[int, str]] = []
        tags: dict[bytes, int] = {}
        dup: list[tuple[int, str]] = []
        done = 0
        t0 = time.perf_counter()
        rep.timeline.append((0.0, 0))
        report("leaves", 0, size)
        for verdict in runner.run(check_leaves, tasks):
            bad += verdict.bad
            for position, tag in verdict.tags:
                if tag in tags:
                    first, second = sorted((tags[tag], position))
                    dup.append((second, f"leaf {second} repeats the account of leaf {first}"))
                else:
                    tags[tag] = position
            done += len(verdict.tags) + len(verdict.bad)
            rep.timeline.append((time.perf_counter() - t0, done))
            report("leaves", done, size)
        if bad:
            rep.bad_leaves = len(bad)
            rep.failures = [f"leaf {p}: {why}" for p, why in sorted(bad)]
            position, why = min(bad)
            more = f" ({len(bad) - 1} more bad leaves)" if len(bad) > 1 else ""
            raise _Invalid(f"leaf {position}: {why}{more}")
    with _step(rep, "one leaf per account", f"{len(tags)} distinct account tags"):
        if dup:
            rep.failures = [why for _, why in sorted(dup)]
            raise _Invalid(min(dup)[1])

    # 4. Nodes.
    with _step(rep, "nodes", f"{size - 1} nodes recomputed from their children"):
        if pub.node_count() != size - 1:
            raise _Invalid(
                f"holds {pub.node_count()} nodes; a tree of {size} leaves has {size - 1}"
            )
        k = subtree_height(header.height, runner.workers)
        split = header.height - k
        ncol = len(columns)
        node_tasks = [
            (backend, ncol, j << k, pub.leaf_sums(j << k, (j + 1) << k), k)
            for j in range(1 << split)
        ]
        report("nodes", 0, 1 << split)
        for done, rows in enumerate(runner.run(subtree_nodes, node_tasks), start=1):
            for level, idx, sums, hash_ in rows:
                _same_node(pub, level, idx, sums, hash_)
            report("nodes", done, 1 << split)
        try:
            tops = [Node.decode(r[2], r[3], ncol) for r in pub.nodes(k)]
        except DecodeError as exc:
            raise _Invalid(f"a node of level {k}: {exc}") from None
        top = tops[0]
        for level, layer in enumerate(build_levels(tops, split), start=k + 1):
            for idx, n in enumerate(layer):
                _same_node(pub, level, idx, n.sums_bytes(), n.hash)
            top = layer[0]

    # 5. Root.
    with _step(rep, "root", "its totals and hash are the top of the tree"):
        root = pub.root()
        if not root.same_tree(header):
            raise _Invalid("the root's fields are not the header's")
        if root.root_hash != top.hash.hex() or root.totals != [
            t.hex() for t in _split(top.sums_bytes(), ncol)
        ]:
            raise _Invalid("the root is not the top of the tree")
        rep.root_hash = root.root_hash
    with _step(rep, "root signature", "BLS, under the venue key"):
        try:
            signed = bls.verify(*signature_item(root))
        except DecodeError:
            signed = False
        if not signed:
            raise _Invalid("the root's signature does not verify")

    # 6. Reserves.
    with _step(rep, "reserves") as found:
        proof = pub.reserves()
        if not rsv.verify_reserves(proof, list(top.sums), header.height, root_message(root)):
            raise _Invalid("the reserves proof does not verify: reserves may not cover the totals")
        rep.min_ratio = rsv.proof_ratio(proof)
        num, den = rep.min_ratio
        times = "" if (num, den) == (1, 1) else f"{rsv.ratio_text(rep.min_ratio)} × "
        found.append(f"reserve ≥ {times}total liabilities, for every column")
        want_num, want_den = rep.required_ratio
        if num * want_den < want_num * den:
            raise _Invalid(
                f"the reserves proof shows reserve ≥ {rsv.ratio_text(rep.min_ratio)} × total "
                f"liabilities, below the {rsv.ratio_text(rep.required_ratio)} you require "
                "(--min-ratio)"
            )
        if rep.required_ratio != rsv.ONE:
            found.append(f"at least the {rsv.ratio_text(rep.required_ratio)} you require")
        rep.columns = [
            ColumnSummary(sym, dec, int(r))
            for sym, dec, r in zip(columns.symbols, columns.decimals, proof.reserves, strict=True)
        ]
        for table, doc in (("header", header_json), ("root", root.model_dump_json())):
            _canonical(pub, table, doc)
        _canonical(pub, "reserves", proof.model_dump_json())


def _audit_revealed(pub: Publication, rep: AuditReport) -> None:
    """6b. Totals the exchange revealed (``--reveal-totals``) open the root's commitments."""
    root, proof = pub.root(), pub.reserves()
    if getattr(proof, "totals", None) is None:
        return
    with _step(rep, "revealed totals", "each opens the root's total commitment"):
        _check_revealed(rep, root, proof)


def _check_revealed(rep: AuditReport, root: SignedRoot, proof: rsv.AnyReserveProof) -> None:
    try:
        totals = lf.decode_sums(b"".join(bytes.fromhex(t) for t in root.totals), len(root.totals))
    except DecodeError as exc:
        raise _Invalid(f"the root's totals: {exc}") from None
    why = rsv.check_revealed(proof, root.columns, totals)
    if why:
        raise _Invalid(why)
    opened = getattr(proof, "totals", None)
    if opened is not None:
        rep.revealed = [int(o.value) for o in opened]


def _audit_assets(pub: Publication, rep: AuditReport, chain_data: ChainData | None) -> None:
    """7. The proof of assets, if any, and the reserves it must cover."""
    if not pub.has_assets():
        rep.unchecked.append(
            "assets not proven: the publication holds no proof of assets, so its reserves are "
            "amounts the exchange states (exchange prove-assets)"
        )
        return
    with _step(rep, "proof of assets", "every address, signature and balance") as found:
        _check_assets(pub, rep, chain_data, found)


def _check_assets(
    pub: Publication, rep: AuditReport, chain_data: ChainData | None, found_lines: list[str]
) -> None:
    header, root, proof, doc = pub.header(), pub.root(), pub.reserves(), pub.assets()
    data = chain_data or ChainData()
    chains = sorted({a.chain for a in doc.addresses})
    for chain in data.utxos:
        if chain not in chains:
            raise FormatError(
                f"a UTXO snapshot of {chain} was given (--utxos), but no proven address is on "
                f"{chain} (the proof's chains: {', '.join(chains)}): name the chain, "
                "--utxos CHAIN=FILE"
            )
    columns = list(zip(header.columns, header.decimals, strict=True))
    try:
        found = verify_assets(
            doc,
            root,
            columns,
            utxo_snapshot=data.utxos,
            eth_rpc=list(data.evm_nodes),
            evm_snapshots=data.evm_snapshots,
        )
    except AssetsInvalid as exc:
        raise _Invalid(f"proof of assets: {exc}") from None
    for (symbol, _), reserve in zip(columns, proof.reserves, strict=True):
        proven, stated = found.proven(symbol), found.off_chain(symbol)
        if int(reserve) > proven + stated:
            raise _Invalid(
                f"{symbol}: the reserves proof counts {reserve} units, but the proof of assets "
                f"shows {proven} proven on chain and {stated} declared off chain"
            )
    _canonical(pub, "assets", doc.model_dump_json())
    rep.assets = found
    rep.address_amounts = [(a.chain, a.asset, a.address, int(a.amount)) for a in doc.addresses]
    found_lines.append(f"{found.addresses} addresses")
    for note in found.notes:
        rep.unchecked.append(note)


def _split(data: bytes, n: int) -> list[bytes]:
    return [data[i * 48 : (i + 1) * 48] for i in range(n)]


def _same_node(pub: Publication, level: int, idx: int, sums: bytes, hash_: bytes) -> None:
    rows = pub.nodes(level, idx, idx + 1)
    if not rows:
        raise _Invalid(f"node {level}/{idx} is missing")
    _, _, s, h = rows[0]
    if s != sums:
        raise _Invalid(f"node {level}/{idx}: its sums are not its children's sums")
    if h != hash_:
        raise _Invalid(f"node {level}/{idx}: its hash is not the hash of its children")


def _canonical(pub: Publication, table: str, doc: str) -> None:
    row = pub.conn.execute(f"SELECT doc FROM {table}").fetchone()
    stored = row[0].encode() if isinstance(row[0], str) else bytes(row[0])
    if stored != doc.encode():
        raise _Invalid(f"the stored {table} is not in canonical form")


__all__ = ["AuditReport", "Check", "ColumnSummary", "FormatError", "audit"]
