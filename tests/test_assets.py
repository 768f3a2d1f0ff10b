"""The proof of assets: the reserves message, prove_assets and verify_assets over Bitcoin
regtest keys (P2WPKH, P2TR, P2PKH, P2SH-P2WPKH, a 2-of-3 P2WSH) and a real EVM in process (an
account's ether and an ERC-20), and every attack refused with the address named."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from chain_helpers import (
    Evm,
    even_key,
    garbage_node,
    key,
    new_evm,
    rpc_server,
    sign_bip137,
    sign_bip322_p2tr,
    sign_bip322_p2wpkh,
)
from coincurve import PrivateKey
from eth_account import Account
from eth_account.messages import encode_defunct
from pydantic import ValidationError

from zkmargin.chain import AddressError, ChainError, SignatureEncodingError
from zkmargin.chain import bitcoin as btc
from zkmargin.chain.evm import EvmNode, EvmSnapshot, snapshot_balances
from zkmargin.chain.utxo import UtxoSnapshot, parse_snapshot
from zkmargin.formats.assets import (
    AddressSignatures,
    EvmBalancesFile,
    OffChainAmount,
    Output,
    ProofOfAssets,
    SignaturesFile,
    WalletEntry,
    WalletsFile,
)
from zkmargin.formats.common import FormatError, format_decimal
from zkmargin.formats.statement import SignedRoot
from zkmargin.liabilities.assets import (
    AssetsInvalid,
    parse_heights,
    prove_assets,
    reserves_message,
    to_column,
    verify_assets,
)

BTC_CHAIN = "bitcoin-regtest"
COLUMNS = [("USDT", 6), ("BTC", 8), ("ETH", 18), ("USD", 2)]
HEIGHT = 1200


def signed_root(**changes: Any) -> SignedRoot:
    doc: dict[str, Any] = {
        "venue": "X",
        "venue_key": "a1" * 48,
        "epoch": 3,
        "market_digest": "00" * 32,
        "height": 3,
        "columns": [c for c, _ in COLUMNS],
        "totals": ["b2" * 48] * len(COLUMNS),
        "root_hash": "c3" * 32,
        "signature": "d4" * 96,
    }
    return SignedRoot.model_validate(doc | changes)


def snapshot_json(height: int, outputs: list[tuple[str, int, bytes, int]]) -> str:
    unspents = [
        f'{{"txid": "{t}", "vout": {v}, "scriptPubKey": "{s.hex()}", '
        f'"amount": {format_decimal(sats, 8)}, "height": {height - 10}}}'
        for t, v, s, sats in outputs
    ]
    return (
        f'{{"success": true, "txouts": 99, "height": {height}, "bestblock": "{"ee" * 32}", '
        f'"unspents": [{", ".join(unspents)}], "total_amount": 0}}'
    )


@dataclass
class World:
    root: SignedRoot
    wallets: WalletsFile
    btc_keys: dict[str, Any]
    eth_keys: dict[str, Any]
    snap: UtxoSnapshot
    later_snap: UtxoSnapshot
    evm: Evm
    node: EvmNode
    token: Any
    fake: Any
    block: int
    evm_chain: str

    @property
    def heights(self) -> dict[str, int]:
        return {BTC_CHAIN: HEIGHT, self.evm_chain: self.block}

    def message(self, root: SignedRoot | None = None) -> str:
        return reserves_message(root or self.root, self.heights)

    def signatures(self, message: str | None = None) -> SignaturesFile:
        m = message or self.message()
        out = []
        for w in self.wallets.wallets:
            if w.chain == BTC_CHAIN:
                scheme, sigs = self.btc_keys[w.address](m)
            else:
                signed = Account.sign_message(encode_defunct(text=m), self.eth_keys[w.address])
                scheme, sigs = "eip191", [signed.signature.hex()]
            if any(s.address == w.address for s in out):
                continue
            out.append(
                AddressSignatures(chain=w.chain, address=w.address, scheme=scheme, signatures=sigs)
            )
        return SignaturesFile(signatures=out)

    def prove(
        self, wallets: WalletsFile | None = None, sigs: SignaturesFile | None = None, **kw: Any
    ) -> ProofOfAssets:
        return prove_assets(
            self.root,
            COLUMNS,
            wallets or self.wallets,
            sigs or self.signatures(),
            kw.pop("heights", self.heights),
            utxos=kw.pop("utxos", {BTC_CHAIN: self.snap}),
            evm_nodes=kw.pop("evm_nodes", [self.node]),
            evm_snapshots=kw.pop("evm_snapshots", []),
        )


@pytest.fixture(scope="module")
def world() -> World:
    keys = [key(100 + j) for j in range(6)]
    tr_key = even_key(200)
    ms_keys = [key(300 + j) for j in range(3)]
    pub = [k.public_key.format() for k in keys]
    script = btc.multisig_script(2, [k.public_key.format() for k in ms_keys])
    addrs = {
        "p2wpkh": btc.p2wpkh_address(pub[0], BTC_CHAIN),
        "p2tr": btc.p2tr_address(tr_key.public_key.format()[1:], BTC_CHAIN),
        "p2pkh": btc.p2pkh_address(pub[1], BTC_CHAIN),
        "p2sh": btc.p2sh_p2wpkh_address(pub[2], BTC_CHAIN),
        "p2wsh": btc.p2wsh_address(script, BTC_CHAIN),
        "empty": btc.p2wpkh_address(pub[3], BTC_CHAIN),
    }
    signers = {
        addrs["p2wpkh"]: lambda m: ("bip322-simple", [sign_bip322_p2wpkh(keys[0], m, BTC_CHAIN)]),
        addrs["p2tr"]: lambda m: ("bip322-simple", [sign_bip322_p2tr(tr_key, m, BTC_CHAIN)]),
        addrs["p2pkh"]: lambda m: ("bip137", [sign_bip137(keys[1], m, "p2pkh")]),
        addrs["p2sh"]: lambda m: ("bip137", [sign_bip137(keys[2], m, "p2sh-p2wpkh")]),
        addrs["p2wsh"]: lambda m: (
            "bip137",
            [sign_bip137(ms_keys[0], m, "p2pkh"), sign_bip137(ms_keys[2], m, "p2pkh")],
        ),
        addrs["empty"]: lambda m: ("bip137", [sign_bip137(keys[3], m, "p2wpkh")]),
    }
    spk = {k: btc.decode_address(a, BTC_CHAIN).script_pubkey() for k, a in addrs.items()}
    outs = [
        ("11" * 32, 0, spk["p2wpkh"], 150_000_000),
        ("11" * 32, 1, spk["p2tr"], 1),
        ("22" * 32, 0, spk["p2pkh"], 2_500_000_000),
        ("22" * 32, 5, spk["p2sh"], 70_000),
        ("33" * 32, 2, spk["p2wsh"], 1_000_000_000),
        ("33" * 32, 3, spk["p2wsh"], 5),
        (
            "44" * 32,
            0,
            btc.Address(btc.network(BTC_CHAIN), "p2wpkh", b"\x07" * 20).script_pubkey(),
            9_000_000,
        ),
    ]
    snap = parse_snapshot(snapshot_json(HEIGHT, outs))
    later = parse_snapshot(snapshot_json(HEIGHT + 1, [*outs[:-2], ("55" * 32, 0, spk["p2wsh"], 7)]))

    chain = new_evm()
    eth = [Account.create() for _ in range(3)]
    token = chain.deploy_token(6)
    fake = chain.deploy_token(6)
    chain.send(eth[0].address, 12 * 10**18 + 5)
    chain.mint(token, eth[1].address, 4_000_000_000)
    chain.mint(token, eth[2].address, 250_000)
    chain.mint(fake, eth[1].address, 9 * 10**12)
    block = chain.w3.eth.block_number
    chain.send(eth[0].address, 10**18)
    chain.mint(token, eth[1].address, 1)
    evm_chain = f"evm-{chain.w3.eth.chain_id}"
    wallets = [WalletEntry(chain=BTC_CHAIN, asset="BTC", address=a) for a in addrs.values()]
    wallets[4] = wallets[4].model_copy(update={"witness_script": script.hex()})
    wallets += [
        WalletEntry(chain=evm_chain, asset="ETH", address=eth[0].address),
        WalletEntry(
            chain=evm_chain,
            asset="USDT",
            address=eth[1].address,
            contract=token.address,
            decimals=6,
        ),
        WalletEntry(
            chain=evm_chain,
            asset="USDT",
            address=eth[2].address,
            contract=token.address,
            decimals=6,
        ),
    ]
    off = [OffChainAmount(asset="USD", amount="125000.50", holder="Bank A")]
    return World(
        root=signed_root(),
        wallets=WalletsFile(wallets=wallets, off_chain=off),
        btc_keys=signers,
        eth_keys={a.address: a.key for a in eth},
        snap=snap,
        later_snap=later,
        evm=chain,
        node=EvmNode(chain.w3, "eth-tester"),
        token=token,
        fake=fake,
        block=block,
        evm_chain=evm_chain,
    )


@pytest.fixture(scope="module")
def proof(world: World) -> ProofOfAssets:
    return world.prove()


def replace(doc: ProofOfAssets, target: str, /, **changes: Any) -> ProofOfAssets:
    """``doc`` with the first entry of address ``target`` changed."""
    j = next(j for j, a in enumerate(doc.addresses) if a.address == target)
    addresses = list(doc.addresses)
    addresses[j] = addresses[j].model_copy(update=changes)
    return doc.model_copy(update={"addresses": addresses})


def refused(doc: ProofOfAssets, world: World, match: str, **kw: Any) -> None:
    with pytest.raises(AssetsInvalid, match=match):
        verify_assets(doc, world.root, COLUMNS, **kw)


# ----- the message and the honest proof ----------------------------------------------------------


def test_reserves_message_binds_everything(world: World) -> None:
    m = world.message()
    lines = m.split("\n")
    assert lines[0] == "zkmargin proof of reserves" and lines[1] == "venue: X"
    assert f"epoch: {world.root.epoch}" in lines and f"liabilities root: {'c3' * 32}" in lines
    assert f"height {BTC_CHAIN}: {HEIGHT}" in lines
    for change in (
        {"epoch": 4},
        {"venue": "Y"},
        {"root_hash": "c4" * 32},
        {"venue_key": "a2" * 48},
    ):
        assert world.message(signed_root(**change)) != m
    assert reserves_message(world.root, {**world.heights, BTC_CHAIN: HEIGHT + 1}) != m
    assert parse_heights(f"{BTC_CHAIN}=5, ethereum=7") == {BTC_CHAIN: 5, "ethereum": 7}
    for bad in ("bitcoin", "bitcoin=x", "bitcoin=1,bitcoin=2"):
        with pytest.raises(FormatError):
            parse_heights(bad)
    with pytest.raises(FormatError, match="unknown chain"):
        reserves_message(world.root, {"dogecoin": 1})
    # a venue name with a control character cannot even be a root (it could forge a line)
    with pytest.raises(ValidationError):
        signed_root(venue="X\nepoch: 9")


def test_honest_proof(world: World, proof: ProofOfAssets) -> None:
    totals = {t.asset: (int(t.proven), int(t.off_chain)) for t in proof.totals}
    btc_sats = 150_000_000 + 1 + 2_500_000_000 + 70_000 + 1_000_000_005
    assert totals["BTC"] == (btc_sats, 0)
    assert totals["ETH"] == (12 * 10**18 + 5, 0)
    assert totals["USDT"] == (4_000_250_000, 0)
    assert totals["USD"] == (0, 12_500_050)  # declared off chain, never proven
    assert [c.height for c in proof.chains] == [HEIGHT, world.block]
    wsh = next(a for a in proof.addresses if a.witness_script)
    assert len(wsh.outputs) == 2 and wsh.balance == "1000000005"
    rep = verify_assets(proof, world.root, COLUMNS)
    assert rep.addresses == 9 and len(rep.notes) == 2
    assert all("taken from the publication" in n for n in rep.notes)
    rep = verify_assets(
        proof, world.root, COLUMNS, utxo_snapshot={BTC_CHAIN: world.snap}, eth_rpc=world.node
    )
    assert rep.notes == [] and rep.proven("BTC") == btc_sats and rep.off_chain("USD") == 12_500_050
    again = ProofOfAssets.model_validate_json(proof.model_dump_json())
    assert verify_assets(again, world.root, COLUMNS).addresses == 9


def test_units_round_down() -> None:
    assert to_column(123_456_789, 8, 6) == 1_234_567
    assert to_column(5, 18, 2) == 0
    assert to_column(7, 6, 8) == 700


# ----- attacks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change", [{"epoch": 4}, {"venue": "Y"}, {"root_hash": "c4" * 32}, {"venue_key": "a2" * 48}]
)
def test_signature_over_another_publication(
    world: World, proof: ProofOfAssets, change: dict[str, Any]
) -> None:
    other = world.signatures(world.message(signed_root(**change)))
    for s in other.signatures:
        doc = replace(proof, s.address, signatures=s.signatures)
        refused(doc, world, s.address)
    with pytest.raises(AssetsInvalid, match=world.wallets.wallets[0].address):
        world.prove(sigs=other)


def test_signature_at_other_heights(world: World, proof: ProofOfAssets) -> None:
    heights = {**world.heights, BTC_CHAIN: HEIGHT - 1}
    stale = world.signatures(reserves_message(world.root, heights))
    a = world.wallets.wallets[1].address
    refused(replace(proof, a, signatures=stale.signatures[1].signatures), world, a)


def test_key_that_does_not_control_the_address(world: World, proof: ProofOfAssets) -> None:
    m = world.message()
    p2wpkh, p2tr, p2pkh = (w.address for w in world.wallets.wallets[:3])
    cases = {
        p2wpkh: [sign_bip322_p2wpkh(key(999), m, BTC_CHAIN)],
        p2tr: [sign_bip322_p2tr(even_key(998), m, BTC_CHAIN)],
        p2pkh: [sign_bip137(key(997), m, "p2pkh")],
    }
    for address, sigs in cases.items():
        refused(replace(proof, address, signatures=sigs), world, address)
    eth = world.wallets.wallets[6].address
    intruder = Account.create()
    sig = Account.sign_message(encode_defunct(text=m), intruder.key).signature.hex()
    refused(replace(proof, eth, signatures=[sig]), world, eth)
    # the intruder's own address, claimed to hold the venue's ether, is not the venue's
    refused(replace(proof, eth, address=intruder.address), world, intruder.address)


def test_address_listed_twice_or_under_two_assets(world: World, proof: ProofOfAssets) -> None:
    first = proof.addresses[0]
    twice = proof.model_copy(update={"addresses": [*proof.addresses, first]})
    refused(twice, world, f"{first.address}: listed twice")
    moved = first.model_copy(update={"asset": "USDT", "amount": str(int(first.balance) // 100)})
    refused(
        proof.model_copy(update={"addresses": [*proof.addresses, moved]}),
        world,
        f"{first.address}: listed twice",
    )
    eth = proof.addresses[6]
    as_usd = eth.model_copy(update={"asset": "USD", "amount": "0"})
    refused(proof.model_copy(update={"addresses": [*proof.addresses, as_usd]}), world, eth.address)
    wallets = world.wallets.model_copy(
        update={"wallets": [*world.wallets.wallets, world.wallets.wallets[0]]}
    )
    with pytest.raises(AssetsInvalid, match=f"{first.address}: listed twice"):
        world.prove(wallets=wallets)


def test_multisig_needs_m_distinct_keys(world: World, proof: ProofOfAssets) -> None:
    wsh = next(a for a in proof.addresses if a.witness_script)
    one = wsh.signatures[:1]
    refused(replace(proof, wsh.address, signatures=one), world, f"{wsh.address}: 1 distinct")
    same_key_twice = [wsh.signatures[0], wsh.signatures[0]]
    refused(replace(proof, wsh.address, signatures=same_key_twice), world, wsh.address)
    refused(replace(proof, wsh.address, witness_script=None), world, wsh.address)
    other = btc.multisig_script(1, [key(300).public_key.format()])
    refused(
        replace(proof, wsh.address, witness_script=other.hex()),
        world,
        f"{wsh.address}: the witness script does not hash",
    )


def test_balance_at_another_height(world: World, proof: ProofOfAssets) -> None:
    a = proof.addresses[0]
    refused(replace(proof, a.address, height=HEIGHT + 1), world, f"{a.address}: balance at height")
    # the proof's balances against the auditor's snapshot of the next block
    with pytest.raises(AssetsInvalid, match="your UTXO snapshot"):
        verify_assets(proof, world.root, COLUMNS, utxo_snapshot={BTC_CHAIN: world.later_snap})
    # a balance from another height, labelled as the stated height: the auditor's data refuses it
    wsh = next(x for x in proof.addresses if x.witness_script)
    later = [Output(txid="55" * 32, vout=0, sats="7")]
    doc = replace(proof, wsh.address, outputs=later, balance="7", amount="7")
    doc = doc.model_copy(update={"totals": _retotal(doc)})
    verify_assets(doc, world.root, COLUMNS)  # consistent on its face
    refused(doc, world, f"{wsh.address}: balance 7", utxo_snapshot={BTC_CHAIN: world.snap})
    eth = proof.addresses[6]
    later_balance = world.evm.w3.eth.get_balance(eth.address)
    doc = replace(proof, eth.address, balance=str(later_balance), amount=str(later_balance))
    doc = doc.model_copy(update={"totals": _retotal(doc)})
    verify_assets(doc, world.root, COLUMNS)
    refused(doc, world, f"{eth.address}: balance {later_balance} at block", eth_rpc=world.node)


def _retotal(doc: ProofOfAssets) -> Any:
    from zkmargin.liabilities.assets import _totals

    return _totals(doc.addresses, doc.off_chain, dict(COLUMNS), COLUMNS)


def test_token_balance_from_another_contract(world: World, proof: ProofOfAssets) -> None:
    holder = proof.addresses[7]
    fake_balance = str(
        world.fake.functions.balanceOf(holder.address).call(block_identifier=world.block)
    )
    doc = replace(
        proof,
        holder.address,
        contract=world.fake.address,
        balance=fake_balance,
        amount=fake_balance,
    )
    doc = doc.model_copy(update={"totals": _retotal(doc)})
    refused(doc, world, f"{holder.address}.*one asset, one contract")
    # alone (the other USDT address dropped), only the auditor's node tells
    alone = doc.model_copy(
        update={"addresses": [a for a in doc.addresses if a.address != proof.addresses[8].address]}
    )
    alone = alone.model_copy(update={"totals": _retotal(alone)})
    verify_assets(alone, world.root, COLUMNS)
    # the node reads the stated (fake) contract: the balance matches, but its contract is not the
    # USDT of the honest proof; the wallets file names the contract, so prove refuses a mismatch
    wallets = list(world.wallets.wallets)
    wallets[7] = wallets[7].model_copy(update={"decimals": 8})
    with pytest.raises(AssetsInvalid, match=f"{holder.address}: the contract"):
        world.prove(wallets=world.wallets.model_copy(update={"wallets": wallets}))
    # a balance claimed for the real contract but read from the fake one
    doc = replace(proof, holder.address, balance=fake_balance, amount=fake_balance)
    doc = doc.model_copy(update={"totals": _retotal(doc)})
    refused(doc, world, f"{holder.address}: balance {fake_balance}", eth_rpc=world.node)


def test_address_on_another_chain(world: World, proof: ProofOfAssets) -> None:
    mainnet = btc.p2wpkh_address(key(100).public_key.format(), "bitcoin")
    refused(
        replace(proof, proof.addresses[0].address, address=mainnet),
        world,
        f"{mainnet}: an address of bitcoin, not of {BTC_CHAIN}",
    )
    wallets = list(world.wallets.wallets)
    wallets[6] = wallets[6].model_copy(update={"chain": "ethereum"})
    heights = {**world.heights, "ethereum": world.block}
    sigs = world.signatures(reserves_message(world.root, heights))
    fixed = [
        s.model_copy(update={"chain": "ethereum"}) if s.address == wallets[6].address else s
        for s in sigs.signatures
    ]
    with pytest.raises(AssetsInvalid, match=f"{wallets[6].address}: no EVM node of ethereum"):
        world.prove(
            wallets=world.wallets.model_copy(update={"wallets": wallets}),
            sigs=SignaturesFile(signatures=fixed),
            heights=heights,
        )


def test_output_counted_twice(world: World, proof: ProofOfAssets) -> None:
    first, second = proof.addresses[0], proof.addresses[1]
    stolen = [*second.outputs, first.outputs[0]]
    total = str(sum(int(o.sats) for o in stolen))
    doc = replace(proof, second.address, outputs=stolen, balance=total, amount=total)
    refused(doc, world, f"{second.address}: output {first.outputs[0].txid}:0 is counted twice")


def test_totals_and_off_chain_apart(world: World, proof: ProofOfAssets) -> None:
    inflated = [t.model_copy(update={"proven": str(int(t.proven) + 1)}) for t in proof.totals]
    refused(proof.model_copy(update={"totals": inflated}), world, "totals")
    moved = [
        t.model_copy(update={"proven": t.off_chain, "off_chain": "0"}) if t.asset == "USD" else t
        for t in proof.totals
    ]
    refused(proof.model_copy(update={"totals": moved}), world, "totals")
    refused(proof.model_copy(update={"epoch": 4}), world, "another publication")
    refused(proof.model_copy(update={"message": proof.message + " "}), world, "message")


def test_bad_input_is_a_clear_error(world: World) -> None:
    m = world.message()
    sigs = world.signatures()
    first = sigs.signatures[0]
    bad = [first.model_copy(update={"signatures": ["not base64!"]}), *sigs.signatures[1:]]
    with pytest.raises(SignatureEncodingError, match=first.address):
        world.prove(sigs=SignaturesFile(signatures=bad))
    wallets = list(world.wallets.wallets)
    address = wallets[0].address
    typo = address[:-1] + ("q" if address[-1] != "q" else "p")
    wallets[0] = wallets[0].model_copy(update={"address": typo})
    renamed = [first.model_copy(update={"address": typo}), *sigs.signatures[1:]]
    with pytest.raises(AddressError, match="checksum"):
        world.prove(
            wallets=world.wallets.model_copy(update={"wallets": wallets}),
            sigs=SignaturesFile(signatures=renamed),
        )
    eth = list(world.wallets.wallets)
    eth[6] = eth[6].model_copy(update={"address": eth[6].address.lower()})
    with pytest.raises(AddressError, match="EIP-55"):
        world.prove(wallets=world.wallets.model_copy(update={"wallets": eth}))
    with pytest.raises(ChainError, match="eth_chainId failed"):
        world.prove(evm_nodes=[EvmNode.connect("http://127.0.0.1:9", timeout=5)])
    with garbage_node(b"<html>") as url, pytest.raises(ChainError, match=url):
        world.prove(evm_nodes=[EvmNode.connect(url)])
    with pytest.raises(ChainError, match="eth_chainId failed"):
        verify_assets(
            world.prove(),
            world.root,
            COLUMNS,
            eth_rpc=EvmNode.connect("http://127.0.0.1:9", timeout=5),
        )
    with pytest.raises(AssetsInvalid, match="is at height"):
        world.prove(utxos={BTC_CHAIN: world.later_snap})
    assert m == world.message()
    assert json.loads(world.prove().model_dump_json())["format"] == "zkmargin/proof-of-assets/1"


# ----- EVM balances from a snapshot file ----------------------------------------------------------


def evm_holdings(world: World) -> list[tuple[str, str | None]]:
    return [(w.address, w.contract) for w in world.wallets.wallets if w.chain == world.evm_chain]


@pytest.fixture(scope="module")
def evm_snap(world: World) -> EvmBalancesFile:
    """The exchange's snapshot of its EVM wallets at the stated block, read from its node."""
    return snapshot_balances(world.node, evm_holdings(world), world.block)


def with_balance(snap: EvmBalancesFile, holder: str, /, **changes: Any) -> EvmBalancesFile:
    """``snap`` with the entry of ``holder`` changed."""
    entries = [b.model_copy(update=changes) if b.address == holder else b for b in snap.balances]
    return snap.model_copy(update={"balances": entries})


def test_evm_snapshot_holds_what_the_chain_holds(
    world: World, proof: ProofOfAssets, evm_snap: EvmBalancesFile
) -> None:
    eth, usdt, small = (w.address for w in world.wallets.wallets[6:9])
    assert evm_snap.chain_id == world.evm.w3.eth.chain_id and evm_snap.block == world.block
    block = world.evm.w3.eth.get_block(world.block)
    assert evm_snap.block_hash == "0x" + bytes(block["hash"]).hex()
    got = {(b.address, b.contract): (b.balance, b.decimals) for b in evm_snap.balances}
    token = world.token.address
    # the balances of the block, not the later ones (1 ether and 1 unit moved after it)
    assert got == {
        (eth, None): (str(12 * 10**18 + 5), None),
        (usdt, token): ("4000000000", 6),
        (small, token): ("250000", 6),
    }
    assert world.evm.w3.eth.get_balance(eth) == 13 * 10**18 + 5
    # the proof made from the file is the proof made from the node, byte for byte
    again = EvmBalancesFile.model_validate_json(evm_snap.model_dump_json())
    from_file = world.prove(evm_nodes=[], evm_snapshots=[EvmSnapshot(again, "snap.json")])
    assert from_file.model_dump_json() == proof.model_dump_json()
    # without the auditor's own EVM data: one line says so; with it: checked, no line
    utxos = {BTC_CHAIN: world.snap}
    rep = verify_assets(from_file, world.root, COLUMNS, utxo_snapshot=utxos)
    assert rep.notes == [
        f"balances on {world.evm_chain} were taken from the publication (not re-read: give your "
        "own node, --eth-rpc URL, or its --evm-balances FILE)"
    ]
    rep = verify_assets(from_file, world.root, COLUMNS, utxo_snapshot=utxos, eth_rpc=world.node)
    assert rep.notes == [] and rep.proven("USDT") == 4_000_250_000
    mine = EvmSnapshot(evm_snap, "my-snap.json")
    rep = verify_assets(from_file, world.root, COLUMNS, utxo_snapshot=utxos, evm_snapshots=[mine])
    assert rep.notes == []


def test_evm_snapshot_of_another_chain_or_block(world: World, evm_snap: EvmBalancesFile) -> None:
    first = world.wallets.wallets[6].address
    other = evm_snap.model_copy(update={"chain_id": 1})
    with pytest.raises(
        AssetsInvalid,
        match=f"{first}: no EVM node of {world.evm_chain} .*given: x.json of chain id 1",
    ):
        world.prove(evm_nodes=[], evm_snapshots=[EvmSnapshot(other, "x.json")])
    later = snapshot_balances(world.node, evm_holdings(world), world.block + 1)
    with pytest.raises(
        AssetsInvalid,
        match=f"{first}: the EVM balance snapshot later.json of {world.evm_chain} is at block "
        f"{world.block + 1}, the message states {world.block}",
    ):
        world.prove(evm_nodes=[], evm_snapshots=[EvmSnapshot(later, "later.json")])
    # the later balances relabelled as the stated block, with its hash: the auditor's node
    # re-reads the balance at the block and names the address
    relabelled = later.model_copy(update={"block": world.block, "block_hash": evm_snap.block_hash})
    doc = world.prove(evm_nodes=[], evm_snapshots=[EvmSnapshot(relabelled, "relabelled.json")])
    verify_assets(doc, world.root, COLUMNS)  # consistent on its face
    refused(
        doc,
        world,
        f"{first}: balance {13 * 10**18 + 5} at block {world.block}, your node says "
        f"{12 * 10**18 + 5}",
        eth_rpc=world.node,
    )
    # ... and with the later block's hash kept: another block than the node's
    relabelled = later.model_copy(update={"block": world.block})
    doc = world.prove(evm_nodes=[], evm_snapshots=[EvmSnapshot(relabelled, "relabelled.json")])
    refused(
        doc, world, f"block {world.block} of {world.evm_chain} is another block", eth_rpc=world.node
    )
    # the auditor's own snapshot of another block is refused as such
    with pytest.raises(AssetsInvalid, match=r"your EVM balance snapshot of \S+ is at block"):
        verify_assets(doc, world.root, COLUMNS, evm_snapshots=[EvmSnapshot(later, "my-later.json")])


def test_evm_snapshot_balance_changed(world: World, evm_snap: EvmBalancesFile) -> None:
    holder = world.wallets.wallets[7].address
    inflated = 4_000_000_000 + 10**12
    forged = with_balance(evm_snap, holder, balance=str(inflated))
    doc = world.prove(evm_nodes=[], evm_snapshots=[EvmSnapshot(forged, "forged.json")])
    # offline, the balances are the publication's word (and the report says so)
    rep = verify_assets(doc, world.root, COLUMNS, utxo_snapshot={BTC_CHAIN: world.snap})
    assert rep.proven("USDT") == inflated + 250_000 and len(rep.notes) == 1
    refused(
        doc,
        world,
        f"{holder}: balance {inflated} at block {world.block}, your node says 4000000000",
        eth_rpc=world.node,
    )
    mine = EvmSnapshot(evm_snap, "my-snap.json")
    refused(doc, world, f"{holder}: .*your balance snapshot says 4000000000", evm_snapshots=[mine])


def test_evm_snapshot_token_balance_from_another_contract(
    world: World, evm_snap: EvmBalancesFile
) -> None:
    holder = world.wallets.wallets[7].address
    fake = world.fake.functions.balanceOf(holder).call(block_identifier=world.block)
    assert fake == 9 * 10**12
    # the holder's balance of the fake token, written under the USDT contract
    forged = with_balance(evm_snap, holder, balance=str(fake))
    doc = world.prove(evm_nodes=[], evm_snapshots=[EvmSnapshot(forged, "forged.json")])
    refused(doc, world, f"{holder}: balance {fake} at block .*says 4000000000", eth_rpc=world.node)
    # the snapshot holds the holder's balance of another contract only: nothing to read
    moved = with_balance(evm_snap, holder, contract=world.fake.address, balance=str(fake))
    with pytest.raises(ChainError, match=f"{holder}: moved.json holds no balance of it in "):
        world.prove(evm_nodes=[], evm_snapshots=[EvmSnapshot(moved, "moved.json")])


def test_evm_snapshot_file_is_checked(world: World, evm_snap: EvmBalancesFile) -> None:
    holder = world.wallets.wallets[7].address
    twice = evm_snap.model_copy(update={"balances": [*evm_snap.balances, evm_snap.balances[1]]})
    with pytest.raises(ChainError, match=f"t.json: balances\\[3\\]: {holder}: .* listed twice"):
        EvmSnapshot(twice, "t.json")
    lower = with_balance(evm_snap, holder, address=holder.lower())
    with pytest.raises(ChainError, match="bad EIP-55 checksum"):
        EvmSnapshot(lower, "l.json")
    no_decimals = with_balance(evm_snap, holder, decimals=None)
    with pytest.raises(ChainError, match=f"{holder}: a token balance gives its contract"):
        EvmSnapshot(no_decimals, "d.json")
    with pytest.raises(FormatError, match="both give chain id"):
        world.prove(evm_snapshots=[EvmSnapshot(evm_snap, "s.json")])
    with pytest.raises(ChainError, match="listed twice"):
        snapshot_balances(world.node, [*evm_holdings(world), evm_holdings(world)[0]], world.block)


# ----- end to end: publish, message, sign, prove assets, audit -----------------------------------

from pathlib import Path  # noqa: E402

from click.testing import CliRunner, Result  # noqa: E402

from zkmargin import api  # noqa: E402
from zkmargin.cli import main  # noqa: E402
from zkmargin.liabilities.store import Publication  # noqa: E402
from zkmargin.margin.synthetic import (  # noqa: E402
    exchange_accounts,
    exchange_market,
    exchange_market_document,
)
from zkmargin.margin.table_io import save_table  # noqa: E402

EPOCH = 3
RESERVES = {"USDT": "1000000", "USDC": "1000000", "BTC": "1000", "ETH": "10000", "USD": "100000"}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@dataclass
class Published:
    dir: Path
    pub: Path
    root: SignedRoot
    world: World

    def message(self) -> str:
        return reserves_message(self.root, self.world.heights)

    def btc_files(self, message: str | None = None, *, off_chain: bool = True) -> tuple[Path, Path]:
        """Wallets and signatures files of the world's Bitcoin addresses (and, if asked, the
        publication's reserves declared off chain)."""
        m = message or self.message()
        entries = [w for w in self.world.wallets.wallets if w.chain == BTC_CHAIN]
        off = [OffChainAmount(asset=a, amount=v, holder="Bank A") for a, v in RESERVES.items()]
        wallets = WalletsFile(wallets=entries, off_chain=off if off_chain else [])
        sigs = [s for s in self.world.signatures(m).signatures if s.chain == BTC_CHAIN]
        w, s = self.dir / "wallets.json", self.dir / "signatures.json"
        w.write_text(wallets.model_dump_json(exclude_none=True))
        s.write_text(SignaturesFile(signatures=sigs).model_dump_json())
        return w, s

    def scan(self, snap: str = "snap") -> Path:
        path = self.dir / f"{snap}.json"
        s: UtxoSnapshot = getattr(self.world, snap if snap != "snap" else "snap")
        outs = [(u.txid, u.vout, u.script_pubkey, u.sats) for u in s.outputs]
        path.write_text(snapshot_json(s.height, outs).replace("ee" * 32, s.bestblock))
        return path

    def fresh(self, name: str) -> Path:
        out = self.dir / name
        out.write_bytes(self.pub.read_bytes())
        return out


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, world: World) -> Published:
    """Six accounts published with a minimum reserve ratio of 1.05, their totals revealed."""
    d = tmp_path_factory.mktemp("reserves")
    (d / "market.json").write_text(json.dumps(exchange_market_document(EPOCH)))
    market = exchange_market(EPOCH)
    save_table(exchange_accounts(market, 6, seed=5), market, d / "accounts.csv")
    (d / "reserves.json").write_text(
        json.dumps({"format": "zkmargin/reserves/1", "reserves": RESERVES})
    )
    assert run("venue", "keygen", "--out", d / "venue.key", "--venue", "X").exit_code == 0
    r = run(
        "exchange",
        "publish",
        "--market",
        d / "market.json",
        "--accounts",
        d / "accounts.csv",
        "--reserves",
        d / "reserves.json",
        "--key",
        d / "venue.key",
        "--out",
        d / "pub.sqlite",
        "--workers",
        "1",
        "--min-ratio",
        "1.05",
        "--reveal-totals",
    )
    assert r.exit_code == 0, r.output
    assert "reserves proven ≥ 1.05 × total liabilities, for every column" in r.output
    with Publication.open(d / "pub.sqlite") as pub:
        root = pub.root()
    return Published(d, d / "pub.sqlite", root, world)


def test_cli_publish_at_a_ratio(published: Published) -> None:
    r = run("exchange", "verify", published.pub, "--workers", "1")
    assert r.exit_code == 0, r.output
    assert "(revealed), reserve 1000.00000000, ratio" in r.output
    assert r.output.count("(≥ 1.05 proven)") == len(RESERVES)
    assert "21/20" not in r.output  # ratios read as the decimals they were given as
    # a revealed total that does not open the root's commitment
    forged = published.fresh("forged-total.sqlite")
    import sqlite3

    from zkmargin.formats.publication import ReserveRatioProof

    with sqlite3.connect(forged) as conn:
        doc = ReserveRatioProof.model_validate_json(
            conn.execute("SELECT doc FROM reserves").fetchone()[0]
        )
        assert doc.totals is not None
        lie = [doc.totals[0].model_copy(update={"value": "0"}), *doc.totals[1:]]
        conn.execute(
            "UPDATE reserves SET doc = ?",
            (doc.model_copy(update={"totals": lie}).model_dump_json(),),
        )
    r = run("exchange", "verify", forged, "--workers", "1")
    assert r.exit_code == 1 and "the revealed total does not open its commitment" in r.output
    d = published.dir
    out = d / "short.sqlite"
    r = run(
        "exchange",
        "publish",
        "--market",
        d / "market.json",
        "--accounts",
        d / "accounts.csv",
        "--reserves",
        d / "reserves.json",
        "--key",
        d / "venue.key",
        "--out",
        out,
        "--workers",
        "1",
        "--min-ratio",
        "1000",
    )
    assert r.exit_code == 1 and "< 1000 × liabilities" in r.output
    assert not out.exists() and not Path(str(out) + ".secrets").exists()
    r = run(
        "exchange",
        "publish",
        "--market",
        d / "market.json",
        "--accounts",
        d / "accounts.csv",
        "--reserves",
        d / "reserves.json",
        "--key",
        d / "venue.key",
        "--out",
        out,
        "--workers",
        "1",
        "--min-ratio",
        "0.5",
    )
    assert r.exit_code == 2 and "--min-ratio" in r.output and not out.exists()


def test_the_auditor_requires_a_minimum_ratio(published: Published) -> None:
    """``exchange verify --min-ratio``: the auditor's own minimum, never the publication's. The
    proof shows 1.05: required 1.05 or 1 it is valid (and says so), 1.06 it is not; a
    publication proven at ρ = 1 fails any requirement above 1; a bad ratio is exit 2."""
    r = run("exchange", "verify", published.pub, "--workers", "1", "--min-ratio", "1.05")
    assert r.exit_code == 0, r.output
    assert "the proof shows 1.05 × liabilities, at least the 1.05 you require" in r.output
    r = run("exchange", "verify", published.pub, "--workers", "1", "--min-ratio", "1.06", "--json")
    assert r.exit_code == 1, r.output
    doc = json.loads(r.stdout)
    assert not doc["valid"] and doc["required_ratio"] == "53/50" and doc["min_ratio"] == "21/20"
    assert "below the 1.06 you require (--min-ratio)" in doc["reason"]
    assert doc["failures"] == [doc["reason"]]
    d = published.dir
    plain = d / "plain.sqlite"
    r = run(
        "exchange", "publish", "--market", d / "market.json", "--accounts", d / "accounts.csv",
        "--reserves", d / "reserves.json", "--key", d / "venue.key", "--out", plain,
        "--workers", "1",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert run("exchange", "verify", plain, "--workers", "1").exit_code == 0
    r = run("exchange", "verify", plain, "--workers", "1", "--min-ratio", "1.000001")
    assert r.exit_code == 1 and "reserve ≥ 1 × total liabilities, below the 1.000001" in r.output
    for bad in ("0.5", "abc", "1.0000001", "1e0", " 1.05", "-1"):
        r = run("exchange", "verify", plain, "--workers", "1", "--min-ratio", bad)
        assert r.exit_code == 2 and "--min-ratio" in r.output and "Traceback" not in r.output


def test_cli_message_prove_and_audit(published: Published) -> None:
    heights = ",".join(f"{c}={h}" for c, h in published.world.heights.items())
    r = run("exchange", "reserves-message", "--publication", published.pub, "--heights", heights)
    assert r.exit_code == 0 and r.output == published.message() + "\n"
    msg_file = published.dir / "message.txt"
    r = run(
        "exchange",
        "reserves-message",
        "--publication",
        published.pub,
        "--heights",
        heights,
        "--out",
        msg_file,
    )
    assert r.exit_code == 0 and msg_file.read_text() == published.message()
    btc_heights = f"{BTC_CHAIN}={HEIGHT}"
    btc_message = reserves_message(published.root, {BTC_CHAIN: HEIGHT})
    wallets, sigs = published.btc_files(btc_message)
    out = published.fresh("assets.sqlite")
    r = run(
        "exchange",
        "prove-assets",
        "--publication",
        out,
        "--wallets",
        wallets,
        "--signatures",
        sigs,
        "--heights",
        btc_heights,
        "--utxos",
        f"{BTC_CHAIN}={published.scan()}",
    )
    assert r.exit_code == 0, r.output
    assert "proof of assets: 6 addresses" in r.output and "declared off chain" in r.output
    r = run("exchange", "verify", out, "--workers", "1")
    assert r.exit_code == 0, r.output
    assert "BTC: proven on chain 36.50070006; declared off chain (not proven) 1000" in r.output
    assert f"\n  balances on {BTC_CHAIN} were taken from the publication (" in r.output
    r = run(
        "exchange", "verify", out, "--workers", "1", "--utxos", f"{BTC_CHAIN}={published.scan()}"
    )
    assert r.exit_code == 0 and "taken from the publication" not in r.output, r.output
    r = run(
        "exchange",
        "verify",
        out,
        "--workers",
        "1",
        "--utxos",
        f"{BTC_CHAIN}={published.scan('later_snap')}",
    )
    assert r.exit_code == 1 and "INVALID: proof of assets: your UTXO snapshot" in r.output
    # a signature swapped in the stored proof: the audit names the address
    with Publication.open(out) as pub:
        doc = pub.assets()
    a, b = doc.addresses[0], doc.addresses[2]
    forged = replace(doc, a.address, signatures=b.signatures)
    tampered = published.fresh("tampered.sqlite")
    from zkmargin.liabilities.store import add_assets

    add_assets(tampered, forged, tampered)
    r = run("exchange", "verify", tampered, "--workers", "1")
    assert r.exit_code == 1 and f"INVALID: proof of assets: {a.address}" in r.output


def test_cli_refusals_write_nothing(published: Published) -> None:
    btc_heights = f"{BTC_CHAIN}={HEIGHT}"
    scan = f"{BTC_CHAIN}={published.scan()}"
    out = published.fresh("refused.sqlite")
    before = out.read_bytes()

    def prove(wallets: Path, sigs: Path, *extra: str) -> Result:
        return run(
            "exchange",
            "prove-assets",
            "--publication",
            out,
            "--wallets",
            wallets,
            "--signatures",
            sigs,
            "--heights",
            btc_heights,
            "--utxos",
            scan,
            *extra,
        )

    # signed over another epoch's message: exit 1, the address named
    other = reserves_message(
        published.root.model_copy(update={"epoch": EPOCH + 1}), {BTC_CHAIN: HEIGHT}
    )
    w, s = published.btc_files(other)
    r = prove(w, s)
    assert r.exit_code == 1 and "cannot prove assets: bcrt1" in r.output
    # reserves not covered by what is proven plus declared
    w, s = published.btc_files(
        reserves_message(published.root, {BTC_CHAIN: HEIGHT}), off_chain=False
    )
    r = prove(w, s)
    assert r.exit_code == 1 and "exceeds the proven" in r.output
    # a bad signature encoding, a bad checksum: exit 2
    w, s = published.btc_files(reserves_message(published.root, {BTC_CHAIN: HEIGHT}))
    doc = json.loads(s.read_text())
    doc["signatures"][0]["signatures"] = ["%%%"]
    s.write_text(json.dumps(doc))
    r = prove(w, s)
    assert r.exit_code == 2 and f"error: {doc['signatures'][0]['address']}" in r.output
    w, s = published.btc_files(reserves_message(published.root, {BTC_CHAIN: HEIGHT}))
    doc = json.loads(w.read_text())
    address = doc["wallets"][0]["address"]
    doc["wallets"][0]["address"] = address[:-1] + ("q" if address[-1] != "q" else "p")
    w.write_text(json.dumps(doc))
    r = prove(w, s)
    assert r.exit_code == 2 and "checksum" in r.output
    # an EVM wallet with the node down or answering garbage: exit 2
    evm_entry = published.world.wallets.wallets[6].model_dump(exclude_none=True)
    w, s = published.btc_files(reserves_message(published.root, {BTC_CHAIN: HEIGHT}))
    doc = json.loads(w.read_text())
    doc["wallets"].append(evm_entry)
    w.write_text(json.dumps(doc))
    heights = f"{btc_heights},{published.world.evm_chain}=1"
    for url_ctx in ("http://127.0.0.1:9", None):
        if url_ctx:
            r = run(
                "exchange",
                "prove-assets",
                "--publication",
                out,
                "--wallets",
                w,
                "--signatures",
                s,
                "--heights",
                heights,
                "--utxos",
                scan,
                "--eth-rpc",
                url_ctx,
            )
        else:
            with garbage_node(b"not json") as url:
                r = run(
                    "exchange",
                    "prove-assets",
                    "--publication",
                    out,
                    "--wallets",
                    w,
                    "--signatures",
                    s,
                    "--heights",
                    heights,
                    "--utxos",
                    scan,
                    "--eth-rpc",
                    url,
                )
        assert r.exit_code == 2 and "error: " in r.output and "Ethereum RPC" in r.output
    assert out.read_bytes() == before
    assert not list(published.dir.glob("*.assets-partial"))


def test_api_flow_with_an_evm(published: Published) -> None:
    """The whole flow with the EVM in process: Bitcoin and Ethereum addresses, the audit with
    the auditor's node re-reading every EVM balance."""
    world = published.world
    w, s = published.dir / "all-wallets.json", published.dir / "all-signatures.json"
    off = [OffChainAmount(asset=a, amount=v, holder="Bank A") for a, v in RESERVES.items()]
    w.write_text(
        world.wallets.model_copy(update={"off_chain": off}).model_dump_json(exclude_none=True)
    )
    s.write_text(world.signatures(published.message()).model_dump_json())
    out = published.dir / "evm.sqlite"
    res = api.exchange_prove_assets(
        publication=published.pub,
        wallets=w,
        signatures=s,
        heights=world.heights,
        utxos=[f"{BTC_CHAIN}={published.scan()}"],
        evm_nodes=[world.node],
        out=out,
    )
    assert res.addresses == 9 and out.exists()
    data = api.load_chain_data(utxos=[f"{BTC_CHAIN}={published.scan()}"], evm_nodes=[world.node])
    rep = api.audit_publication(out, workers=1, chain_data=data)
    assert rep.valid, rep.reason
    assert rep.assets is not None and rep.assets.notes == []
    assert rep.assets.proven("USDT") == 4_000_250_000
    rep = api.audit_publication(out, workers=1)
    assert rep.valid and rep.assets is not None and len(rep.assets.notes) == 2
    with pytest.raises(ChainError, match="eth_chainId"):
        api.audit_publication(
            out, workers=1, chain_data=api.load_chain_data(eth_rpc=["http://127.0.0.1:9"])
        )


def test_cli_evm_snapshot_prove_and_audit(published: Published) -> None:
    """The exchange exports its EVM balances from its node over HTTP (eth-tester behind a
    JSON-RPC endpoint), proves from the file with no node; the auditor without a node is told
    the EVM balances are the publication's, with theirs the balances are re-read."""
    world = published.world
    w, s = published.dir / "snap-wallets.json", published.dir / "snap-signatures.json"
    off = [OffChainAmount(asset=a, amount=v, holder="Bank A") for a, v in RESERVES.items()]
    w.write_text(
        world.wallets.model_copy(update={"off_chain": off}).model_dump_json(exclude_none=True)
    )
    s.write_text(world.signatures(published.message()).model_dump_json())
    heights = ",".join(f"{c}={h}" for c, h in world.heights.items())
    scan = f"{BTC_CHAIN}={published.scan()}"
    snap, forged = published.dir / "evm-snap.json", published.dir / "evm-forged.json"
    holder = world.wallets.wallets[7].address

    def prove(balances: Path, out: Path) -> Result:
        return run(
            "exchange", "prove-assets", "--publication", published.pub, "--wallets", w,
            "--signatures", s, "--heights", heights, "--utxos", scan,
            "--evm-balances", balances, "--out", out,
        )  # fmt: skip

    with rpc_server(world.evm.w3) as url:
        r = run(
            "exchange", "evm-snapshot", "--eth-rpc", url, "--block", world.block,
            "--wallets", w, "--out", snap,
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        assert f"3 balances of chain id {world.evm.w3.eth.chain_id} at block {world.block}" in (
            r.output
        )
        exported = EvmBalancesFile.model_validate_json(snap.read_text())
        assert exported == snapshot_balances(world.node, evm_holdings(world), world.block)
        out = published.dir / "from-snap.sqlite"
        r = prove(snap, out)
        assert r.exit_code == 0 and "proof of assets: 9 addresses" in r.output, r.output
        r = run("exchange", "verify", out, "--workers", "1", "--utxos", scan)
        assert r.exit_code == 0, r.output
        lines = [line.strip() for line in r.output.splitlines()]
        note = f"balances on {world.evm_chain} were taken from the publication (not re-read"
        assert any(line.startswith(note) for line in lines), r.output
        r = run("exchange", "verify", out, "--workers", "1", "--utxos", scan, "--eth-rpc", url)
        assert r.exit_code == 0 and "taken from the publication" not in r.output, r.output
        r = run(
            "exchange", "verify", out, "--workers", "1", "--utxos", scan, "--evm-balances", snap
        )
        assert r.exit_code == 0 and "taken from the publication" not in r.output, r.output
        # a balance raised in the exported file: proven, but the auditor's node names it
        doc = json.loads(snap.read_text())
        entry = next(b for b in doc["balances"] if b["address"] == holder)
        entry["balance"] = str(int(entry["balance"]) + 10**12)
        forged.write_text(json.dumps(doc))
        out = published.dir / "from-forged.sqlite"
        assert prove(forged, out).exit_code == 0
        r = run("exchange", "verify", out, "--workers", "1", "--utxos", scan, "--eth-rpc", url)
        assert r.exit_code == 1, r.output
        assert f"INVALID: proof of assets: {holder}: balance {entry['balance']}" in r.output
        # a block the node does not have: exit 2, nothing written
        missing = published.dir / "missing.json"
        r = run(
            "exchange", "evm-snapshot", "--eth-rpc", url, "--block", 10**6,
            "--wallets", w, "--out", missing,
        )  # fmt: skip
        assert r.exit_code == 2 and "eth_getBlockByNumber(1000000)" in r.output, r.output
        assert not missing.exists()
    # a snapshot of another block than the heights: exit 1, the address named
    doc = json.loads(snap.read_text())
    doc["block"] += 1
    forged.write_text(json.dumps(doc))
    r = prove(forged, published.dir / "never.sqlite")
    first = world.wallets.wallets[6].address
    assert r.exit_code == 1 and f"cannot prove assets: {first}: the EVM balance" in r.output
    assert not (published.dir / "never.sqlite").exists()


def test_bundled_example_is_regenerated_exactly(tmp_path: Path) -> None:
    """examples/exchange/generate_reserves.py writes the committed wallets, snapshot and keys."""
    import runpy
    import sys

    example = Path(__file__).resolve().parents[1] / "examples" / "exchange"
    (tmp_path / "reserves.json").write_bytes((example / "reserves.json").read_bytes())
    argv = sys.argv
    sys.argv = ["generate_reserves.py", "--out-dir", str(tmp_path)]
    try:
        runpy.run_path(str(example / "generate_reserves.py"), run_name="__main__")
    finally:
        sys.argv = argv
    for name in ("wallets.json", "scantxoutset.json", "custodians.json", "evm-balances.json"):
        assert (tmp_path / name).read_bytes() == (example / name).read_bytes(), name
    snap = parse_snapshot((example / "scantxoutset.json").read_bytes())
    assert snap.height == 4200 and len(snap.outputs) == 4
    evm_snap = EvmSnapshot(
        EvmBalancesFile.model_validate_json((example / "evm-balances.json").read_text()), "ex"
    )
    assert evm_snap.block == 64 and len(evm_snap.doc.balances) == 2


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "exchange"


def test_bundled_example_evm_balances_are_a_real_chains(
    tmp_path: Path, published: Published
) -> None:
    """The example's EVM state replayed on eth-tester (the token deployed by the example's
    issuer key lands at the example's contract address; the account funded; the chain mined to
    the snapshot's block): ``exchange evm-snapshot`` reads the example's balances from it, and a
    publication proven from that snapshot passes the audit against the node."""
    import runpy

    from chain_helpers import token_artifacts

    from zkmargin.chain.signing import sign_eip191
    from zkmargin.formats.assets import CustodianKeysFile

    gen = runpy.run_path(str(EXAMPLE / "generate_reserves.py"))  # its functions, not main
    example = EvmBalancesFile.model_validate_json((EXAMPLE / "evm-balances.json").read_text())
    wallets = WalletsFile.model_validate_json((EXAMPLE / "wallets.json").read_text())
    keys = CustodianKeysFile.model_validate_json((EXAMPLE / "custodians.json").read_text())
    eth, usdt = (w for w in wallets.wallets if w.chain.startswith("evm-"))
    assert (eth.asset, usdt.asset, usdt.decimals) == ("ETH", "USDT", 6)
    holder = eth.address
    chain = new_evm()
    w3 = chain.w3
    assert eth.chain == f"evm-{w3.eth.chain_id}" == f"evm-{example.chain_id}"
    # the issuer deploys the token (its first transaction) and mints the holder's USDT
    issuer_key = gen["evm_key"](11, 2)
    issuer = Account.from_key(issuer_key.secret).address
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.add_account("0x" + issuer_key.secret.hex())
    chain.send(issuer, 10**18)
    abi, bytecode = token_artifacts()
    tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(6).transact({"from": issuer})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    assert address == usdt.contract
    token = w3.eth.contract(address=address, abi=abi)
    balances = {(b.address, b.contract): int(b.balance) for b in example.balances}
    tx = token.functions.mint(holder, balances[(holder, address)]).transact({"from": issuer})
    w3.eth.wait_for_transaction_receipt(tx)
    chain.send(holder, balances[(holder, None)])
    tester.mine_blocks(example.block - w3.eth.block_number)
    assert w3.eth.block_number == example.block
    chain.send(holder, 10**18)  # after the snapshot's block: not in it
    w = tmp_path / "wallets.json"
    off = [OffChainAmount(asset=a, amount=v, holder="Bank A") for a, v in RESERVES.items()]
    evm_wallets = WalletsFile(wallets=[eth, usdt], off_chain=off)
    w.write_text(evm_wallets.model_dump_json(exclude_none=True))
    heights = {eth.chain: example.block}
    message = reserves_message(published.root, heights)
    secret = next(k for k in keys.keys if k.address == holder).secrets[0]
    signature = sign_eip191(PrivateKey(bytes.fromhex(secret)), message)
    s = tmp_path / "signatures.json"
    s.write_text(
        SignaturesFile(
            signatures=[
                AddressSignatures(
                    chain=eth.chain, address=holder, scheme="eip191", signatures=[signature]
                )
            ]
        ).model_dump_json()
    )
    snap, out = tmp_path / "snap.json", tmp_path / "pub.sqlite"
    with rpc_server(w3) as url:
        r = run(
            "exchange", "evm-snapshot", "--eth-rpc", url, "--block", example.block,
            "--wallets", EXAMPLE / "wallets.json", "--out", snap,
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        read = EvmBalancesFile.model_validate_json(snap.read_text())
        assert read.block_hash == "0x" + bytes(w3.eth.get_block(example.block)["hash"]).hex()
        # the example's balances are the chain's at the block (its block hash is made up)
        assert read.model_copy(update={"block_hash": example.block_hash}) == example
        r = run(
            "exchange", "prove-assets", "--publication", published.pub, "--wallets", w,
            "--signatures", s, "--heights", f"{eth.chain}={example.block}",
            "--evm-balances", snap, "--out", out,
        )  # fmt: skip
        assert r.exit_code == 0 and "proof of assets: 2 addresses" in r.output, r.output
        assert f"USDT: proven on chain {format_decimal(balances[(holder, address)], 6)}" in (
            r.output
        )
        r = run("exchange", "verify", out, "--workers", "1", "--eth-rpc", url)
        assert r.exit_code == 0 and "taken from the publication" not in r.output, r.output
        # proven from the committed example file: its made-up block hash is not the chain's
        other = tmp_path / "example-proof.sqlite"
        r = run(
            "exchange", "prove-assets", "--publication", published.pub, "--wallets", w,
            "--signatures", s, "--heights", f"{eth.chain}={example.block}",
            "--evm-balances", EXAMPLE / "evm-balances.json", "--out", other,
        )  # fmt: skip
        assert r.exit_code == 0, r.output
        r = run("exchange", "verify", other, "--workers", "1", "--eth-rpc", url)
        assert r.exit_code == 1 and f"block {example.block} of {eth.chain} is another" in r.output
