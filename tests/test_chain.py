"""zkmargin.chain: addresses, BIP-137, BIP-322, P2WSH multisig, UTXO snapshots, EIP-191 and EVM
balances at a block (a real EVM in process)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
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

from zkmargin.chain import AddressError, ChainError, SignatureEncodingError, evm
from zkmargin.chain import bitcoin as btc
from zkmargin.chain.utxo import btc_to_sats, parse_snapshot

CHAIN_DATA = Path(__file__).parents[2] / "shared" / "data" / "chain"


def vectors(name: str) -> Any:
    return json.loads((CHAIN_DATA / name).read_text())


# ----- standard vectors ------------------------------------------------------------------------


def test_bip137_vectors() -> None:
    for case in vectors("bip137.json")["cases"]:
        addr = btc.decode_address(case["address_testnet_p2pkh"], "bitcoin-testnet")
        assert base64.b64decode(case["signature"]).hex() == case["signature_hex"]
        key_, form = btc.recover_bip137(case["message"], case["signature"])
        assert key_.hex() == case["public_key"] and form == "p2pkh"
        assert btc.verify_bip137(addr, case["message"], case["signature"])
        assert not btc.verify_bip137(addr, case["message"] + ".", case["signature"])
        other = btc.decode_address(
            btc.p2pkh_address(key(1).public_key.format(), "bitcoin-testnet"), "bitcoin-testnet"
        )
        assert not btc.verify_bip137(other, case["message"], case["signature"])


def test_bip322_message_hashes_and_transactions() -> None:
    doc = vectors("bip322.json")
    for case in doc["message_hash"]["cases"]:
        assert btc.bip322_message_hash(case["message"]).hex() == case["hash"]
    addr = btc.decode_address(doc["simple_signatures"]["address"], "bitcoin")
    spk = addr.script_pubkey()
    for case in doc["transaction_hashes"]["to_spend"]:
        assert btc.to_spend(spk, case["message"]).txid()[::-1].hex() == case["txid"]
    for case in doc["transaction_hashes"]["to_sign"]:
        assert btc.to_sign(spk, case["message"]).txid()[::-1].hex() == case["txid"]


def test_bip322_simple_signature_vectors() -> None:
    doc = vectors("bip322.json")["simple_signatures"]
    addr = btc.decode_address(doc["address"], "bitcoin")
    messages = [c["message"] for c in doc["cases"]]
    for case in doc["cases"]:
        for sig in case["valid_signatures"]:
            assert btc.verify_bip322_simple(addr, case["message"], sig)
            other = next(m for m in messages if m != case["message"])
            assert not btc.verify_bip322_simple(addr, other, sig)


def test_bip322_p2tr_vector() -> None:
    """The P2TR key-path vector of BIP-322 (also in Bitcoin Core's util_tests), SIGHASH_ALL, for
    the key of the simple-signature vectors."""
    address = "bc1ppv609nr0vr25u07u95waq5lucwfm6tde4nydujnu8npg4q75mr5sxq8lt3"
    sig = (
        "AUHd69PrJQEv+oKTfZ8l+WROBHuy9HKrbFCJu7U1iK2iiEy1vMU5EfMtjc+VSHM7aU0SDbak5IUZRVno2P5mjS"
        "afAQ=="
    )
    addr = btc.decode_address(address, "bitcoin")
    assert addr.kind == "p2tr"
    assert btc.verify_bip322_simple(addr, "Hello World", sig)
    assert not btc.verify_bip322_simple(addr, "", sig)


# ----- generated keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("chain", ["bitcoin", "bitcoin-testnet", "bitcoin-regtest"])
def test_bip137_every_address_type(chain: str) -> None:
    k = key(7)
    pub = k.public_key.format()
    cases = {
        "p2pkh": btc.p2pkh_address(pub, chain),
        "p2sh-p2wpkh": btc.p2sh_p2wpkh_address(pub, chain),
        "p2wpkh": btc.p2wpkh_address(pub, chain),
    }
    for form, text in cases.items():
        addr = btc.decode_address(text, chain)
        assert addr.encode() == text
        assert btc.verify_bip137(addr, "m", sign_bip137(k, "m", form))
        assert not btc.verify_bip137(addr, "m", sign_bip137(key(8), "m", form))
    # the uncompressed key's P2PKH address is another address
    uncompressed = k.public_key.format(compressed=False)
    addr = btc.decode_address(btc.p2pkh_address(uncompressed, chain), chain)
    assert btc.verify_bip137(addr, "m", sign_bip137(k, "m", "p2pkh-uncompressed"))
    assert not btc.verify_bip137(addr, "m", sign_bip137(k, "m", "p2pkh"))
    # a P2PKH header does not prove a P2SH-P2WPKH address of another type
    p2pkh = btc.decode_address(cases["p2pkh"], chain)
    assert not btc.verify_bip137(p2pkh, "m", sign_bip137(k, "m", "p2wpkh"))


def test_bip322_generated_p2wpkh_and_p2tr() -> None:
    k = even_key(11)
    wpkh = btc.decode_address(btc.p2wpkh_address(k.public_key.format(), "bitcoin"), "bitcoin")
    assert btc.verify_bip322_simple(wpkh, "msg", sign_bip322_p2wpkh(k, "msg"))
    assert not btc.verify_bip322_simple(wpkh, "msg", sign_bip322_p2wpkh(key(12), "msg"))
    tr = btc.decode_address(btc.p2tr_address(k.public_key.format()[1:], "bitcoin"), "bitcoin")
    sig = sign_bip322_p2tr(k, "msg")
    assert len(base64.b64decode(sig)) == 66  # one item of 64 bytes: SIGHASH_DEFAULT
    assert btc.verify_bip322_simple(tr, "msg", sig)
    assert not btc.verify_bip322_simple(tr, "msg2", sig)
    assert not btc.verify_bip322_simple(tr, "msg", sign_bip322_p2tr(even_key(13), "msg"))


def test_p2wsh_multisig() -> None:
    keys = [key(20 + j) for j in range(3)]
    pubs = [k.public_key.format() for k in keys]
    script = btc.multisig_script(2, pubs)
    assert btc.parse_multisig(script) == (2, pubs)
    addr = btc.decode_address(btc.p2wsh_address(script, "bitcoin"), "bitcoin")
    sig = [sign_bip137(k, "m", "p2pkh") for k in keys]
    assert btc.verify_multisig(addr, script, "m", sig[:2]) == ""
    assert btc.verify_multisig(addr, script, "m", [sig[2], sig[0]]) == ""
    assert "1 distinct keys" in btc.verify_multisig(addr, script, "m", sig[:1])
    twice = [sig[0], sign_bip137(keys[0], "m", "p2wpkh")]
    assert "1 distinct keys" in btc.verify_multisig(addr, script, "m", twice)
    outsider = [sig[0], sign_bip137(key(99), "m", "p2pkh")]
    assert "not by a key of the witness script" in btc.verify_multisig(addr, script, "m", outsider)
    assert "not by a key" in btc.verify_multisig(addr, script, "other message", sig[:2])
    other_script = btc.multisig_script(1, pubs)
    assert "does not hash" in btc.verify_multisig(addr, other_script, "m", sig[:2])
    with pytest.raises(SignatureEncodingError):
        btc.parse_multisig(script[:-1] + b"\xac")


# ----- refusals ---------------------------------------------------------------------------------


def test_address_errors() -> None:
    good = btc.p2wpkh_address(key(1).public_key.format(), "bitcoin")
    with pytest.raises(AddressError, match="checksum"):
        btc.decode_address(good[:-1] + ("q" if good[-1] != "q" else "p"), "bitcoin")
    with pytest.raises(AddressError, match="lowercase"):
        btc.decode_address(good.upper(), "bitcoin")
    with pytest.raises(AddressError, match="of bitcoin, not of bitcoin-testnet"):
        btc.decode_address(good, "bitcoin-testnet")
    legacy = btc.p2pkh_address(key(1).public_key.format(), "bitcoin")
    with pytest.raises(AddressError, match="Base58Check"):
        btc.decode_address(legacy[:-1] + ("1" if legacy[-1] != "1" else "2"), "bitcoin")
    with pytest.raises(AddressError, match="of bitcoin, not"):
        btc.decode_address(legacy, "bitcoin-regtest")
    testnet = btc.p2tr_address(even_key(3).public_key.format()[1:], "bitcoin-regtest")
    assert testnet.startswith("bcrt1p")
    with pytest.raises(AddressError, match="bitcoin-regtest"):
        btc.decode_address(testnet, "bitcoin")
    with pytest.raises(AddressError):
        btc.decode_address("bc1", "bitcoin")
    with pytest.raises(AddressError, match="not a Bitcoin chain"):
        btc.decode_address(good, "litecoin")


def test_signature_encoding_errors() -> None:
    addr = btc.decode_address(btc.p2wpkh_address(key(1).public_key.format(), "bitcoin"), "bitcoin")
    for bad in (
        "not base64!",
        base64.b64encode(b"\x1f" * 64).decode(),
        base64.b64encode(b"\x2b" + b"\x01" * 64).decode(),
    ):
        with pytest.raises(SignatureEncodingError):
            btc.verify_bip137(addr, "m", bad)
    with pytest.raises(SignatureEncodingError):
        btc.verify_bip322_simple(addr, "m", base64.b64encode(b"\x02\x05ab").decode())
    with pytest.raises(SignatureEncodingError):
        btc.verify_bip322_simple(addr, "m", btc.bip322_witness([b"\x30"]))
    p2pkh = btc.decode_address(btc.p2pkh_address(key(1).public_key.format(), "bitcoin"), "bitcoin")
    with pytest.raises(SignatureEncodingError, match="P2WPKH and P2TR"):
        btc.verify_bip322_simple(p2pkh, "m", sign_bip322_p2wpkh(key(1), "m"))


def test_utxo_snapshot_exact_amounts() -> None:
    spk = "0014" + "11" * 20
    doc = (
        '{"success": true, "height": 812345, "bestblock": "' + "ab" * 32 + '", "unspents": ['
        '{"txid": "' + "01" * 32 + '", "vout": 0, "scriptPubKey": "' + spk + '", '
        '"amount": 0.1, "height": 800000},'
        '{"txid": "' + "01" * 32 + '", "vout": 1, "scriptPubKey": "' + spk + '", '
        '"amount": 20999999.99999999, "height": 800001}], "total_amount": 21000000.09999999}'
    )
    snap = parse_snapshot(doc)
    assert snap.height == 812345
    assert [u.sats for u in snap.outputs] == [10_000_000, 2_099_999_999_999_999]
    assert sum(u.sats for u in snap.balances([bytes.fromhex(spk)])[bytes.fromhex(spk)]) == (
        2_100_000_009_999_999
    )
    with pytest.raises(ChainError, match="listed twice"):
        parse_snapshot(doc.replace('"vout": 1', '"vout": 0'))
    with pytest.raises(ChainError, match="more than 8 decimals"):
        parse_snapshot(doc.replace("0.1,", "0.123456789,"))
    with pytest.raises(ChainError, match="above the snapshot"):
        parse_snapshot(doc.replace("800001", "900000"))
    with pytest.raises(ChainError, match="not JSON"):
        parse_snapshot("{")
    with pytest.raises(ChainError, match="not a scantxoutset"):
        parse_snapshot("[]")
    with pytest.raises(ChainError):
        btc_to_sats(0.1)
    assert btc_to_sats("0.00000001") == 1
    # exact beyond Decimal's default precision: 35 decimals are not rounded into 8
    with pytest.raises(ChainError, match="more than 8 decimals"):
        btc_to_sats("1.00000000000000000000000000000000001")
    assert btc_to_sats("0E-20") == 0
    with pytest.raises(ChainError, match="outside"):
        btc_to_sats("-0.00000001")


# ----- EVM ----------------------------------------------------------------------------------------


def test_eip191_documented_example() -> None:
    """eth-account's documented ``sign_message`` example: its key, message and signature."""
    secret = "0xb25c7db31feed9122727bf0939dc769a96564b2de4c4726d035b36ecf1e5b364"
    address = Account.from_key(secret).address
    signed = Account.sign_message(encode_defunct(text="I♥SF"), secret)
    assert address == "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E"
    assert signed.signature.hex().removeprefix("0x") == (
        "e6ca9bba58c88611fad66a6ce8f996908195593807c4b38bd528d2cff09d4eb3"
        "3e5bfbbf4d3e39b1a2fd816a7680c19ebebaf3a141b239934ad43cb33fcec8ce1c"
    )
    sig = signed.signature.hex()
    assert evm.verify_personal_sign(address, "I♥SF", sig)
    assert not evm.verify_personal_sign(address, "I♥NY", sig)
    other = Account.create().address
    assert not evm.verify_personal_sign(other, "I♥SF", sig)
    with pytest.raises(SignatureEncodingError):
        evm.verify_personal_sign(address, "I♥SF", sig[:-2])
    with pytest.raises(SignatureEncodingError):
        evm.verify_personal_sign(address, "I♥SF", sig[:-2] + "05")


def test_eip55_checksum() -> None:
    good = "0x5ce9454909639D2D17A3F753ce7d93fa0b9aB12E"
    assert evm.checksum_address(good) == good
    with pytest.raises(AddressError, match="EIP-55"):
        evm.checksum_address(good.replace("D2D", "d2D"))
    with pytest.raises(AddressError, match="EIP-55"):
        evm.checksum_address(good.lower())
    with pytest.raises(AddressError, match="40 hexadecimal"):
        evm.checksum_address(good[:-1])
    assert evm.chain_id("ethereum") == 1 and evm.chain_id("evm-137") == 137
    assert evm.chain_id("bitcoin") is None and evm.chain_id("evm-0") is None


@pytest.fixture(scope="module")
def chain() -> Evm:
    return new_evm()


def test_balances_at_a_block(chain: Evm) -> None:
    node = evm.EvmNode(chain.w3, "eth-tester")
    holder = Account.create().address
    token = chain.deploy_token(6)
    chain.send(holder, 5 * 10**18)
    chain.mint(token, holder, 7_000_000)
    block = chain.w3.eth.block_number
    chain.send(holder, 10**18)
    chain.mint(token, holder, 1_000_000)
    assert node.chain_id() == chain.w3.eth.chain_id
    assert node.native_balance(holder, block) == 5 * 10**18
    assert node.native_balance(holder, block + 2) == 6 * 10**18
    assert node.token_balance(token.address, holder, block) == 7_000_000
    assert node.token_balance(token.address, holder, block + 2) == 8_000_000
    assert node.token_decimals(token.address, block) == 6
    assert node.block_hash(block) == "0x" + bytes(chain.w3.eth.get_block(block)["hash"]).hex()
    with pytest.raises(ChainError, match="failed"):
        node.native_balance(holder, block + 1000)
    with pytest.raises(ChainError, match="balanceOf"):
        node.token_balance(holder, holder, block)  # not a contract


def test_rpc_down_or_garbage() -> None:
    holder = Account.create().address
    with pytest.raises(ChainError, match="eth_chainId failed"):
        evm.EvmNode.connect("http://127.0.0.1:9", timeout=5).chain_id()
    for answer in (b"garbage", b'{"jsonrpc": "2.0", "id": 0, "result": [1]}'):
        with garbage_node(answer) as url:
            node = evm.EvmNode.connect(url)
            with pytest.raises(ChainError, match=url):
                node.chain_id()
            with pytest.raises(ChainError, match=url):
                node.native_balance(holder, 1)
            with pytest.raises(ChainError, match=url):
                node.block_hash(1)
    with pytest.raises(ChainError, match="http"):
        evm.EvmNode.connect("ftp://node")
