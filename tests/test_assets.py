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
    sign_bip137,
    sign_bip322_p2tr,
    sign_bip322_p2wpkh,
)
from eth_account import Account
from eth_account.messages import encode_defunct

from zkmargin.chain import AddressError, ChainError, SignatureEncodingError
from zkmargin.chain import bitcoin as btc
from zkmargin.chain.evm import EvmNode
from zkmargin.chain.utxo import UtxoSnapshot, parse_snapshot
from zkmargin.formats.assets import (
    AddressSignatures,
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
    with pytest.raises(FormatError, match="control"):
        reserves_message(signed_root(venue="X\nepoch: 9"), world.heights)


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
