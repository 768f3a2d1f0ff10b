"""The proof of assets: reserve addresses, signatures by their keys over the publication's
reserves message, and their balances at each chain's snapshot height.

The *reserves message* (:func:`reserves_message`) names the venue, the SHA-256 fingerprint of
the venue key, the epoch, the liabilities root hash and every chain's snapshot height, one per
line; custodians sign exactly that text. A signature over it proves control of an address for
this publication only: it cannot be replayed from another epoch, venue or root.

:func:`prove_assets` reads every balance from the chain data (a ``scantxoutset`` snapshot per
Bitcoin chain, an EVM node or an EVM balance snapshot per EVM chain) and checks everything
:func:`verify_assets` checks.
:func:`verify_assets` checks, offline:

1. the proof is for this signed root (venue, venue key, epoch, root hash) and its message is
   the reserves message of the root and the stated heights;
2. every address: its chain has a stated height and the balance is at that height; its asset
   is a column; it decodes on its chain (checksum, network); its key or m distinct keys of its
   witness script signed the message; no address (with its token contract) is listed twice, no
   address under two assets, no token contract under two assets; no Bitcoin output is counted
   twice and a balance is the sum of its outputs; the amount is the balance in column units;
3. every total: the sum of its addresses' amounts; off-chain amounts are reported apart.

Given the auditor's own chain data (a UTXO snapshot at the same height, an EVM node, an EVM
balance snapshot the auditor exported from their own node), every balance is read again and a
difference is refused; without it the report says, per chain, that the balances were taken
from the publication. Every failure names the address.

Amounts convert to a column's units exactly, or rounded *down* when the column has fewer
decimals than the chain (a reserve is never overstated).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..chain import ChainError, evm
from ..chain import bitcoin as btc
from ..chain.utxo import UtxoSnapshot
from ..errors import ZkMarginError
from ..formats.assets import (
    AddressSignatures,
    AssetTotal,
    ChainSnapshot,
    OffChainAmount,
    Output,
    ProofOfAssets,
    ProvenAddress,
    SignaturesFile,
    WalletsFile,
)
from ..formats.common import FormatError, to_units
from ..formats.statement import SignedRoot

MESSAGE_TITLE = "zkmargin proof of reserves"
MESSAGE_CLAIM = "I control this address; this signature is for this publication only."
BTC_DECIMALS = 8
ETH_DECIMALS = 18


class AssetsInvalid(ZkMarginError):
    """A check of the proof of assets failed; the message names the address."""


@dataclass(frozen=True)
class AssetLine:
    asset: str
    decimals: int
    proven: int
    off_chain: int


@dataclass
class AssetsReport:
    """What :func:`verify_assets` established."""

    addresses: int = 0
    heights: dict[str, int] = field(default_factory=dict)
    totals: list[AssetLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def proven(self, asset: str) -> int:
        return sum(t.proven for t in self.totals if t.asset == asset)

    def off_chain(self, asset: str) -> int:
        return sum(t.off_chain for t in self.totals if t.asset == asset)


# ----- the message --------------------------------------------------------------------------------


def venue_key_fingerprint(venue_key: str) -> str:
    """SHA-256 of the venue's public key bytes, in hex."""
    return hashlib.sha256(bytes.fromhex(venue_key)).hexdigest()


def is_bitcoin(chain: str) -> bool:
    return chain in btc.NETWORKS


def reserves_message(root: SignedRoot, heights: Mapping[str, int]) -> str:
    """The exact text custodians sign: title, venue, venue key fingerprint, epoch, root hash,
    one ``height <chain>: <n>`` line per chain in name order, the claim. Lines end in LF, the
    last has no newline."""
    if not root.venue.isprintable():
        raise FormatError("the venue name holds control characters; it cannot be signed")
    if not heights:
        raise FormatError("no chain heights: give one per chain of the wallets")
    lines = [
        MESSAGE_TITLE,
        f"venue: {root.venue}",
        f"venue key: {venue_key_fingerprint(root.venue_key)}",
        f"epoch: {root.epoch}",
        f"liabilities root: {root.root_hash}",
    ]
    for chain in sorted(heights):
        if not is_bitcoin(chain) and evm.chain_id(chain) is None:
            raise FormatError(f"unknown chain {chain!r} (bitcoin…, ethereum, evm-<chain id>)")
        height = heights[chain]
        if isinstance(height, bool) or not isinstance(height, int) or not 0 <= height < 1 << 63:
            raise FormatError(f"{chain}: the height must be a non-negative integer")
        lines.append(f"height {chain}: {height}")
    lines.append(MESSAGE_CLAIM)
    return "\n".join(lines)


def parse_heights(text: str) -> dict[str, int]:
    """``bitcoin=840000,ethereum=19500000`` as a mapping; FormatError for anything else."""
    out: dict[str, int] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not value.strip().isdigit():
            raise FormatError(f"heights: {part.strip()!r} is not CHAIN=HEIGHT")
        if name.strip() in out:
            raise FormatError(f"heights: {name.strip()} is given twice")
        out[name.strip()] = int(value.strip())
    return out


# ----- checks shared by the prover and the verifier ----------------------------------------------


def to_column(value: int, decimals: int, column_decimals: int) -> int:
    """``value`` units of 10^−decimals in units of 10^−column_decimals, rounded down."""
    if column_decimals >= decimals:
        return value * int(10 ** (column_decimals - decimals))
    return value // int(10 ** (decimals - column_decimals))


def control_failure(a: ProvenAddress, message: str) -> str:
    """The empty string if the signatures of ``a`` prove control of its address over
    ``message``; else why not. ChainError for an address or signature that does not decode."""
    sigs = a.signatures
    if is_bitcoin(a.chain):
        addr = btc.decode_address(a.address, a.chain)
        if a.contract is not None:
            return "a Bitcoin address has no token contract"
        if addr.kind == "p2wsh":
            if a.witness_script is None:
                return "a P2WSH address needs its witness script"
            if a.scheme != "bip137":
                return "a multisig is signed with BIP-137 signatures by its keys"
            return btc.verify_multisig(addr, bytes.fromhex(a.witness_script), message, sigs)
        if a.witness_script is not None:
            return f"a {addr.kind} address has no witness script"
        if len(sigs) != 1:
            return f"a single-key address has one signature, not {len(sigs)}"
        if a.scheme == "bip137":
            ok = btc.verify_bip137(addr, message, sigs[0])
        elif a.scheme == "bip322-simple":
            ok = btc.verify_bip322_simple(addr, message, sigs[0])
        else:
            return "EIP-191 signs EVM addresses, not Bitcoin addresses"
    else:
        evm.checksum_address(a.address)
        if a.witness_script is not None:
            return "an EVM address has no witness script"
        if a.scheme != "eip191" or len(sigs) != 1:
            return "an EVM address is proven by one EIP-191 signature"
        ok = evm.verify_personal_sign(a.address, message, sigs[0])
    if not ok:
        return "the signature is not by the address's key over this publication's message"
    return ""


def _named(address: str, exc: Exception) -> str:
    text = str(exc)
    return text if text.startswith(address) else f"{address}: {text}"


@dataclass
class _Seen:
    """The uniqueness rules across a proof's addresses."""

    addresses: dict[tuple[str, str, str], str] = field(default_factory=dict)
    assets: dict[tuple[str, str], str] = field(default_factory=dict)
    holdings: dict[tuple[str, str], str] = field(default_factory=dict)
    sources: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def add(self, a: ProvenAddress) -> str:
        """Why ``a`` may not be added beside the addresses seen, or the empty string."""
        norm = a.address.lower() if not is_bitcoin(a.chain) else a.address
        holding = a.contract.lower() if a.contract else "native"
        key = (a.chain, norm, holding)
        if key in self.addresses:
            return f"listed twice (under {self.addresses[key]} and {a.asset})"
        if is_bitcoin(a.chain) and (a.chain, norm) in self.holdings:
            return f"listed twice (under {self.holdings[(a.chain, norm)]} and {a.asset})"
        source = (a.chain, holding)
        if self.assets.get(source, a.asset) != a.asset:
            what = f"token contract {a.contract}" if a.contract else f"native coin of {a.chain}"
            return f"holds the {what}, counted as {self.assets[source]} elsewhere, not {a.asset}"
        held = (holding, a.contract or "the native coin")
        first_holding, first_address = self.sources.get((a.chain, a.asset), (holding, ""))
        if first_holding != holding:
            return (
                f"holds {held[1]} as {a.asset}, but {first_address} holds {a.asset} of "
                f"{first_holding} on {a.chain}: one asset, one contract"
            )
        for o in a.outputs:
            point = f"{o.txid}:{o.vout}"
            if point in self.outputs:
                return f"output {point} is counted twice (also under {self.outputs[point]})"
        self.addresses[key] = a.asset
        self.holdings[(a.chain, norm)] = a.asset
        self.assets[source] = a.asset
        self.sources.setdefault((a.chain, a.asset), (holding, a.address))
        for o in a.outputs:
            self.outputs[f"{o.txid}:{o.vout}"] = a.address
        return ""


def _check_address(
    a: ProvenAddress, message: str, heights: Mapping[str, int], decimals: Mapping[str, int]
) -> str:
    """Everything about one address that needs no chain data, or the empty string."""
    if a.chain not in heights:
        return f"its chain {a.chain} has no height in the proof"
    if a.height != heights[a.chain]:
        return f"balance at height {a.height}, but {a.chain}'s snapshot is at {heights[a.chain]}"
    if a.asset not in decimals:
        return f"asset {a.asset} is not a column of the market"
    balance, amount = int(a.balance), int(a.amount)
    if balance < 0 or amount < 0:
        return "a negative balance"
    if is_bitcoin(a.chain):
        if a.token_decimals is not None:
            return "a Bitcoin address has no token decimals"
        if sum(int(o.sats) for o in a.outputs) != balance:
            return "its balance is not the sum of its outputs"
        if any(int(o.sats) <= 0 for o in a.outputs):
            return "an output of no value"
        chain_decimals = BTC_DECIMALS
    else:
        if a.outputs:
            return "an EVM balance has no outputs"
        if (a.contract is None) != (a.token_decimals is None):
            return "a token balance gives its contract and its decimals, a native one neither"
        if a.contract is not None:
            evm.checksum_address(a.contract)
        chain_decimals = ETH_DECIMALS if a.token_decimals is None else a.token_decimals
    if to_column(balance, chain_decimals, decimals[a.asset]) != amount:
        return f"amount {amount} is not its balance {balance} in {a.asset}'s units"
    return control_failure(a, message)


# ----- chain data ---------------------------------------------------------------------------------


def _nodes_by_chain(nodes: Sequence[evm.EvmNode]) -> dict[int, evm.EvmNode]:
    """The nodes by the chain id each answers (asked once, first: a node that is down or
    answers garbage stops everything before any address is read)."""
    return {node.chain_id(): node for node in nodes}


def _sources_by_chain(
    nodes: Sequence[evm.EvmNode], snapshots: Sequence[evm.EvmSnapshot]
) -> dict[int, evm.BalanceSource]:
    """The nodes and balance snapshots by chain id; FormatError for two of one chain."""
    out: dict[int, evm.BalanceSource] = dict(_nodes_by_chain(nodes))
    for snap in snapshots:
        other = out.get(snap.chain_id())
        if other is not None:
            raise FormatError(
                f"{snap.name} and {other.name} both give chain id {snap.chain_id()}: give one"
            )
        out[snap.chain_id()] = snap
    return out


def _node_for(chain: str, nodes: Mapping[int, evm.BalanceSource]) -> evm.BalanceSource | None:
    want = evm.chain_id(chain)
    return nodes.get(want) if want is not None else None


def _read_bitcoin(address: str, chain: str, snap: UtxoSnapshot) -> list[Output]:
    spk = btc.decode_address(address, chain).script_pubkey()
    utxos = snap.balances([spk])[spk]
    return [Output(txid=u.txid, vout=u.vout, sats=str(u.sats)) for u in utxos]


def _read_evm(
    address: str, contract: str | None, node: evm.BalanceSource, block: int
) -> tuple[int, int | None]:
    """(balance, token decimals or None) of an EVM address at ``block``."""
    if contract is None:
        return node.native_balance(address, block), None
    return node.token_balance(contract, address, block), node.token_decimals(contract, block)


# ----- proving ------------------------------------------------------------------------------------


def prove_assets(
    root: SignedRoot,
    columns: Sequence[tuple[str, int]],
    wallets: WalletsFile,
    signatures: SignaturesFile,
    heights: Mapping[str, int],
    *,
    utxos: Mapping[str, UtxoSnapshot] | None = None,
    evm_nodes: Sequence[evm.EvmNode] = (),
    evm_snapshots: Sequence[evm.EvmSnapshot] = (),
) -> ProofOfAssets:
    """The proof of assets of ``wallets`` for the publication of ``root``: each balance read at
    its chain's height in ``heights`` from the chain data (a UTXO snapshot per Bitcoin chain; an
    EVM node or an EVM balance snapshot per EVM chain). Raises AssetsInvalid (a check fails;
    the address named), ChainError (chain data, an address or a signature unreadable) or
    FormatError (a file inconsistent)."""
    utxos = utxos or {}
    message = reserves_message(root, heights)
    nodes = _sources_by_chain(evm_nodes, evm_snapshots)
    decimals = dict(columns)
    by_address: dict[tuple[str, str], AddressSignatures] = {}
    for s in signatures.signatures:
        if (s.chain, s.address) in by_address:
            raise FormatError(f"{s.address}: signatures given twice for {s.chain}")
        by_address[(s.chain, s.address)] = s
    used: set[tuple[str, str]] = set()
    chains: dict[str, ChainSnapshot] = {}
    proven: list[ProvenAddress] = []
    seen = _Seen()
    for w in wallets.wallets:
        if w.chain not in heights:
            raise FormatError(f"{w.address}: no height is given for its chain {w.chain}")
        if w.asset not in decimals:
            raise AssetsInvalid(f"{w.address}: asset {w.asset} is not a column of the market")
        if is_bitcoin(w.chain):
            btc.decode_address(w.address, w.chain)  # checksum and network, first
        else:
            evm.checksum_address(w.address)
        sig = by_address.get((w.chain, w.address))
        if sig is None:
            raise AssetsInvalid(f"{w.address}: no signature is given for it on {w.chain}")
        used.add((w.chain, w.address))
        height = heights[w.chain]
        outputs: list[Output] = []
        token_decimals: int | None = None
        try:
            if is_bitcoin(w.chain):
                if w.contract is not None or w.decimals is not None:
                    raise FormatError(f"{w.address}: a Bitcoin wallet has no contract or decimals")
                snap = utxos.get(w.chain)
                if snap is None:
                    raise FormatError(f"{w.address}: no UTXO snapshot of {w.chain} is given")
                if snap.height != height:
                    raise AssetsInvalid(
                        f"the UTXO snapshot of {w.chain} is at height {snap.height}, "
                        f"the message states {height}"
                    )
                chains[w.chain] = ChainSnapshot(
                    chain=w.chain, height=height, block_hash=snap.bestblock
                )
                outputs = _read_bitcoin(w.address, w.chain, snap)
                balance = sum(int(o.sats) for o in outputs)
                chain_decimals = BTC_DECIMALS
            else:
                evm.checksum_address(w.address)
                if w.contract is not None:
                    evm.checksum_address(w.contract)
                if (w.contract is None) != (w.decimals is None):
                    raise FormatError(
                        f"{w.address}: a token gives its contract and decimals, a coin neither"
                    )
                node = _node_for(w.chain, nodes)
                if not nodes:
                    raise FormatError(
                        f"{w.address}: no EVM node or balance snapshot is given for {w.chain}"
                    )
                if node is None:
                    given = ", ".join(f"{n.name} of chain id {c}" for c, n in sorted(nodes.items()))
                    raise AssetsInvalid(
                        f"{w.address}: no EVM node of {w.chain} (chain id "
                        f"{evm.chain_id(w.chain)}) nor a balance snapshot of it is given "
                        f"(given: {given})"
                    )
                if isinstance(node, evm.EvmSnapshot) and node.block != height:
                    raise AssetsInvalid(
                        f"{w.address}: the EVM balance snapshot {node.name} of {w.chain} is at "
                        f"block {node.block}, the message states {height}"
                    )
                if w.chain not in chains:
                    chains[w.chain] = ChainSnapshot(
                        chain=w.chain, height=height, block_hash=node.block_hash(height)
                    )
                balance, token_decimals = _read_evm(w.address, w.contract, node, height)
                if token_decimals is not None and token_decimals != w.decimals:
                    raise AssetsInvalid(
                        f"{w.address}: the contract {w.contract} states {token_decimals} "
                        f"decimals, the wallets file {w.decimals}"
                    )
                chain_decimals = ETH_DECIMALS if token_decimals is None else token_decimals
        except ChainError as exc:
            raise type(exc)(_named(w.address, exc)) from None
        a = ProvenAddress(
            chain=w.chain,
            asset=w.asset,
            address=w.address,
            witness_script=w.witness_script,
            contract=w.contract,
            token_decimals=token_decimals,
            scheme=sig.scheme,
            signatures=sig.signatures,
            height=height,
            balance=str(balance),
            outputs=outputs,
            amount=str(to_column(balance, chain_decimals, decimals[w.asset])),
        )
        try:
            why = seen.add(a) or _check_address(a, message, heights, decimals)
        except ChainError as exc:
            raise type(exc)(_named(w.address, exc)) from None
        if why:
            raise AssetsInvalid(f"{w.address}: {why}")
        proven.append(a)
    extra = sorted(set(by_address) - used)
    if extra:
        raise FormatError(f"{extra[0][1]}: signed, but not in the wallets file")
    unused = sorted(set(heights) - set(chains))
    if unused:
        raise FormatError(f"a height is given for {unused[0]}, which no wallet is on")
    doc = ProofOfAssets(
        venue=root.venue,
        venue_key=root.venue_key,
        epoch=root.epoch,
        root_hash=root.root_hash,
        message=message,
        chains=[chains[c] for c in sorted(chains)],
        addresses=proven,
        totals=_totals(proven, wallets.off_chain, decimals, columns),
        off_chain=wallets.off_chain,
    )
    return doc


def _totals(
    addresses: Sequence[ProvenAddress],
    off_chain: Sequence[OffChainAmount],
    decimals: Mapping[str, int],
    columns: Sequence[tuple[str, int]],
) -> list[AssetTotal]:
    """Per column with anything proven or declared: the proven sum and the off-chain sum."""
    proven: dict[str, int] = {}
    stated: dict[str, int] = {}
    for a in addresses:
        proven[a.asset] = proven.get(a.asset, 0) + int(a.amount)
    for o in off_chain:
        asset, amount = o.asset, o.amount
        if asset not in decimals:
            raise AssetsInvalid(f"off-chain amount of {asset}, which is not a column")
        try:
            units = to_units(amount, decimals[asset], allow_negative=False)
        except ValueError as exc:
            raise FormatError(f"off-chain amount of {asset}: {exc}") from None
        stated[asset] = stated.get(asset, 0) + units
    return [
        AssetTotal(asset=s, proven=str(proven.get(s, 0)), off_chain=str(stated.get(s, 0)))
        for s, _ in columns
        if s in proven or s in stated
    ]


# ----- verifying ----------------------------------------------------------------------------------


def verify_assets(
    doc: ProofOfAssets,
    root: SignedRoot,
    columns: Sequence[tuple[str, int]],
    *,
    utxo_snapshot: Mapping[str, UtxoSnapshot] | None = None,
    eth_rpc: Sequence[evm.EvmNode] | evm.EvmNode | None = None,
    evm_snapshots: Sequence[evm.EvmSnapshot] = (),
) -> AssetsReport:
    """Checks 1–3 of the module docstring, and every balance again from the auditor's own chain
    data when given (their UTXO snapshots, their EVM nodes, or balance snapshots they exported
    from their own EVM node). Raises AssetsInvalid naming the address (or the chain),
    ChainError when the auditor's own node fails."""
    nodes = _sources_by_chain(
        [eth_rpc] if isinstance(eth_rpc, evm.EvmNode) else list(eth_rpc or ()), evm_snapshots
    )
    snaps = dict(utxo_snapshot or {})
    if (doc.venue, doc.venue_key, doc.epoch, doc.root_hash) != (
        root.venue,
        root.venue_key,
        root.epoch,
        root.root_hash,
    ):
        raise AssetsInvalid(
            "the proof of assets is for another publication (venue, key, epoch or root)"
        )
    heights = {c.chain: c.height for c in doc.chains}
    if len(heights) != len(doc.chains):
        raise AssetsInvalid("a chain's height is stated twice")
    try:
        message = reserves_message(root, heights)
    except FormatError as exc:
        raise AssetsInvalid(str(exc)) from None
    if doc.message != message:
        raise AssetsInvalid("the signed message is not this publication's reserves message")
    decimals = dict(columns)
    rep = AssetsReport(addresses=len(doc.addresses), heights=heights)
    for chain, snap in snaps.items():
        if chain in heights and snap.height != heights[chain]:
            raise AssetsInvalid(
                f"your UTXO snapshot of {chain} is at height {snap.height}; the proof's "
                f"balances are at {heights[chain]}"
            )
        if chain in heights and snap.bestblock != _block(doc, chain):
            raise AssetsInvalid(f"your UTXO snapshot of {chain} is of another block at that height")
    for chain_id, source in nodes.items():
        on = next((c for c in heights if evm.chain_id(c) == chain_id), None)
        if isinstance(source, evm.EvmSnapshot) and on is not None:
            if source.block != heights[on]:
                raise AssetsInvalid(
                    f"your EVM balance snapshot of {on} is at block {source.block}; the "
                    f"proof's balances are at {heights[on]}"
                )
            if source.doc.block_hash != _block(doc, on):
                raise AssetsInvalid(
                    f"your EVM balance snapshot of {on} is of another block at that height"
                )
    seen = _Seen()
    chain_nodes: dict[str, evm.BalanceSource | None] = {}
    for a in doc.addresses:
        try:
            why = seen.add(a) or _check_address(a, message, heights, decimals)
            if not why and is_bitcoin(a.chain) and a.chain in snaps:
                outputs = _read_bitcoin(a.address, a.chain, snaps[a.chain])
                if sorted(outputs, key=_point) != sorted(a.outputs, key=_point):
                    got = sum(int(o.sats) for o in outputs)
                    why = (
                        f"balance {a.balance} at height {a.height}, your snapshot holds "
                        f"{got} in {len(outputs)} outputs"
                    )
            elif not why and not is_bitcoin(a.chain) and nodes:
                if a.chain not in chain_nodes:
                    node = _node_for(a.chain, nodes)
                    if node is not None and node.block_hash(a.height) != _block(doc, a.chain):
                        raise AssetsInvalid(
                            f"block {a.height} of {a.chain} is another block on your node"
                        )
                    chain_nodes[a.chain] = node
                node = chain_nodes[a.chain]
                if node is not None:
                    balance, dec = _read_evm(a.address, a.contract, node, a.height)
                    if (balance, dec) != (int(a.balance), a.token_decimals):
                        yours = (
                            "your balance snapshot"
                            if isinstance(node, evm.EvmSnapshot)
                            else "your node"
                        )
                        why = f"balance {a.balance} at block {a.height}, {yours} says {balance}" + (
                            f" (decimals {dec})" if dec is not None else ""
                        )
        except ChainError as exc:
            if exc.__class__ is ChainError:  # the auditor's node failed: not the proof's fault
                raise
            why = str(exc)
        if why:
            raise AssetsInvalid(why if why.startswith(a.address) else f"{a.address}: {why}")
    expected = _totals(doc.addresses, doc.off_chain, decimals, columns)
    if doc.totals != expected:
        raise AssetsInvalid("the per-asset totals are not the sums of the addresses' amounts")
    rep.totals = [
        AssetLine(t.asset, decimals[t.asset], int(t.proven), int(t.off_chain)) for t in doc.totals
    ]
    for chain in sorted(heights):
        checked = chain in snaps if is_bitcoin(chain) else chain_nodes.get(chain) is not None
        if not checked:
            rep.notes.append(f"balances on {chain} were taken from the publication{_bring(chain)}")
    return rep


def _bring(chain: str) -> str:
    """What re-reads the balances of ``chain``, for the line that says they were not."""
    if is_bitcoin(chain):
        return f" (not re-read: give your own scantxoutset, --utxos {chain}=FILE)"
    return " (not re-read: give your own node, --eth-rpc URL, or its --evm-balances FILE)"


def _point(o: Output) -> tuple[str, int]:
    return (o.txid, o.vout)


def _block(doc: ProofOfAssets, chain: str) -> str:
    return next(c.block_hash for c in doc.chains if c.chain == chain)


@dataclass
class ChainData:
    """An auditor's (or prover's) chain data: UTXO snapshots by Bitcoin chain, EVM nodes, EVM
    balance snapshots."""

    utxos: dict[str, UtxoSnapshot] = field(default_factory=dict)
    evm_nodes: list[evm.EvmNode] = field(default_factory=list)
    evm_snapshots: list[evm.EvmSnapshot] = field(default_factory=list)
